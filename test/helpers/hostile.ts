// A seeded generator of hostile SIP input: random bytes, truncations, mutations of valid messages, and torture-style
// defects (bad framing, bad URIs, bad numbers, bad quoting).
import { prng } from '../../bench/fuzz/mutate.js';
import { TYPICAL_INVITE, TYPICAL_REGISTER } from '../../bench/messages.js';

/** The fuzzer's seeded PRNG (mulberry32): the same seed gives the same input. */
export { prng };

const TORTURE: Array<(s: string) => string> = [
  (s) => s.replace(/CSeq: \d+/, 'CSeq: -1'),
  (s) => s.replace(/CSeq: \d+/, `CSeq: ${'9'.repeat(30)}`),
  (s) => s.replace(/Content-Length: \d+/, 'Content-Length: 99999'),
  (s) => s.replace(/Content-Length: \d+/, 'Content-Length: -3'),
  (s) => s.replace(/Content-Length: \d+\r\n/, ''),
  (s) => s.replace(/sip:[^ ]+ SIP\/2.0/, 'sip:@@@ SIP/2.0'),
  (s) => s.replace(/sip:[^ ]+ SIP\/2.0/, 'sip:[2001:db8::1 SIP/2.0'),
  (s) => s.replace(/sip:[^ ]+ SIP\/2.0/, 'sip:bob@host:999999 SIP/2.0'),
  (s) => s.replace('From: Alice', 'From: "Alice'),
  (s) => s.replace('To: Bob <', 'To: Bob <<'),
  (s) => s.replace('SIP/2.0\r\n', 'SIP/7.0\r\n'),
  (s) => s.replace('Max-Forwards: 70', 'Max-Forwards: 1e9'),
  (s) => s.replace(/Via: [^\r]*/, 'Via: SIP/2.0/UDP'),
  (s) => s.replace(/Call-ID: [^\r]*\r\n/, ''),
  (s) => s.replace('\r\n', `\r\n${'X: y\r\n'.repeat(300)}`),
  (s) => s.replace('\r\n', `\r\nSubject: ${'z'.repeat(20_000)}\r\n`),
  (s) => s.replace(/\r\n/g, '\n'),
  (s) => s.replace(/: /g, ':\r\n '),
  (s) => `${s}${s}`,
];

const BASES = [
  TYPICAL_INVITE,
  TYPICAL_REGISTER,
  TYPICAL_INVITE.replace('INVITE sip', 'OPTIONS sip').replace('314159 INVITE', '314159 OPTIONS'),
];

/** The n-th hostile message of the stream for `rand`. */
export function hostileMessage(rand: () => number): Buffer {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const base = pick(BASES);
  const r = rand();
  if (r < 0.1) {
    // Pure noise.
    const n = Math.floor(rand() * 1500);
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) b[i] = Math.floor(rand() * 256);
    return b;
  }
  if (r < 0.35) {
    // Truncated anywhere.
    const bytes = Buffer.from(base, 'latin1');
    return bytes.subarray(0, Math.floor(rand() * bytes.length));
  }
  if (r < 0.55) return Buffer.from(pick(TORTURE)(base), 'latin1');
  // Byte-level mutations: flips, insertions, deletions, duplicated slices.
  const bytes = Array.from(Buffer.from(base, 'latin1'));
  const edits = 1 + Math.floor(rand() * 8);
  for (let e = 0; e < edits; e++) {
    const at = Math.floor(rand() * bytes.length);
    const op = rand();
    if (op < 0.4) bytes[at] = Math.floor(rand() * 256);
    else if (op < 0.6)
      bytes.splice(at, 0, pick([0, 10, 13, 32, 34, 44, 58, 59, 60, 62, 64, 91, 93, 37, 255]));
    else if (op < 0.8) bytes.splice(at, 1 + Math.floor(rand() * 10));
    else bytes.splice(at, 0, ...bytes.slice(at, at + Math.floor(rand() * 40)));
  }
  return Buffer.from(bytes);
}
