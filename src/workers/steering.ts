// Which SIP worker a message belongs to, read from its raw bytes before any parsing (the receiving worker only
// steers; the home worker parses). Every message of one Call-ID has one home: a transaction's retransmissions
// (§17.2.3 matches them by branch, and a branch never spans Call-IDs), its CANCEL (§9.2: same Call-ID as the
// INVITE), the ACK of a non-2xx (§17.1.1.3) and of a 2xx (§13.2.2.4: in the dialog), every request and response of
// the dialog (§12: the Call-ID is part of its identity), and the responses to what the home worker forwarded (a
// proxy keeps the Call-ID, §16.6). So whichever worker the kernel hands a datagram to, it meets its state.

const LF = 0x0a;
const CR = 0x0d;
const SP = 0x20;
const HTAB = 0x09;
const COLON = 0x3a;
/** `call-id`, lower case; `i` is its compact form (§7.3.3). */
const CALL_ID = Buffer.from('call-id');

/**
 * The Call-ID value's bytes (`[start, end)` into `bytes`), or undefined when the head has none before its blank line
 * (a malformed message: the receiving worker answers it itself).
 */
export function callIdSpan(bytes: Buffer): [number, number] | undefined {
  let line = bytes.indexOf(LF);
  while (line !== -1) {
    const start = line + 1;
    if (start >= bytes.length) return undefined;
    const first = bytes[start] as number;
    // The blank line ends the head (CRLF or a bare LF).
    if (first === CR || first === LF) return undefined;
    const lower = first | 0x20;
    let at = -1;
    if (lower === 0x63 /* c */ && matchesName(bytes, start)) at = start + CALL_ID.length;
    else if (lower === 0x69 /* i */) at = start + 1;
    if (at !== -1) {
      while (at < bytes.length && (bytes[at] === SP || bytes[at] === HTAB)) at++;
      if (at < bytes.length && bytes[at] === COLON) {
        at++;
        while (at < bytes.length && (bytes[at] === SP || bytes[at] === HTAB)) at++;
        let end = at;
        while (end < bytes.length && bytes[end] !== CR && bytes[end] !== LF) end++;
        while (end > at && (bytes[end - 1] === SP || bytes[end - 1] === HTAB)) end--;
        return end > at ? [at, end] : undefined;
      }
    }
    line = bytes.indexOf(LF, start);
  }
  return undefined;
}

function matchesName(bytes: Buffer, start: number): boolean {
  if (start + CALL_ID.length > bytes.length) return false;
  for (let i = 1; i < CALL_ID.length; i++)
    if (((bytes[start + i] as number) | 0x20) !== CALL_ID[i]) return false;
  return true;
}

/** FNV-1a, 32 bits: cheap, and spreads random Call-IDs evenly over a handful of workers. */
function fnv1a(bytes: Buffer, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) h = Math.imul(h ^ (bytes[i] as number), 0x01000193);
  return h >>> 0;
}

/** The home worker (0 … count−1) of a message, or undefined when it has no Call-ID to go by. */
export function homeWorker(bytes: Buffer, count: number): number | undefined {
  if (count <= 1) return 0;
  const span = callIdSpan(bytes);
  return span === undefined ? undefined : fnv1a(bytes, span[0], span[1]) % count;
}

/** The home worker of a Call-ID as text (tests, and a worker choosing Call-IDs of its own). */
export function homeOfCallId(callId: string, count: number): number {
  const b = Buffer.from(callId);
  return count <= 1 ? 0 : fnv1a(b, 0, b.length) % count;
}

/**
 * Where a message whose home is `home` goes when that worker is down or restarting: the next worker up, in index
 * order, so that every receiver that sees the same workers up picks the same one (a retransmission then still
 * meets the transaction its first copy made). `self` is always up.
 */
export function liveHome(
  home: number,
  self: number,
  count: number,
  isUp: (index: number) => boolean,
): number {
  for (let k = 0; k < count; k++) {
    const j = (home + k) % count;
    if (j === self || isUp(j)) return j;
  }
  return self;
}
