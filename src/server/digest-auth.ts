// Digest authentication (RFC 3261 §22, RFC 8760: SHA-256 and MD5; MD5 alone by default, see `sip.auth_algorithms`
// in schema.ts). Nonces are stateless: an HMAC over their issue time, so they verify after a restart or on the other
// node of a pair that shares the secret, and expire on time (then the answer carries stale=true so the phone
// retries without asking its user).
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { readQuoted, splitTopLevel } from '../sip/grammar.js';
import type { Headers } from '../sip/headers.js';

export type DigestAlgorithm = 'SHA-256' | 'MD5';
const HASH: Record<DigestAlgorithm, string> = { 'SHA-256': 'sha256', MD5: 'md5' };

export interface DigestCredentials {
  username: string;
  realm: string;
  nonce: string;
  uri: string;
  response: string;
  algorithm: DigestAlgorithm;
  qop?: string;
  nc?: string;
  cnonce?: string;
  opaque?: string;
}

/** Parses `Digest k=v, k="v", ...` from an Authorization or Proxy-Authorization value. */
export function parseDigestCredentials(value: string): DigestCredentials | undefined {
  const m = /^\s*Digest\s+/i.exec(value);
  if (m === null) return undefined;
  const params = new Map<string, string>();
  for (const part of splitTopLevel(value.slice(m[0].length))) {
    const eq = part.indexOf('=');
    if (eq <= 0) return undefined;
    const name = part.slice(0, eq).trim().toLowerCase();
    let v = part.slice(eq + 1).trim();
    if (v.startsWith('"')) {
      const q = readQuoted(v, 0);
      if (q === undefined) return undefined;
      v = q.text;
    }
    params.set(name, v);
  }
  const algorithmText = (params.get('algorithm') ?? 'MD5').toUpperCase();
  const algorithm: DigestAlgorithm | undefined =
    algorithmText === 'MD5' ? 'MD5' : algorithmText === 'SHA-256' ? 'SHA-256' : undefined;
  const username = params.get('username');
  const realm = params.get('realm');
  const nonce = params.get('nonce');
  const uri = params.get('uri');
  const response = params.get('response');
  if (algorithm === undefined || !username || realm === undefined || !nonce || !uri || !response)
    return undefined;
  const creds: DigestCredentials = { username, realm, nonce, uri, response, algorithm };
  const qop = params.get('qop');
  if (qop !== undefined) creds.qop = qop;
  const nc = params.get('nc');
  if (nc !== undefined) creds.nc = nc;
  const cnonce = params.get('cnonce');
  if (cnonce !== undefined) creds.cnonce = cnonce;
  const opaque = params.get('opaque');
  if (opaque !== undefined) creds.opaque = opaque;
  return creds;
}

/** The realm a credentials value names, parsed or not (a malformed value of our realm is still ours). */
function realmOf(value: string): string | undefined {
  return parseDigestCredentials(value)?.realm ?? /\brealm\s*=\s*"([^"]*)"/i.exec(value)?.[1];
}

/** Removes the Proxy-Authorization values for `realm` (Kamailio's consume_credentials()); others stay. */
export function consumeCredentials(headers: Headers, realm: string): void {
  const fields = headers.fields;
  for (let i = fields.length - 1; i >= 0; i--) {
    const f = fields[i]!;
    if (f.key === 'proxy-authorization' && realmOf(f.value) === realm) fields.splice(i, 1);
  }
}

function h(algorithm: DigestAlgorithm, text: string): string {
  return createHash(HASH[algorithm]).update(text, 'utf8').digest('hex');
}

