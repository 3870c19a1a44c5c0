// The peer link's wire format, pure: encode and decode with HMAC-SHA256, and the replay window.
//   datagram = MAGIC (4 bytes "SPH1") ‖ JSON header+body (UTF-8) ‖ HMAC-SHA256(key, MAGIC ‖ JSON) (32 bytes)
// The header carries the sender's id, its incarnation (epoch ms of its start: a restarted sender begins a new
// sequence), a sequence number (one counter for all paths), and its clock (epoch ms) for the staleness check.

import { createHmac, timingSafeEqual } from 'node:crypto';
import type { SipPathReport } from '../monitor/health-decision.js';
import { tryJson } from '../net/json.js';
import type { EtcdView, Role } from './role-machine.js';

export const MAGIC = Buffer.from('SPH1', 'latin1');
export const MAC_BYTES = 32;
export const MAX_DATAGRAM = 1400;

export type PeerBody =
  | {
      type: 'hb';
      role: Role;
      term: number;
      priority: number;
      ready: boolean;
      yielding: boolean;
      /** What this node sees of its own SIP path: the peer's input to the SIP-path decision table. */
      sip?: SipPathReport;
      /** Cluster mode: this node's etcd lease as it knows it, and its fencing token (the permit's revision). */
      etcd?: EtcdView;
      fence?: number;
    }
  /** The primary resigns: it has removed the VIP (at vipRemovedAt, epoch ms) and hands over to the peer now. */
  | { type: 'resign'; term: number; vipRemovedAt: number | null }
  /** Please resign: an operator's switchover on the backup, or a preempting backup. */
  | { type: 'resign-request'; reason: 'switchover' | 'preempt' };

export interface PeerMessage {
  from: string;
  inc: number;
  seq: number;
  ts: number;
  /** Index of the path it was sent on (per-path status on the receiver). */
  path: number;
  body: PeerBody;
}

export type RejectReason = 'forged' | 'replayed' | 'stale' | 'malformed';

export type DecodeResult =
  | { ok: true; msg: PeerMessage }
  | { ok: false; reason: RejectReason; detail: string };

export function encode(msg: PeerMessage, key: Buffer): Buffer {
  const json = Buffer.from(JSON.stringify(msg), 'utf8');
  const mac = createHmac('sha256', key).update(MAGIC).update(json).digest();
  return Buffer.concat([MAGIC, json, mac]);
}

/** Checks the frame and the MAC, then the shape. Freshness and replay are the window's business. */
export function decode(buf: Buffer, key: Buffer): DecodeResult {
  if (buf.length < MAGIC.length + 2 + MAC_BYTES || buf.length > MAX_DATAGRAM)
    return { ok: false, reason: 'malformed', detail: `length ${buf.length}` };
  if (!buf.subarray(0, MAGIC.length).equals(MAGIC))
    return { ok: false, reason: 'malformed', detail: 'bad magic' };
  const json = buf.subarray(MAGIC.length, buf.length - MAC_BYTES);
  const mac = buf.subarray(buf.length - MAC_BYTES);
  const want = createHmac('sha256', key).update(MAGIC).update(json).digest();
  if (!timingSafeEqual(mac, want)) return { ok: false, reason: 'forged', detail: 'HMAC mismatch' };
  const parsed = tryJson(json.toString('utf8'));
  if (!parsed.ok) return { ok: false, reason: 'malformed', detail: 'not JSON' };
  const msg = asMessage(parsed.value);
  return msg === undefined ? { ok: false, reason: 'malformed', detail: 'bad fields' } : { ok: true, msg };
}

const ROLES: readonly string[] = ['starting', 'backup', 'primary', 'fault'];
const ETCD_VIEWS: readonly string[] = ['off', 'unknown', 'reachable', 'unreachable'];
const isUint = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

