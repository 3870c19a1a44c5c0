// Cuts a TCP byte stream into SIP messages by Content-Length (§18.3), and recognises RFC 5626 keep-alives.
import { findHeaderEnd } from '../parser.js';

export type FrameEvent =
  | { kind: 'message'; bytes: Buffer }
  /** A CRLFCRLF "ping": answer with a single CRLF "pong" (RFC 5626 §3.5.1). */
  | { kind: 'ping' }
  /** Framing is lost (no or bad Content-Length, too large): answer if possible, then close the connection. */
  | { kind: 'error'; reason: 'too-large' | 'bad-content-length'; head: Buffer };

// Lines end at LF (with an optional CR before it), as the parser reads them: not `/m`, whose `^` also matches after a
// bare CR, so `Call-ID: x\rContent-Length: 30` would frame by a Content-Length the parser sees as part of Call-ID.
const CONTENT_LENGTH_RE = /(?:^|\n)(?:content-length|l)[ \t]*:[ \t]*([^\r\n]*?)[ \t]*\r?(?=\n|$)/i;

export class StreamFramer {
  private buffer: Buffer = Buffer.alloc(0);
  private failed = false;

  constructor(private readonly maxMessageBytes: number) {}

  /** Adds received bytes and returns every complete frame now available. */
  push(chunk: Buffer): FrameEvent[] {
    if (this.failed) return [];
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    const events: FrameEvent[] = [];
    for (;;) {
      // Leading CRLFs: a CRLFCRLF pair is a ping; a lone CRLF is a pong or padding (§7.5: ignore).
      let i = 0;
      while (i < this.buffer.length && (this.buffer[i] === 13 || this.buffer[i] === 10)) {
        if (
          this.buffer[i] === 13 &&
          this.buffer[i + 1] === 10 &&
          this.buffer[i + 2] === 13 &&
          this.buffer[i + 3] === 10
        ) {
          events.push({ kind: 'ping' });
          i += 4;
        } else if (this.buffer[i] === 13 && i + 1 >= this.buffer.length) {
          break; // wait: this may become a CRLF or CRLFCRLF
        } else i++;
      }
      if (i > 0) this.buffer = this.buffer.subarray(i);
      if (this.buffer.length === 0 || this.buffer[0] === 13) return events;

      const end = findHeaderEnd(this.buffer);
      if (end === undefined) {
        if (this.buffer.length > this.maxMessageBytes) return this.fail(events, 'too-large', this.buffer);
        return events;
      }
      const headBytes = this.buffer.subarray(0, end.headEnd);
      const match = CONTENT_LENGTH_RE.exec(headBytes.toString('latin1'));
      const length = match === null ? -1 : /^[0-9]{1,9}$/.test(match[1]!) ? Number(match[1]) : -1;
      if (length < 0) return this.fail(events, 'bad-content-length', headBytes);
      const total = end.bodyStart + length;
      if (total > this.maxMessageBytes) return this.fail(events, 'too-large', headBytes);
      if (this.buffer.length < total) return events;
      // Copy so the frame does not pin the whole receive buffer.
      events.push({ kind: 'message', bytes: Buffer.from(this.buffer.subarray(0, total)) });
      this.buffer = this.buffer.subarray(total);
    }
  }

  private fail(events: FrameEvent[], reason: 'too-large' | 'bad-content-length', head: Buffer): FrameEvent[] {
    this.failed = true;
    events.push({ kind: 'error', reason, head: Buffer.from(head) });
    this.buffer = Buffer.alloc(0);
    return events;
  }
}
