// SIP over TCP and over TLS (RFC 3261 §18, §26.2): listeners, a pool of connections reused by remote address,
// framing, keep-alives, idle timeouts. TLS adds the handshake admission limit (the reconnect storm after a takeover
// is admitted at the pace the CPU can do handshakes), session resumption both ways, and a certificate reload that
// leaves established connections alone.
import {
  isIPv6,
  connect as netConnect,
  createServer as netCreateServer,
  type Server,
  type Socket,
} from 'node:net';
import {
  type ConnectionOptions,
  type SecureContextOptions,
  type TLSSocket,
  type TlsOptions,
  type Server as TlsServer,
  connect as tlsConnect,
  createServer as tlsCreateServer,
} from 'node:tls';
import { StreamFramer } from './stream-framer.js';

export interface StreamConnectionInfo {
  id: number;
  remoteAddress: string;
  remotePort: number;
  localAddress: string;
  localPort: number;
}

export interface StreamEvents {
  onMessage(bytes: Buffer, connection: StreamConnectionInfo): void;
  /** Framing was lost on this connection; the head (if any) may let the caller answer before it is closed. */
  onFramingError(
    reason: 'too-large' | 'bad-content-length',
    head: Buffer,
    connection: StreamConnectionInfo,
  ): void;
  onPing(): void;
  onError(error: Error): void;
  /**
   * A connection failed: refused, reset, timed out while connecting, its TLS handshake failed (§18.4). Whatever
   * waits on an answer from `remoteAddress:remotePort` over it will not get it on this connection.
   */
  onConnectionFailed(remoteAddress: string, remotePort: number, error: Error): void;
  /** A connection closed, for whatever reason (flows: RFC 5626 §5.3 "the flow is no longer valid"). */
  onClosed?(connection: StreamConnectionInfo): void;
}

/** TLS settings of a stream transport; absent for TCP. */
export interface StreamTls {
  /** The server side: certificate, key, CAs, ticket keys, client-certificate policy. Absent: no TLS listener. */
  server?: TlsOptions;
  /** Connecting out: CAs, certificate check, our certificate for mutual TLS. */
  client: ConnectionOptions;
  /** Handshakes in progress at once on the server side, beyond which new connections are closed. */
  maxHandshakes: number;
}

export interface TlsCounters {
  handshakes: number;
  /** Handshakes that resumed a session (a ticket from this node or from the pair's other node). */
  resumed: number;
  handshakeFailures: number;
  /** Connections closed before their handshake because `maxHandshakes` were in progress. */
  refused: number;
}

class StreamConnection implements StreamConnectionInfo {
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

export interface StreamOptions {
  maxMessageBytes: number;
  idleTimeoutMs: number;
  connectTimeoutMs: number;
  /** Connection ids, unique over every transport of the layer. */
  nextId: () => number;
  /** Whether a new incoming connection is admitted now (not during a handover); default always. */
  admit?: () => boolean;
}

export class StreamTransport {
  private readonly servers: Array<{ server: Server; address: string; port: number }> = [];
  private readonly connections = new Map<number, StreamConnection>();
  private readonly byRemote = new Map<string, StreamConnection>();
  /** TLS sessions of servers we connected to, by remote: a reconnect resumes (one handshake round trip less). */
  private readonly sessions = new Map<string, Buffer>();
  accepted = 0;
  idleClosed = 0;
  readonly tlsCounters: TlsCounters = { handshakes: 0, resumed: 0, handshakeFailures: 0, refused: 0 };

  constructor(
    readonly protocol: 'tcp' | 'tls',
    private readonly options: StreamOptions,
    private readonly events: StreamEvents,
    private tls?: StreamTls,
  ) {}

  get openConnections(): number {
    return this.connections.size;
  }

  listeners(): Array<{ address: string; port: number }> {
    return this.servers.map(({ address, port }) => ({ address, port }));
  }

