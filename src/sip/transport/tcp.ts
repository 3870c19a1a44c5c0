// SIP over TCP: listeners, a pool of connections reused by remote address, framing, keep-alives, idle timeouts.
import { connect, createServer, isIPv6, type Server, type Socket } from 'node:net';
import { StreamFramer } from './stream-framer.js';

export interface TcpConnectionInfo {
  id: number;
  remoteAddress: string;
  remotePort: number;
  localAddress: string;
  localPort: number;
}

export interface TcpEvents {
  onMessage(bytes: Buffer, connection: TcpConnectionInfo): void;
  /** Framing was lost on this connection; the head (if any) may let the caller answer before it is closed. */
  onFramingError(
    reason: 'too-large' | 'bad-content-length',
    head: Buffer,
    connection: TcpConnectionInfo,
  ): void;
  onPing(): void;
  onError(error: Error): void;
  /**
   * A connection failed: refused, reset, timed out while connecting (§18.4). Whatever waits on an answer from
   * `remoteAddress:remotePort` over TCP will not get it on this connection.
   */
  onConnectionFailed(remoteAddress: string, remotePort: number, error: Error): void;
}

class TcpConnection implements TcpConnectionInfo {
  readonly framer: StreamFramer;
  constructor(
    readonly id: number,
    readonly socket: Socket,
    readonly remoteAddress: string,
    readonly remotePort: number,
    readonly localAddress: string,
    readonly localPort: number,
    maxMessageBytes: number,
  ) {
    this.framer = new StreamFramer(maxMessageBytes);
  }
}

export interface TcpOptions {
  maxMessageBytes: number;
  idleTimeoutMs: number;
  connectTimeoutMs: number;
}

export class TcpTransport {
  private readonly servers: Array<{ server: Server; address: string; port: number }> = [];
  private readonly connections = new Map<number, TcpConnection>();
  private readonly byRemote = new Map<string, TcpConnection>();
  private nextId = 1;
  accepted = 0;
  idleClosed = 0;

  constructor(
    private readonly options: TcpOptions,
    private readonly events: TcpEvents,
  ) {}

  get openConnections(): number {
    return this.connections.size;
  }

  listeners(): Array<{ address: string; port: number }> {
    return this.servers.map(({ address, port }) => ({ address, port }));
  }

  listen(address: string, port: number): Promise<number> {
    const server = createServer({ noDelay: true }, (socket) => {
      this.accepted++;
      this.adopt(socket);
    });
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: address, port, exclusive: true }, () => {
        server.off('error', reject);
        server.on('error', this.events.onError);
        const bound = server.address();
        const actual = typeof bound === 'object' && bound !== null ? bound.port : port;
        this.servers.push({ server, address, port: actual });
        resolve(actual);
      });
    });
  }

  /** Sends on connection `id` if it is still open; returns false otherwise. */
  sendOn(id: number, bytes: Buffer): boolean {
    const c = this.connections.get(id);
    if (c === undefined || c.socket.destroyed) return false;
    c.socket.write(bytes);
    return true;
  }

  /** Sends to a remote address, reusing an open connection to it or opening one from our listen address. */
  sendTo(address: string, port: number, bytes: Buffer, onError?: (error: Error) => void): void {
    const existing = this.byRemote.get(remoteKey(address, port));
    if (existing !== undefined && !existing.socket.destroyed) {
      existing.socket.write(bytes);
      return;
    }
    const family = isIPv6(address) ? 6 : 4;
    const local = this.servers.find((s) => (isIPv6(s.address) ? 6 : 4) === family);
    const socket = connect({
      host: address,
      port,
      noDelay: true,
      ...(local !== undefined && !isWildcard(local.address) ? { localAddress: local.address } : {}),
    });
    const timer = setTimeout(
      () => socket.destroy(new Error(`TCP connect to ${address}:${port} timed out`)),
      this.options.connectTimeoutMs,
    );
    socket.once('connect', () => clearTimeout(timer));
    socket.once('error', (err) => {
      clearTimeout(timer);
      onError?.(err);
    });
    this.adopt(socket, address, port);
    socket.write(bytes);
  }

  private adopt(socket: Socket, remoteAddress?: string, remotePort?: number): void {
    const c = new TcpConnection(
      this.nextId++,
      socket,
      remoteAddress ?? normaliseAddress(socket.remoteAddress ?? ''),
      remotePort ?? socket.remotePort ?? 0,
      normaliseAddress(socket.localAddress ?? ''),
      socket.localPort ?? 0,
      this.options.maxMessageBytes,
    );
    this.connections.set(c.id, c);
    const key = remoteKey(c.remoteAddress, c.remotePort);
    this.byRemote.set(key, c);
    socket.setTimeout(this.options.idleTimeoutMs, () => {
      this.idleClosed++;
      socket.destroy();
    });
    socket.on('connect', () => {
      // Outgoing: local address is only known now.
      Object.assign(c, {
        localAddress: normaliseAddress(socket.localAddress ?? ''),
        localPort: socket.localPort ?? 0,
      });
    });
    socket.on('data', (chunk: Buffer) => {
      for (const ev of c.framer.push(chunk)) {
        if (ev.kind === 'message') this.events.onMessage(ev.bytes, c);
        else if (ev.kind === 'ping') {
          this.events.onPing();
          socket.write('\r\n');
        } else {
          this.events.onFramingError(ev.reason, ev.head, c);
          socket.end();
          setTimeout(() => socket.destroy(), 1000).unref();
        }
      }
    });
    socket.on('error', (err) => {
      socket.destroy();
      this.events.onConnectionFailed(c.remoteAddress, c.remotePort, err);
    });
    socket.on('close', () => {
      this.connections.delete(c.id);
      if (this.byRemote.get(key) === c) this.byRemote.delete(key);
    });
  }

  async close(): Promise<void> {
    for (const c of this.connections.values()) c.socket.destroy();
    await Promise.all(this.servers.map(({ server }) => new Promise<void>((r) => server.close(() => r()))));
    this.servers.length = 0;
  }

  /** Stops accepting new connections; open ones keep working until `close`. */
  async stopListening(): Promise<void> {
    await Promise.all(this.servers.map(({ server }) => new Promise<void>((r) => server.close(() => r()))));
  }
}

function remoteKey(address: string, port: number): string {
  return `${address.toLowerCase()}|${port}`;
}

/** ::ffff:1.2.3.4 → 1.2.3.4, so IPv4 peers look the same whatever socket family carried them. */
export function normaliseAddress(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

function isWildcard(address: string): boolean {
  return address === '0.0.0.0' || address === '::';
}
