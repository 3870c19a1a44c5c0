// The two ways fuzz cases reach the server: UDP datagrams from one socket, and a TCP connection that carries many
// messages and is opened again when the server closes it (after a framing error, §18.3). Both count what comes back.
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, type Socket } from 'node:net';
import { StreamFramer } from '../../src/sip/transport/stream-framer.js';

export type Transport = 'udp' | 'tcp';

/** Responses received, by status class ("1xx" … "6xx", "other" for anything that does not read as a response). */
export type ClassCounts = Record<string, number>;

/** The first few messages that came back and did not read as a response (kept for a look). */
export const oddReplies: string[] = [];

function countResponse(counts: ClassCounts, bytes: Buffer): void {
  const m = /^SIP\/2\.0 ([1-6])[0-9]{2}[ \r]/.exec(bytes.subarray(0, 16).toString('latin1'));
  const key = m === null ? 'other' : `${m[1]}xx`;
  if (m === null && oddReplies.length < 5) oddReplies.push(bytes.subarray(0, 600).toString('latin1'));
  counts[key] = (counts[key] ?? 0) + 1;
}

export class UdpSender {
  readonly responses: ClassCounts = {};
  sent = 0;
  private readonly socket: UdpSocket = createSocket('udp4');

  constructor(private readonly port: number) {
    this.socket.on('message', (msg) => countResponse(this.responses, msg));
    // A datagram over the kernel's limit (the 70 KB long-line case) fails to send: not the server's business.
    this.socket.on('error', () => {});
  }

  async open(): Promise<void> {
    await new Promise<void>((r) => this.socket.bind(0, '127.0.0.1', () => r()));
  }

  send(bytes: Buffer): Promise<void> {
    this.sent++;
    return new Promise((resolve) => this.socket.send(bytes, this.port, '127.0.0.1', () => resolve()));
  }

  close(): void {
    this.socket.close();
  }
}

export class TcpSender {
  readonly responses: ClassCounts = {};
  sent = 0;
  /** Connections opened, and those the server closed (after a framing error, or an idle timeout). */
  connections = 0;
  serverClosed = 0;
  /** Connections that could not be opened: the server is not accepting. */
  connectFailures = 0;
  private socket: Socket | undefined;
  private closing = false;
  private left = 0;
  private readonly endedByUs = new WeakSet<Socket>();

  /**
   * `perConnection` says how many messages the next connection carries before we close it ourselves, so that one
   * message that leaves the stream waiting for body bytes (a large Content-Length) does not swallow all that follow.
   */
  constructor(
    private readonly port: number,
    private readonly perConnection: () => number = () => Number.POSITIVE_INFINITY,
  ) {}

  private async connect(): Promise<Socket | undefined> {
    const socket = connect({ host: '127.0.0.1', port: this.port, noDelay: true });
    const ok = await new Promise<boolean>((resolve) => {
      socket.once('connect', () => resolve(true));
      socket.once('error', () => resolve(false));
    });
    if (!ok) {
      this.connectFailures++;
      socket.destroy();
      return undefined;
    }
    this.connections++;
    const framer = new StreamFramer(1 << 20);
    socket.on('data', (chunk: Buffer) => {
      for (const ev of framer.push(chunk)) if (ev.kind === 'message') countResponse(this.responses, ev.bytes);
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      if (this.socket === socket) this.socket = undefined;
    });
    // The server half-closes after a framing error: finish our side so the connection goes away.
    socket.on('end', () => {
      if (!this.endedByUs.has(socket) && !this.closing) this.serverClosed++;
      socket.end();
    });
    return socket;
  }

  /** Writes one message, on a new connection when the last one was closed; false when no connection opens. */
  async send(bytes: Buffer): Promise<boolean> {
    if (this.socket !== undefined && this.left <= 0) {
      // Our side is done; the server still answers what it read, on this socket, until it closes.
      const done = this.socket;
      this.endedByUs.add(done);
      done.end();
      setTimeout(() => done.destroy(), 2000).unref();
      this.socket = undefined;
    }
    if (this.socket === undefined || this.socket.destroyed || !this.socket.writable) {
      this.socket?.destroy();
      this.socket = await this.connect();
      if (this.socket === undefined) return false;
      this.left = this.perConnection();
    }
    this.left--;
    this.sent++;
    const socket = this.socket;
    if (!socket.write(bytes)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          socket.off('drain', done);
          socket.off('close', done);
          resolve();
        };
        socket.once('drain', done);
        socket.once('close', done);
      });
    }
    return true;
  }

  close(): void {
    this.closing = true;
    this.socket?.destroy();
  }
}