/** The expected `response` for these credentials and password (RFC 2617 §3.2.2 with qop=auth or none). */
export function digestResponse(
  c: Omit<DigestCredentials, 'response'>,
  password: string,
  method: string,
): string {
  const ha1 = h(c.algorithm, `${c.username}:${c.realm}:${password}`);
  const ha2 = h(c.algorithm, `${method}:${c.uri}`);
  if (c.qop === 'auth') return h(c.algorithm, `${ha1}:${c.nonce}:${c.nc}:${c.cnonce}:auth:${ha2}`);
  return h(c.algorithm, `${ha1}:${c.nonce}:${ha2}`);
}

export type VerifyResult =
  | { ok: true; username: string }
  | { ok: false; reason: 'no-credentials' | 'bad-credentials' | 'unknown-user' | 'wrong-realm' | 'bad-nonce' }
  | { ok: false; reason: 'stale-nonce' };

export class DigestAuthenticator {
  private readonly secret: Buffer;

  constructor(
    readonly realm: string,
    private readonly passwords: ReadonlyMap<string, string>,
    private readonly nonceLifetimeMs = 300_000,
    private readonly algorithms: readonly DigestAlgorithm[] = ['MD5'],
    secret?: Buffer,
    private readonly now: () => number = Date.now,
  ) {
    this.secret = secret ?? randomBytes(32);
  }

  hasUser(username: string): boolean {
    return this.passwords.has(username);
  }

  /** A nonce: issue time (ms, base 36) and an HMAC over it and the realm. */
  newNonce(): string {
    const t = this.now().toString(36);
    return `${t}.${this.sign(t)}`;
  }

  private sign(t: string): string {
    return createHmac('sha256', this.secret).update(`${t}:${this.realm}`).digest('base64url').slice(0, 22);
  }

  /** WWW-/Proxy-Authenticate values: one challenge per algorithm, most preferred first (RFC 8760 §2.4). */
  challenges(stale = false): string[] {
    const nonce = this.newNonce();
    return this.algorithms.map(
      (a) =>
        `Digest realm="${this.realm}", nonce="${nonce}", algorithm=${a}, qop="auth"${stale ? ', stale=true' : ''}`,
    );
  }

  /** Checks the credentials of `headerValues` (Authorization or Proxy-Authorization) for our realm. */
  verify(headerValues: string[], method: string): VerifyResult {
    const mine = headerValues.map(parseDigestCredentials).filter((c) => c?.realm === this.realm);
    if (headerValues.length === 0) return { ok: false, reason: 'no-credentials' };
    const creds = mine[0];
    if (creds === undefined) {
      return {
        ok: false,
        reason: headerValues.some((v) => parseDigestCredentials(v)) ? 'wrong-realm' : 'bad-credentials',
      };
    }
    const dot = creds.nonce.indexOf('.');
    const t = dot === -1 ? '' : creds.nonce.slice(0, dot);
    const sig = Buffer.from(creds.nonce.slice(dot + 1));
    const want = Buffer.from(this.sign(t));
    if (dot === -1 || sig.length !== want.length || !timingSafeEqual(sig, want))
      return { ok: false, reason: 'bad-nonce' };
    if (creds.qop !== undefined && (creds.qop !== 'auth' || !creds.nc || !creds.cnonce)) {
      return { ok: false, reason: 'bad-credentials' };
    }
    if (!this.algorithms.includes(creds.algorithm)) return { ok: false, reason: 'bad-credentials' };
    const password = this.passwords.get(creds.username);
    if (password === undefined) return { ok: false, reason: 'unknown-user' };
    const expected = Buffer.from(digestResponse(creds, password, method));
    const got = Buffer.from(creds.response.toLowerCase());
    if (expected.length !== got.length || !timingSafeEqual(expected, got))
      return { ok: false, reason: 'bad-credentials' };
    // Only a correct answer to an old nonce is "stale": the phone knew the password, so it may retry silently.
    const issued = Number.parseInt(t, 36);
    if (!Number.isFinite(issued) || this.now() - issued > this.nonceLifetimeMs)
      return { ok: false, reason: 'stale-nonce' };
    return { ok: true, username: creds.username };
  }
}
