// The frames SIP workers of one node exchange over their Unix sockets (sibling-mesh.ts), pure: encoding and an
// incremental decoder. A frame is [u32 length of the rest][u8 kind][u32 head length][head: JSON][body: bytes] —
// a steered SIP message travels as its raw bytes, never re-serialized.

export const FrameKind = {
  /** First frame of a connection: the sender's index. */
  hello: 1,
  /** A SIP message received by one worker for its home worker (steering.ts). */
  message: 2,
  /** A message to send over a TCP, TLS or WebSocket connection, for the worker that owns connections. */
  streamSend: 3,
  /** That send failed (the asker's transaction hears it, §17.1.4). */
  sendFailed: 4,
  /** The registrations and calls the workers share (state-sync.ts). */
  state: 5,
} as const;
export type FrameKind = (typeof FrameKind)[keyof typeof FrameKind];

export interface Frame {
  kind: FrameKind;
  head: unknown;
  body: Buffer;
}

/** A frame larger than this ends the connection (a state dump of a million bindings fits). */
export const MAX_FRAME_BYTES = 512 * 1024 * 1024;

const EMPTY = Buffer.alloc(0);

export function encodeFrame(kind: FrameKind, head: unknown, body: Buffer = EMPTY): Buffer {
  const json = Buffer.from(JSON.stringify(head ?? null));
  const out = Buffer.allocUnsafe(9 + json.length + body.length);
  out.writeUInt32BE(5 + json.length + body.length, 0);
  out.writeUInt8(kind, 4);
  out.writeUInt32BE(json.length, 5);
  json.copy(out, 9);
  body.copy(out, 9 + json.length);
  return out;
}

export class FrameError extends Error {}

/** Reassembles frames from stream chunks. */
export class FrameDecoder {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  /** The whole frames the chunk completes, in order; throws FrameError on a malformed one. */
  push(chunk: Buffer): Frame[] {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (this.pendingBytes < 4) return [];
    let buf = this.pending.length === 1 ? (this.pending[0] as Buffer) : Buffer.concat(this.pending);
    const frames: Frame[] = [];
    let at = 0;
    while (buf.length - at >= 4) {
      const len = buf.readUInt32BE(at);
      if (len < 5 || len > MAX_FRAME_BYTES) throw new FrameError(`frame of ${len} bytes`);
      if (buf.length - at - 4 < len) break;
      const kind = buf.readUInt8(at + 4) as FrameKind;
      const headLen = buf.readUInt32BE(at + 5);
      if (headLen > len - 5) throw new FrameError('head longer than its frame');
      const headStart = at + 9;
      let head: unknown;
      try {
        head = JSON.parse(buf.toString('utf8', headStart, headStart + headLen));
      } catch {
        throw new FrameError('head is not JSON');
      }
      // A copy: the body outlives this chunk (a transaction keeps a request's bytes).
      const body = Buffer.from(buf.subarray(headStart + headLen, at + 4 + len));
      frames.push({ kind, head, body });
      at += 4 + len;
    }
    buf = buf.subarray(at);
    this.pending = buf.length === 0 ? [] : [buf];
    this.pendingBytes = buf.length;
    return frames;
  }
}
