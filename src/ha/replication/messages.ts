// The replication protocol's messages (JSON payloads of authenticated frames), pure: types and shape checks.
// Bindings carry their remaining lifetime and age in ms and dialogs their ages, never clock readings: the two hosts'
// clocks may differ, and the binding clock is a process-local monotonic one anyway.
import type { Dialog } from '../../server/dialogs.js';

export const PROTOCOL_VERSION = 1;

export interface WireBinding {
  aor: string;
  contact: string;
  q: number;
  /** Remaining lifetime, ms. */
  ttl: number;
  /** Time since the last refresh, ms. */
  age: number;
  callId: string;
  cseq: number;
  path: string[];
  /** Where the REGISTER came from, as `formatEndpoint` writes it ("udp:[2001:db8::1]:5060"). */
  received?: string;
  /** SIP Outbound (RFC 5626): the UA's +sip.instance and reg-id; a peer without them ignores the fields. */
  instance?: string;
  regId?: number;
}

/** A dialog's parties and state as held, with ages instead of dates. */
export interface WireDialog
  extends Pick<Dialog, 'callId' | 'fromTag' | 'toTag' | 'caller' | 'callee' | 'state'> {
  /** Time since creation, ms. */
  age: number;
  /** Time since confirmation, ms. */
  confirmedAge?: number;
}

export type WireChange =
  /** Binding added or refreshed. */
  | { s: number; k: 'b'; b: WireBinding }
  /** Binding removed (unregistered or expired on the primary). */
  | { s: number; k: 'u'; aor: string; contact: string }
  /** Dialog created or confirmed. */
  | { s: number; k: 'd'; d: WireDialog }
  /** Dialog terminated; `id` as dialogId(). */
  | { s: number; k: 'e'; id: string };

export type ReplMessage =
  /** First frame each way: the sender's nonce for this connection (the server's also says whether it serves). */
  /** `fence`: cluster mode, the primary's fencing token (the etcd revision of its permit). */
  | { t: 'hello'; v: number; from: string; nonce: string; ok?: boolean; reason?: string; fence?: number }
  /** Backup → primary, first frame under the session key: it proves the backup knows the key; then the snapshot. */
  | { t: 'start' }
  /** The snapshot reflects every change up to and including `seq`. */
  | { t: 'snap-begin'; seq: number; bindings: number; dialogs: number }
  | { t: 'snap'; b: WireBinding[]; d: WireDialog[] }
  | { t: 'snap-end'; seq: number }
  /** Changes in order; `head` is the primary's latest seq when it sent them. */
  | { t: 'ch'; head: number; c: WireChange[] }
  /** Liveness and the primary's latest seq, every few hundred ms. */
  | { t: 'tick'; head: number }
  /** Backup → primary: every change up to `seq` is applied. */
  | { t: 'ack'; seq: number };

const isUint = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isStr = (v: unknown): v is string => typeof v === 'string';
const isRec = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
const STATES: readonly string[] = ['early', 'confirmed', 'terminated'];

export function asWireBinding(v: unknown): WireBinding | undefined {
  if (!isRec(v)) return undefined;
  const { aor, contact, q, ttl, age, callId, cseq, path, received, instance, regId } = v;
  if (!isStr(aor) || !isStr(contact) || !isStr(callId)) return undefined;
  if (!isUint(q) || !isUint(ttl) || !isUint(age) || !isUint(cseq)) return undefined;
  if (!Array.isArray(path) || !path.every(isStr)) return undefined;
  if (received !== undefined && !isStr(received)) return undefined;
  const b: WireBinding = { aor, contact, q, ttl, age, callId, cseq, path };
  if (received !== undefined) b.received = received;
  // SIP Outbound (RFC 5626): the binding stays the instance's flow on the other side; malformed, it is left out.
  if (isStr(instance) && isUint(regId)) {
    b.instance = instance;
    b.regId = regId;
  }
  return b;
}

export function asWireDialog(v: unknown): WireDialog | undefined {
  if (!isRec(v)) return undefined;
  const { callId, fromTag, toTag, caller, callee, state, age, confirmedAge } = v;
  if (!isStr(callId) || !isStr(fromTag) || !isStr(toTag) || !isStr(caller) || !isStr(callee))
    return undefined;
  if (!isStr(state) || !STATES.includes(state) || !isUint(age)) return undefined;
  if (confirmedAge !== undefined && !isUint(confirmedAge)) return undefined;
  const d: WireDialog = { callId, fromTag, toTag, caller, callee, state: state as Dialog['state'], age };
  if (confirmedAge !== undefined) d.confirmedAge = confirmedAge;
  return d;
}

function asChange(v: unknown): WireChange | undefined {
  if (!isRec(v) || !isUint(v.s)) return undefined;
  const s = v.s;
  switch (v.k) {
    case 'b': {
      const b = asWireBinding(v.b);
      return b === undefined ? undefined : { s, k: 'b', b };
    }
    case 'u':
      return isStr(v.aor) && isStr(v.contact) ? { s, k: 'u', aor: v.aor, contact: v.contact } : undefined;
    case 'd': {
      const d = asWireDialog(v.d);
      return d === undefined ? undefined : { s, k: 'd', d };
    }
    case 'e':
      return isStr(v.id) ? { s, k: 'e', id: v.id } : undefined;
    default:
      return undefined;
  }
}

function all<T>(v: unknown, check: (x: unknown) => T | undefined): T[] | undefined {
  if (!Array.isArray(v)) return undefined;
  const out: T[] = [];
  for (const x of v) {
    const y = check(x);
    if (y === undefined) return undefined;
    out.push(y);
  }
  return out;
}

/** The message if `v` has one of the shapes above, else undefined (a protocol error: the peer drops the link). */
export function asReplMessage(v: unknown): ReplMessage | undefined {
  if (!isRec(v)) return undefined;
  switch (v.t) {
    case 'hello': {
      const { v: ver, from, nonce, ok, reason, fence } = v;
      if (!isUint(ver) || !isStr(from) || !isStr(nonce) || !/^[0-9a-f]{64}$/.test(nonce)) return undefined;
      if (ok !== undefined && typeof ok !== 'boolean') return undefined;
      if (reason !== undefined && !isStr(reason)) return undefined;
      if (fence !== undefined && !isUint(fence)) return undefined;
      const m: ReplMessage = { t: 'hello', v: ver, from, nonce };
      if (ok !== undefined) m.ok = ok;
      if (reason !== undefined) m.reason = reason;
      if (fence !== undefined) m.fence = fence;
      return m;
    }
    case 'start':
      return { t: 'start' };
    case 'snap-begin':
      return isUint(v.seq) && isUint(v.bindings) && isUint(v.dialogs)
        ? { t: 'snap-begin', seq: v.seq, bindings: v.bindings, dialogs: v.dialogs }
        : undefined;
    case 'snap': {
      const b = all(v.b, asWireBinding);
      const d = all(v.d, asWireDialog);
      return b === undefined || d === undefined ? undefined : { t: 'snap', b, d };
    }
    case 'snap-end':
      return isUint(v.seq) ? { t: 'snap-end', seq: v.seq } : undefined;
    case 'ch': {
      const c = all(v.c, asChange);
      return c === undefined || !isUint(v.head) ? undefined : { t: 'ch', head: v.head, c };
    }
    case 'tick':
      return isUint(v.head) ? { t: 'tick', head: v.head } : undefined;
    case 'ack':
      return isUint(v.seq) ? { t: 'ack', seq: v.seq } : undefined;
    default:
      return undefined;
  }
}