function asMessage(raw: unknown): PeerMessage | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const m = raw as Record<string, unknown>;
  if (typeof m.from !== 'string' || m.from.length === 0 || m.from.length > 64) return undefined;
  if (!isUint(m.inc) || !isUint(m.seq) || !isUint(m.ts) || !isUint(m.path)) return undefined;
  const b = m.body as Record<string, unknown> | null;
  if (typeof b !== 'object' || b === null) return undefined;
  let body: PeerBody;
  if (b.type === 'hb') {
    if (typeof b.role !== 'string' || !ROLES.includes(b.role)) return undefined;
    if (
      !isUint(b.term) ||
      !isUint(b.priority) ||
      typeof b.ready !== 'boolean' ||
      typeof b.yielding !== 'boolean'
    )
      return undefined;
    body = {
      type: 'hb',
      role: b.role as Role,
      term: b.term,
      priority: b.priority,
      ready: b.ready,
      yielding: b.yielding,
    };
    // An unreadable report is dropped, not the heartbeat: liveness must not depend on the monitoring's shape.
    const sip = asSipReport(b.sip);
    if (sip !== undefined) body.sip = sip;
    if (typeof b.etcd === 'string' && ETCD_VIEWS.includes(b.etcd)) body.etcd = b.etcd as EtcdView;
    if (isUint(b.fence)) body.fence = b.fence;
  } else if (b.type === 'resign') {
    if (!isUint(b.term) || !(b.vipRemovedAt === null || isUint(b.vipRemovedAt))) return undefined;
    body = { type: 'resign', term: b.term, vipRemovedAt: b.vipRemovedAt };
  } else if (b.type === 'resign-request') {
    if (b.reason !== 'switchover' && b.reason !== 'preempt') return undefined;
    body = { type: 'resign-request', reason: b.reason };
  } else return undefined;
  return { from: m.from, inc: m.inc, seq: m.seq, ts: m.ts, path: m.path, body };
}

const CARRIER: readonly string[] = ['up', 'down', 'unknown'];
const TRAFFIC: readonly string[] = ['active', 'idle', 'unknown'];
const TRI: readonly string[] = ['ok', 'fail', 'unknown'];

function asSipReport(raw: unknown): SipPathReport | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const r = raw as Record<string, unknown>;
  const is = (v: unknown, allowed: readonly string[]) => typeof v === 'string' && allowed.includes(v);
  if (
    !is(r.carrier, CARRIER) ||
    !is(r.traffic, TRAFFIC) ||
    !is(r.gateway, TRI) ||
    !is(r.peer, TRI) ||
    !is(r.vip, TRI)
  )
    return undefined;
  return {
    carrier: r.carrier as SipPathReport['carrier'],
    traffic: r.traffic as SipPathReport['traffic'],
    gateway: r.gateway as SipPathReport['gateway'],
    peer: r.peer as SipPathReport['peer'],
    vip: r.vip as SipPathReport['vip'],
  };
}

/**
 * Per-sender anti-replay state, as IPsec's sliding window (RFC 4303 §3.4.3): the highest sequence number seen and
 * a bitmap of the WINDOW numbers below it, so that the copies of one sender's stream on several paths may arrive
 * out of order without being taken for replays. A new incarnation (a restarted sender) resets the window; an older
 * incarnation is a replay.
 */
export const WINDOW = 64;

export interface ReplayState {
  inc: number;
  top: number;
  /** bit i set: top - i was seen. */
  bits: bigint;
}

export function checkFresh(
  prev: ReplayState | undefined,
  msg: Pick<PeerMessage, 'inc' | 'seq' | 'ts'>,
  now: number,
  maxSkewMs: number,
): { ok: true; next: ReplayState } | { ok: false; reason: 'replayed' | 'stale'; detail: string } {
  // Staleness first: a message from a sender's past (or a queue that filled while this node was frozen) says
  // nothing about the present.
  const age = now - msg.ts;
  if (Math.abs(age) > maxSkewMs) return { ok: false, reason: 'stale', detail: `timestamp off by ${age} ms` };
  if (prev === undefined || msg.inc > prev.inc)
    return { ok: true, next: { inc: msg.inc, top: msg.seq, bits: 1n } };
  if (msg.inc < prev.inc) return { ok: false, reason: 'replayed', detail: `old incarnation ${msg.inc}` };
  if (msg.seq > prev.top) {
    const shift = msg.seq - prev.top;
    const bits = shift >= WINDOW ? 1n : ((prev.bits << BigInt(shift)) | 1n) & ((1n << BigInt(WINDOW)) - 1n);
    return { ok: true, next: { inc: prev.inc, top: msg.seq, bits } };
  }
  const back = prev.top - msg.seq;
  if (back >= WINDOW) return { ok: false, reason: 'replayed', detail: `seq ${msg.seq} below the window` };
  const bit = 1n << BigInt(back);
  if ((prev.bits & bit) !== 0n) return { ok: false, reason: 'replayed', detail: `seq ${msg.seq} seen` };
  return { ok: true, next: { ...prev, bits: prev.bits | bit } };
}
