// Replication frames on the TCP stream, pure: length-prefixed, each authenticated with HMAC-SHA256.
//   frame = length (u32 BE, of what follows) ‖ JSON payload (UTF-8) ‖ HMAC(key, direction ‖ counter (u64 BE) ‖ payload)
// The counter is implicit (each side counts the frames it sends and receives), so a dropped, repeated, reordered or
// reflected frame fails its MAC. The key is the ha.key_file key for the backup's hello only; every later frame uses
// a session key derived from both sides' fresh nonces, so a recorded stream is worthless on a new connection.

import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { tryJson } from '../../net/json.js';
import { asReplMessage, type ReplMessage } from './messages.js';

export const MAC_BYTES = 32;
export const NONCE_BYTES = 32;
/** A snapshot chunk is the largest frame (a few hundred KB); anything far beyond is a broken or hostile peer. */
export const MAX_FRAME_BYTES = 16 * 1024 * 1024;

/** Backup → primary and primary → backup: a frame cannot be reflected back to its sender. */
export type Direction = 'to-primary' | 'to-backup';
const DIR_BYTE: Record<Direction, number> = { 'to-primary': 1, 'to-backup': 2 };

export function newNonce(): string {
  return randomBytes(NONCE_BYTES).toString('hex');
}

export function sessionKey(key: Buffer, backupNonce: string, primaryNonce: string): Buffer {
  return createHmac('sha256', key)
    .update('sipha-replication-v1\0')
    .update(Buffer.from(backupNonce, 'hex'))
    .update(Buffer.from(primaryNonce, 'hex'))
    .digest();
}

/** The frames of one direction under one key, counted: the count goes into each frame's MAC. */
abstract class CountedFrames {
  constructor(
    private readonly key: Buffer,
    private readonly dir: Direction,
    protected counter = 0,
  ) {}

  protected mac(payload: Buffer): Buffer {
    const head = Buffer.alloc(9);
    head[0] = DIR_BYTE[this.dir];
    head.writeBigUInt64BE(BigInt(this.counter), 1);
    return createHmac('sha256', this.key).update(head).update(payload).digest();
  }
}

/** Seals the frames one side sends, counting them. */
export class FrameSealer extends CountedFrames {
  seal(msg: ReplMessage): Buffer {
    const payload = Buffer.from(JSON.stringify(msg), 'utf8');
    const out = Buffer.allocUnsafe(4 + payload.length + MAC_BYTES);
    out.writeUInt32BE(payload.length + MAC_BYTES, 0);
    payload.copy(out, 4);
    this.mac(payload).copy(out, 4 + payload.length);
    this.counter++;
    return out;
  }

  get sent(): number {
    return this.counter;
  }
}

export type OpenResult =
  | { ok: true; msg: ReplMessage }
  | { ok: false; reason: 'forged' | 'malformed'; detail: string };

/** Checks the frames one side receives, in order, counting them. */
export class FrameOpener extends CountedFrames {
  /** `frame` is what follows the length prefix. */
  open(frame: Buffer): OpenResult {
    if (frame.length < MAC_BYTES + 2)
      return { ok: false, reason: 'malformed', detail: `length ${frame.length}` };
    const payload = frame.subarray(0, frame.length - MAC_BYTES);
    const got = frame.subarray(frame.length - MAC_BYTES);
    if (!timingSafeEqual(got, this.mac(payload)))
      return { ok: false, reason: 'forged', detail: `HMAC mismatch on frame ${this.counter}` };
    this.counter++;
    const parsed = tryJson(payload.toString('utf8'));
    if (!parsed.ok) return { ok: false, reason: 'malformed', detail: 'not JSON' };
    const msg = asReplMessage(parsed.value);
    return msg === undefined
      ? { ok: false, reason: 'malformed', detail: 'unknown shape' }
      : { ok: true, msg };
  }
}

/** Cuts a byte stream into frames (without their length prefix). */
export class FrameSplitter {
  private buf: Buffer = Buffer.alloc(0);

  /** Throws on a length beyond MAX_FRAME_BYTES: the stream cannot be resynchronised, drop the connection. */
  push(chunk: Buffer): Buffer[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const frames: Buffer[] = [];
    let at = 0;
    while (this.buf.length - at >= 4) {
      const len = this.buf.readUInt32BE(at);
      if (len > MAX_FRAME_BYTES) throw new Error(`frame of ${len} bytes`);
      if (this.buf.length - at - 4 < len) break;
      frames.push(this.buf.subarray(at + 4, at + 4 + len));
      at += 4 + len;
    }
    this.buf = at === this.buf.length ? Buffer.alloc(0) : this.buf.subarray(at);
    return frames;
  }
}

/** The payload of a frame without checking its MAC: only for the primary's hello, whose nonce is part of the key
 * that checks it. */
export function peekPayload(frame: Buffer): unknown {
  try {
    return JSON.parse(frame.subarray(0, Math.max(0, frame.length - MAC_BYTES)).toString('utf8'));
  } catch {
    return undefined;
  }
}
