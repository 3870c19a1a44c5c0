// SIP over WebSocket (RFC 7118) for WebRTC clients: ws:// and wss:// listeners, the `sip` subprotocol, one SIP
// message per frame, an origin check, CRLF keep-alives. A WebSocket client cannot be connected to (§5: its Contact
// is often a `.invalid` host): a request reaches it only over the connection it opened, so a send with no open
// connection to that address fails at once — the caller answers 430/480 instead of waiting for Timer B/F.
import { createServer as createHttpServer, type Server as HttpServer, type IncomingMessage } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import type { SecureContextOptions, TLSSocket, TlsOptions } from 'node:tls';
import { type WebSocket, WebSocketServer } from 'ws';
import { normaliseAddress, remoteKey, type StreamConnectionInfo, type TlsCounters } from './stream.js';

export interface WebSocketEvents {
  onMessage(bytes: Buffer, connection: StreamConnectionInfo): void;
  onPing(): void;
  onError(error: Error): void;
  onClosed?(connection: StreamConnectionInfo): void;
}

export interface WebSocketOptions {
  maxMessageBytes: number;
  idleTimeoutMs: number;
  /** Allowed Origin header values (`https://agents.example.com`); empty: any origin. */
  allowedOrigins: readonly string[];
  maxConnections: number;
  nextId: () => number;
  /** Whether a new connection is admitted now (not during a handover); default always. */
  admit?: () => boolean;
  /** wss: the TLS server settings (certificate, key, ticket keys, client certificates). */
  tls?: TlsOptions;
}

export interface WebSocketCounters {
  accepted: number;
  /** Upgrades refused: no `sip` subprotocol, an origin not allowed, too many connections. */
  refused: number;
}

/** RFC 7118 §4.1: the WebSocket subprotocol of SIP. */
export const SIP_SUBPROTOCOL = 'sip';

class WsConnection implements StreamConnectionInfo {
  constructor(
    readonly id: number,
    readonly socket: WebSocket,
    readonly remoteAddress: string,
    readonly remotePort: number,
    readonly localAddress: string,
    readonly localPort: number,
  ) {}
}

export class WebSocketTransport {
  private readonly servers: Array<{
    http: HttpServer | HttpsServer;
    wss: WebSocketServer;
    address: string;
    port: number;
  }> = [];
  private readonly connections = new Map<number, WsConnection>();
  private readonly byRemote = new Map<string, WsConnection>();
  readonly counters: WebSocketCounters = { accepted: 0, refused: 0 };
  readonly tlsCounters: TlsCounters = { handshakes: 0, resumed: 0, handshakeFailures: 0, refused: 0 };

  constructor(
    readonly protocol: 'ws' | 'wss',
    private readonly options: WebSocketOptions,
    private readonly events: WebSocketEvents,
  ) {}

  get openConnections(): number {
    return this.connections.size;
  }

