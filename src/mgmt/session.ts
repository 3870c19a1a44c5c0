// Browser sessions for the dashboard. EventSource cannot send an Authorization header, so the page exchanges
// the bearer token once (POST /api/v1/session) for a random session id in an HttpOnly, SameSite=Strict cookie:
// the token is never stored by the browser or put in a URL, other sites cannot use the cookie (SameSite), and
// page scripts cannot read it (HttpOnly). Sessions live in memory and expire; a node restart logs everyone out.
import { randomBytes } from 'node:crypto';

export const SESSION_COOKIE = 'sipha_session';

export class Sessions {
  private readonly sessions = new Map<string, number>();

  constructor(
    private readonly ttlMs = 8 * 3600_000,
    private readonly now: () => number = Date.now,
  ) {}

  create(): { id: string; cookie: string } {
    this.prune();
    const id = randomBytes(32).toString('hex');
    this.sessions.set(id, this.now() + this.ttlMs);
    const maxAge = Math.floor(this.ttlMs / 1000);
    return { id, cookie: `${SESSION_COOKIE}=${id}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${maxAge}` };
  }

  /** True when the Cookie header carries a live session. */
  valid(cookieHeader: string | undefined): boolean {
    const id = cookieValue(cookieHeader, SESSION_COOKIE);
    if (id === undefined) return false;
    const until = this.sessions.get(id);
    if (until === undefined) return false;
    if (until < this.now()) {
      this.sessions.delete(id);
      return false;
    }
    return true;
  }

  end(cookieHeader: string | undefined): void {
    const id = cookieValue(cookieHeader, SESSION_COOKIE);
    if (id !== undefined) this.sessions.delete(id);
  }

  private prune(): void {
    const now = this.now();
    for (const [id, until] of this.sessions) if (until < now) this.sessions.delete(id);
  }
}

export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq !== -1 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
