// A raw SIP peer for tests: sends bytes over real UDP/TCP sockets on loopback and collects what comes back.
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, type Socket } from 'node:net';
import { type ConnectionOptions, type TLSSocket, connect as tlsConnect } from 'node:tls';
import { WebSocket } from 'ws';
import type { SipResponse } from '../../src/sip/message.js';
import { parseMessage } from '../../src/sip/parser.js';
import { StreamFramer } from '../../src/sip/transport/stream-framer.js';

/**
 * Whole messages as they arrive (UDP datagrams, WebSocket frames), and a wait for the next one that matches,
 * searching what already arrived first.
 */
class Inbox {
  readonly received: Buffer[] = [];
  private waiters: Array<() => void> = [];
  /** No more will arrive (a closed connection): a wait ends at once. */
  closed = false;

  constructor(private readonly what: string) {}

  protected deliver(m: Buffer): void {
    this.received.push(m);
    this.wake();
  }

  protected wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Waits for the next message matching `pred`. */
  async next(pred: (m: Buffer) => boolean = () => true, timeoutMs = 2000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const idx = this.received.findIndex(pred);
      if (idx !== -1) return this.received.splice(idx, 1)[0]!;
      const left = deadline - Date.now();
      if (left <= 0 || this.closed) throw new Error(`timed out waiting for ${this.what}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }
}

export class UdpPeer extends Inbox {
  private readonly socket: UdpSocket;

  private constructor(socket: UdpSocket) {
    super('a datagram');
    this.socket = socket;
    socket.on('message', (m) => this.deliver(m));
  }

  static async open(address = '127.0.0.1'): Promise<UdpPeer> {
    const socket = createSocket(address.includes(':') ? 'udp6' : 'udp4');
    await new Promise<void>((r) => socket.bind(0, address, () => r()));
    return new UdpPeer(socket);
  }

  get port(): number {
    return this.socket.address().port;
  }

  send(bytes: Buffer | string, port: number, address = '127.0.0.1'): Promise<void> {
    return new Promise((resolve, reject) =>
      this.socket.send(
        typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes,
        port,
        address,
        (err) => (err ? reject(err) : resolve()),
      ),
    );
  }

  async nextResponse(pred: (r: SipResponse) => boolean = () => true, timeoutMs = 2000): Promise<SipResponse> {
    const m = await this.next((b) => {
      const r = parseMessage(b);
      return r.ok && r.message.kind === 'response' && pred(r.message);
    }, timeoutMs);
    const r = parseMessage(m);
    if (!r.ok || r.message.kind !== 'response') throw new Error('not a response');
    return r.message;
  }

  /** The next datagram that starts with a status line, as `{ status, reason, text }`, parsed or not. */
  async nextStatusLine(timeoutMs = 2000): Promise<{ status: number; reason: string; text: string }> {
    const m = await this.next((b) => b.subarray(0, 8).toString('latin1') === 'SIP/2.0 ', timeoutMs);
    const text = m.toString('latin1');
    const line = text.slice(0, text.indexOf('\r\n'));
    return { status: Number(line.slice(8, 11)), reason: line.slice(12), text };
  }

  close(): void {
    this.socket.close();
  }
}

export class TcpPeer {
  readonly received: Buffer[] = [];
  readonly raw: Buffer[] = [];
  private readonly framer = new StreamFramer(1_000_000);
  private waiters: Array<() => void> = [];
  closed = false;

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.raw.push(chunk);
      for (const ev of this.framer.push(chunk)) if (ev.kind === 'message') this.received.push(ev.bytes);
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => {});
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  static connect(port: number, address = '127.0.0.1'): Promise<TcpPeer> {
    return new Promise((resolve, reject) => {
      const s = connect({ port, host: address }, () => resolve(new TcpPeer(s)));
      s.once('error', reject);
    });
  }

  /** A TLS connection (test certificates: not verified unless `options` says so). */
  static connectTls(port: number, options: ConnectionOptions = {}, address = '127.0.0.1'): Promise<TcpPeer> {
    return new Promise((resolve, reject) => {
      const s = tlsConnect({ port, host: address, rejectUnauthorized: false, ...options }, () =>
        resolve(new TcpPeer(s)),
      );
      s.once('error', reject);
    });
  }

  get tls(): TLSSocket {
    return this.socket as TLSSocket;
  }

  get localPort(): number {
    return this.socket.localPort ?? 0;
  }

  write(bytes: Buffer | string): void {
    this.socket.write(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes);
  }

  async until(cond: () => boolean, timeoutMs = 2000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!cond()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('timed out waiting on TCP');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  async nextResponse(timeoutMs = 2000): Promise<SipResponse> {
    await this.until(() => this.received.length > 0 || this.closed, timeoutMs);
    const m = this.received.shift();
    if (m === undefined) throw new Error('connection closed without a response');
    const r = parseMessage(m, undefined, 'stream');
    if (!r.ok || r.message.kind !== 'response') throw new Error('not a response');
    return r.message;
  }

  close(): void {
    this.socket.destroy();
  }
}

/** A WebSocket SIP client (RFC 7118): one message per frame, subprotocol `sip`. */
export class WsPeer extends Inbox {
  private constructor(readonly ws: WebSocket) {
    super('a WebSocket message');
    ws.on('message', (data: Buffer) => this.deliver(Buffer.from(data)));
    ws.on('close', () => {
      this.closed = true;
      this.wake();
    });
    ws.on('error', () => {});
  }

  /** Opens `url`; rejects with the HTTP status when the upgrade is refused. */
  static open(url: string, o: { protocols?: string[]; origin?: string } = {}): Promise<WsPeer> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, o.protocols ?? ['sip'], {
        rejectUnauthorized: false,
        ...(o.origin === undefined ? {} : { origin: o.origin }),
      });
      ws.once('open', () => resolve(new WsPeer(ws)));
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      ws.once('error', reject);
    });
  }

  get localPort(): number {
    return (this.ws as unknown as { _socket: Socket })._socket.localPort ?? 0;
  }

  send(text: string): void {
    this.ws.send(text);
  }

  close(): void {
    this.ws.terminate();
  }
}

let seq = 0;
/** A well-formed request text; `over` sets the Via transport. */
export function request(
  method: string,
  opts: {
    uri?: string;
    over?: 'UDP' | 'TCP' | 'TLS' | 'WS' | 'WSS';
    port?: number;
    extra?: string[];
    body?: string;
    callId?: string;
  } = {},
): string {
  seq++;
  const body = opts.body ?? '';
  return [
    `${method} ${opts.uri ?? 'sip:sipha@127.0.0.1'} SIP/2.0`,
    `Via: SIP/2.0/${opts.over ?? 'UDP'} 127.0.0.1:${opts.port ?? 5999};branch=z9hG4bK-t${seq}-${Math.random().toString(36).slice(2)};rport`,
    'Max-Forwards: 70',
    'From: <sip:tester@127.0.0.1>;tag=t' + seq,
    'To: <sip:sipha@127.0.0.1>',
    `Call-ID: ${opts.callId ?? `call-${seq}-${Date.now()}`}`,
    `CSeq: ${seq} ${method}`,
    ...(opts.extra ?? []),
    `Content-Length: ${Buffer.byteLength(body, 'latin1')}`,
    '',
    body,
  ].join('\r\n');
}