  listen(address: string, port: number): Promise<number> {
    const server = this.createServer();
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

  private createServer(): Server {
    if (this.protocol === 'tcp')
      return netCreateServer({ noDelay: true }, (socket) => {
        if (this.options.admit?.() === false) {
          socket.destroy();
          return;
        }
        this.accepted++;
        this.adopt(socket);
      });
    const options = this.tls?.server;
    if (options === undefined) throw new Error('a TLS listener needs a certificate and key (sip.tls)');
    // Raw connections whose handshake is in progress, by remote address (the TLS socket has the raw one's).
    const pending = new Map<string, Socket>();
    const settled = (socket: Socket) =>
      pending.delete(remoteKey(socket.remoteAddress ?? '', socket.remotePort ?? 0));
    const server: TlsServer = tlsCreateServer({ ...options, noDelay: true }, (socket: TLSSocket) => {
      settled(socket);
      this.tlsCounters.handshakes++;
      if (socket.isSessionReused()) this.tlsCounters.resumed++;
      this.accepted++;
      this.adopt(socket);
    });
    // Admission: every raw connection starts a handshake, the costly part of a reconnect storm. Past the limit
    // the client is refused at once and retries later, instead of every handshake slowing to a crawl together.
    server.on('connection', (raw: Socket) => {
      if (this.options.admit?.() === false) {
        raw.destroy();
        return;
      }
      if (pending.size >= (this.tls?.maxHandshakes ?? Number.POSITIVE_INFINITY)) {
        this.tlsCounters.refused++;
        raw.destroy();
        return;
      }
      const key = remoteKey(raw.remoteAddress ?? '', raw.remotePort ?? 0);
      pending.set(key, raw);
      raw.once('close', () => {
        if (pending.get(key) === raw) pending.delete(key);
      });
    });
    server.on('tlsClientError', (_err, socket) => {
      settled(socket);
      this.tlsCounters.handshakeFailures++;
      socket.destroy();
    });
    return server;
  }

  /**
   * New certificate, key, CAs (a reload): handshakes from now on use them; established connections keep theirs.
   * `server` undefined keeps the listener's settings.
   */
  reloadTls(tls: StreamTls): void {
    this.tls = tls;
    const options = tls.server;
    if (options === undefined) return;
    for (const { server } of this.servers)
      (server as TlsServer).setSecureContext(options as SecureContextOptions);
    this.sessions.clear();
  }

  /** Sends on connection `id` if it is still open; returns false otherwise. */
  sendOn(id: number, bytes: Buffer): boolean {
    const c = this.connections.get(id);
    if (c === undefined || c.socket.destroyed) return false;
    c.socket.write(bytes);
    return true;
  }

  /** The open connection with this remote address, if any (a flow, RFC 5626). */
  hasConnectionTo(address: string, port: number): boolean {
    const c = this.byRemote.get(remoteKey(address, port));
    return c !== undefined && !c.socket.destroyed;
  }

  /** Sends to a remote address, reusing an open connection to it or opening one from our listen address. */
  sendTo(
    address: string,
    port: number,
    bytes: Buffer,
    onError?: (error: Error) => void,
    serverName?: string,
  ): void {
    const key = remoteKey(address, port);
    const existing = this.byRemote.get(key);
    if (existing !== undefined && !existing.socket.destroyed) {
      existing.socket.write(bytes);
      return;
    }
    const family = isIPv6(address) ? 6 : 4;
    const local = this.servers.find((s) => (isIPv6(s.address) ? 6 : 4) === family);
    const from = local !== undefined && !isWildcard(local.address) ? { localAddress: local.address } : {};
    const socket = this.connectOut(address, port, key, from, serverName);
    const timer = setTimeout(
      () =>
        socket.destroy(new Error(`${this.protocol.toUpperCase()} connect to ${address}:${port} timed out`)),
      this.options.connectTimeoutMs,
    );
    socket.once(this.protocol === 'tls' ? 'secureConnect' : 'connect', () => clearTimeout(timer));
    socket.once('error', (err) => {
      clearTimeout(timer);
      onError?.(err);
    });
    this.adopt(socket, address, port);
    // Node queues writes until the connection (and the TLS handshake) is up.
    socket.write(bytes);
  }

  private connectOut(
    address: string,
    port: number,
    key: string,
    from: { localAddress?: string },
    serverName: string | undefined,
  ): Socket {
    if (this.protocol === 'tcp') return netConnect({ host: address, port, noDelay: true, ...from });
    const session = this.sessions.get(key);
    const socket = tlsConnect({
      ...this.tls?.client,
      host: address,
      port,
      ...from,
      // SNI and the name checked in the certificate (an address is checked against the IP SANs).
      ...(serverName === undefined ? {} : { servername: serverName }),
      ...(session === undefined ? {} : { session }),
    });
    socket.setNoDelay(true);
    socket.on('session', (s: Buffer) => this.sessions.set(key, s));
    socket.once('secureConnect', () => this.tlsCounters.handshakes++);
    return socket;
  }

  private adopt(socket: Socket, remoteAddress?: string, remotePort?: number): void {
    const c = new StreamConnection(
      this.options.nextId(),
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
      if (this.protocol === 'tls' && remoteAddress !== undefined && !(socket as TLSSocket).encrypted)
        this.tlsCounters.handshakeFailures++;
      this.events.onConnectionFailed(c.remoteAddress, c.remotePort, err);
    });
    socket.on('close', () => {
      this.connections.delete(c.id);
      if (this.byRemote.get(key) === c) this.byRemote.delete(key);
      this.events.onClosed?.(c);
    });
  }

  /** Ends every connection, keeping the listeners; returns how many there were. */
  closeConnections(): number {
    const n = this.connections.size;
    for (const c of [...this.connections.values()]) c.socket.destroy();
    return n;
  }

  async close(): Promise<void> {
    for (const c of this.connections.values()) c.socket.destroy();
    await Promise.all(this.servers.map(({ server }) => new Promise<void>((r) => server.close(() => r()))));
    this.servers.length = 0;
  }

  /**
   * Stops accepting new connections; open ones keep working until `close`. Does not wait for them to end (the
   * close callback would: a registered phone's connection stays open for as long as the phone runs).
   */
  async stopListening(): Promise<void> {
    for (const { server } of this.servers) server.close();
  }
}

/** The key of a connection's remote end (a flow), the same for every connection-oriented transport. */
export function remoteKey(address: string, port: number): string {
  return `${address.toLowerCase()}|${port}`;
}

/** ::ffff:1.2.3.4 → 1.2.3.4, so IPv4 peers look the same whatever socket family carried them. */
export function normaliseAddress(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

function isWildcard(address: string): boolean {
  return address === '0.0.0.0' || address === '::';
}
