// Serialises a SIP message to bytes. Content-Length always states the real body length.
import type { AnySipMessage } from './message.js';

export function serializeHead(message: AnySipMessage): string {
  let s =
    message.kind === 'request'
      ? `${message.method} ${message.uri} ${message.version}\r\n`
      : `${message.version} ${message.status} ${message.reason}\r\n`;
  let wroteLength = false;
  const length = String(message.body.length);
  for (const f of message.headers.fields) {
    if (f.key === 'content-length') {
      if (wroteLength) continue;
      wroteLength = true;
      s += `${f.name}: ${length}\r\n`;
    } else s += `${f.name}: ${f.value}\r\n`;
  }
  if (!wroteLength) s += `Content-Length: ${length}\r\n`;
  return `${s}\r\n`;
}

export function serializeMessage(message: AnySipMessage): Buffer {
  const head = serializeHead(message);
  const headLength = Buffer.byteLength(head, 'latin1');
  const out = Buffer.allocUnsafe(headLength + message.body.length);
  out.write(head, 0, 'latin1');
  message.body.copy(out, headLength);
  return out;
}

/**
 * The same bytes in memory of their own. A small Buffer is a slice of an 8 KiB pool that stays alive as long as any
 * slice of it does, so bytes kept for long (a final response held for Timer J) would pin a whole pool each.
 */
export function unpooled(bytes: Buffer): Buffer {
  const own = Buffer.allocUnsafeSlow(bytes.length);
  bytes.copy(own);
  return own;
}
