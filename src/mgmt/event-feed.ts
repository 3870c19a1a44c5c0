// The management event stream (GET /api/v1/events): role changes, alarms, switchover timelines, registrations
// and calls, numbered in the order this node saw them. A short history lets a reconnecting client resume from
// the last id it saw (SSE Last-Event-ID) instead of missing what happened while it was away.
//
// Ids are `<boot>-<n>`: `boot` is this process's start time (epoch ms), `n` counts its events from 1. A plain
// counter restarted at 1 with the node, so a follower resuming after a restart with its old (higher) id skipped
// the new run's first events; now an id of another run (or one this feed cannot read) replays all it holds.

export type FeedEventType = 'role' | 'alarm' | 'timeline' | 'switchover' | 'registration' | 'call';

export interface FeedEvent {
  id: string;
  type: FeedEventType;
  at: number;
  data: Record<string, unknown>;
}

/** `<boot>-<n>` split; a bare number is an `n` of the current run (`--since 0`, older clients); else undefined. */
export function parseEventId(id: string): { boot: string | null; n: number } | undefined {
  const m = /^(?:(\d+)-)?(\d+)$/.exec(id.trim());
  if (m === null) return undefined;
  return { boot: m[1] ?? null, n: Number(m[2]) };
}

export class EventFeed {
  readonly boot: string;
  private readonly items: Array<FeedEvent & { n: number }> = [];
  private readonly subscribers = new Set<(e: FeedEvent) => void>();
  private lastN = 0;

  constructor(
    private readonly keep = 1000,
    startedAt = Date.now(),
  ) {
    this.boot = String(startedAt);
  }

  push(type: FeedEventType, data: Record<string, unknown>, at = Date.now()): FeedEvent {
    const n = ++this.lastN;
    const e: FeedEvent = { id: `${this.boot}-${n}`, type, at, data };
    this.items.push({ ...e, n });
    if (this.items.length > this.keep) this.items.shift();
    for (const fn of this.subscribers) fn(e);
    return e;
  }

  /**
   * Events after `id` still held: after its `n` when it names this run (all held when that is older than the
   * history); all held when it names another run (the node restarted since) or cannot be read.
   */
  since(id: string): FeedEvent[] {
    const p = parseEventId(id);
    const from = p !== undefined && (p.boot === null || p.boot === this.boot) ? p.n : 0;
    return this.items.filter((e) => e.n > from).map(strip);
  }

  recent(n: number): FeedEvent[] {
    return this.items.slice(-n).map(strip);
  }

  subscribe(fn: (e: FeedEvent) => void): () => void {
    this.subscribers.add(fn);
    return () => this.subscribers.delete(fn);
  }
}

function strip({ n: _n, ...e }: FeedEvent & { n: number }): FeedEvent {
  return e;
}