  listen(address: string, port: number): Promise<number> {
    const http = this.createHttpServer();
    const wss = new WebSocketServer({
      noServer: true,
      maxPayload: this.options.maxMessageBytes,
      // Negotiated per message, it costs CPU and memory per connection for short text: SIP over WS goes plain.
      perMessageDeflate: false,
      handleProtocols: (protocols) => (protocols.has(SIP_SUBPROTOCOL) ? SIP_SUBPROTOCOL : false),
    });
    // During a handover, at once at the TCP level: an answer after the TLS handshake and the HTTP upgrade might come
    // only after the VIP has left, and the client would wait for its connect timeout instead of retrying.
    http.on('connection', (socket: Socket) => {
      if (this.options.admit?.() === false) socket.destroy();
    });
    http.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
      const refusal = this.refusal(req);
      if (refusal !== undefined) {
        this.counters.refused++;
        socket.end(`HTTP/1.1 ${refusal}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => this.adopt(ws, req));
    });
    // A plain HTTP request (no upgrade): nothing to serve.
    http.on('request', (_req, res) => {
      res.writeHead(426, { Upgrade: 'websocket', Connection: 'Upgrade' }).end();
    });
    return new Promise((resolve, reject) => {
      http.once('error', reject);
      http.listen({ host: address, port, exclusive: true }, () => {
        http.off('error', reject);
        http.on('error', this.events.onError);
        const bound = http.address();
        const actual = typeof bound === 'object' && bound !== null ? bound.port : port;
        this.servers.push({ http, wss, address, port: actual });
        resolve(actual);
      });
    });
  }

  private createHttpServer(): HttpServer | HttpsServer {
    if (this.protocol === 'ws') return createHttpServer();
    const tls = this.options.tls;
    if (tls === undefined) throw new Error('a wss listener needs a certificate and key (sip.tls)');
    const server = createHttpsServer({ ...tls, noDelay: true });
    server.on('secureConnection', (socket: TLSSocket) => {
      this.tlsCounters.handshakes++;
      if (socket.isSessionReused()) this.tlsCounters.resumed++;
    });
    server.on('tlsClientError', (_err, socket) => {
      this.tlsCounters.handshakeFailures++;
      socket.destroy();
    });
    return server;
  }

  /** Why an upgrade is refused (an HTTP status line), or undefined to accept it. */
  private refusal(req: IncomingMessage): string | undefined {
    // RFC 7118 §4.1: the client "MUST include the value 'sip' in the Sec-WebSocket-Protocol header"; one that
    // does not speaks something else, and would read our SIP as garbage.
    const offered = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
    if (!offered.includes(SIP_SUBPROTOCOL)) return '400 SIP Subprotocol Required';
    // A browser names the page that opens the connection (RFC 6455 §10.2): only the agent desktop's own origins
    // may register its users, not any web page a user happens to visit.
    const allowed = this.options.allowedOrigins;
    if (allowed.length > 0) {
      const origin = req.headers.origin;
      if (origin === undefined || !allowed.includes(origin.toLowerCase())) return '403 Origin Not Allowed';
    }
    if (this.connections.size >= this.options.maxConnections) return '503 Too Many Connections';
    if (this.options.admit?.() === false) return '503 Handing Over';
    return undefined;
  }

  private adopt(ws: WebSocket, req: IncomingMessage): void {
    const raw = req.socket;
    this.counters.accepted++;
    const c = new WsConnection(
      this.options.nextId(),
      ws,
      normaliseAddress(raw.remoteAddress ?? ''),
      raw.remotePort ?? 0,
      normaliseAddress(raw.localAddress ?? ''),
      raw.localPort ?? 0,
    );
    this.connections.set(c.id, c);
    const key = remoteKey(c.remoteAddress, c.remotePort);
    this.byRemote.set(key, c);
    // Any traffic resets the socket's timer: a client that keeps its flow alive (CRLF or WebSocket pings) stays.
    raw.setTimeout(this.options.idleTimeoutMs, () => ws.terminate());
    ws.on('message', (data: Buffer | ArrayBuffer | Buffer[]) => {
      const bytes = Buffer.isBuffer(data)
        ? data
        : Array.isArray(data)
          ? Buffer.concat(data)
          : Buffer.from(data);
      // RFC 5626 §3.5.1 keep-alive, as WebRTC clients (SIP.js, JsSIP) send it over WebSocket: CRLFCRLF → CRLF.
      if (isCrlfPing(bytes)) {
        this.events.onPing();
        ws.send('\r\n');
        return;
      }
      if (bytes.length <= 2 && bytes.every((b) => b === 13 || b === 10)) return;
      this.events.onMessage(bytes, c);
    });
    ws.on('error', () => ws.terminate());
    ws.on('close', () => {
      this.connections.delete(c.id);
      if (this.byRemote.get(key) === c) this.byRemote.delete(key);
      this.events.onClosed?.(c);
    });
  }

  /** New certificate and key for wss (a reload); established connections keep theirs. */
  reloadTls(tls: TlsOptions): void {
    if (this.protocol !== 'wss') return;
    this.options.tls = tls;
    for (const { http } of this.servers) (http as HttpsServer).setSecureContext(tls as SecureContextOptions);
  }

  /** Sends on connection `id` if it is still open; returns false otherwise. */
  sendOn(id: number, bytes: Buffer): boolean {
    const c = this.connections.get(id);
    if (c === undefined || c.socket.readyState !== c.socket.OPEN) return false;
    // SIP is UTF-8 text: a text frame (RFC 7118 §5.1 allows either; some clients only read text).
    c.socket.send(bytes, { binary: false });
    return true;
  }

  hasConnectionTo(address: string, port: number): boolean {
    const c = this.byRemote.get(remoteKey(address, port));
    return c !== undefined && c.socket.readyState === c.socket.OPEN;
  }

  /** Sends over the open connection from that address; with none, fails (no connection can be opened to it). */
  sendTo(address: string, port: number, bytes: Buffer, onError?: (error: Error) => void): void {
    const c = this.byRemote.get(remoteKey(address, port));
    if (c !== undefined && this.sendOn(c.id, bytes)) return;
    onError?.(new FlowGoneError(this.protocol, address, port));
  }

  /** Ends every connection, keeping the listeners; returns how many there were. */
  closeConnections(): number {
    const n = this.connections.size;
    // At once, no closing handshake: its FIN must leave while this node still holds the VIP, and a client sees the
    // abnormal closure (1006) as the network's doing and reconnects (SIP.js does only then).
    for (const c of [...this.connections.values()]) c.socket.terminate();
    return n;
  }

  async close(): Promise<void> {
    for (const c of this.connections.values()) c.socket.terminate();
    await this.stopListening();
    for (const { http } of this.servers) http.closeAllConnections();
    this.servers.length = 0;
  }

  /** Stops accepting connections; open ones stay until `close` (it does not wait for them to end). */
  async stopListening(): Promise<void> {
    for (const { http, wss } of this.servers) {
      wss.close();
      http.close();
    }
  }
}

/** No open connection to a client that cannot be connected to (RFC 5626 §5.3: "the flow ... is no longer valid"). */
export class FlowGoneError extends Error {
  readonly code = 'ESIPFLOWGONE';
  constructor(transport: string, address: string, port: number) {
    super(`no ${transport.toUpperCase()} connection from ${address}:${port} (the client's flow is gone)`);
    this.name = 'FlowGoneError';
  }
}

function isCrlfPing(b: Buffer): boolean {
  return b.length === 4 && b[0] === 13 && b[1] === 10 && b[2] === 13 && b[3] === 10;
}
