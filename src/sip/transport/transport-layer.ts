// The transport layer (§18): UDP, TCP, TLS and WebSocket listeners, parsing, received/rport stamping, response routing, and the
// answer to malformed input (400/505/513 when a response can be addressed, else a counted drop). Nothing thrown
// by a handler escapes into a socket callback.
import type { RemoteInfo } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { createResponse } from '../build.js';
import { Headers } from '../headers.js';
import { DEFAULT_LIMITS, type ParseLimits } from '../limits.js';
import type { SipRequest, SipResponse } from '../message.js';
import type { SipParseError } from '../parse-error.js';
import { type Framing, findHeaderEnd, parseMessage } from '../parser.js';
import { serializeMessage } from '../serializer.js';
import { parseVia } from '../via.js';
import type { ListenSpec } from './listen-uri.js';
import { responseTarget } from './response-target.js';
import { normaliseAddress, type StreamConnectionInfo, type StreamTls, StreamTransport } from './stream.js';
import type {
  Endpoint,
  MessageSender,
  SendErrorHandler,
  SentResponse,
  Source,
  TransportProtocol,
} from './types.js';
import { UdpListener } from './udp.js';
import type { ConnectedUdpOptions } from './udp-connected.js';
import { stampRequest, stampVia } from './via-stamp.js';
import { FlowGoneError, WebSocketTransport } from './websocket.js';

/** Control characters other than HTAB: never part of a well-formed header value (RFC 3261 §25.1). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: these are what it looks for
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f]/;

export interface TransportOptions {
  listen: ListenSpec[];
  limits?: ParseLimits;
  tcpIdleTimeoutMs?: number;
  tcpConnectTimeoutMs?: number;
  /** Requests over UDP leave through sockets connected to their next hop (udp-connected.ts); `false`: never. */
  udpConnected?: ConnectedUdpOptions | false;
  /** TLS (tls:// and wss:// listeners, requests sent over TLS); without it, TLS out checks with the system CAs. */
  tls?: StreamTls;
  websocket?: { allowedOrigins: readonly string[]; maxConnections: number };
  /**
   * Several SIP workers on one node (src/workers/): `shared`, the UDP listeners are one socket shared by every
   * worker (node:cluster holds it); `relayStreams`, another worker owns the TCP, TLS and WebSocket listeners and
   * connections, so none is bound here and what must leave over one goes through `streamRelay`.
   */
  workers?: { shared: boolean; relayStreams: boolean };
}

/** What a worker that owns no connections does with a message for a TCP, TLS or WebSocket peer. */
export type StreamRelay = (
  bytes: Buffer,
  to: Endpoint,
  connectionId: number | undefined,
  onError: SendErrorHandler | undefined,
) => void;

/** Hands a received message to the worker whose state it belongs to; false: handle it here. */
export type Steering = (bytes: Buffer, source: Source, framing: Framing) => boolean;

/** Connection-oriented transports as the metrics show them. */
export interface ConnectionCounts {
  open: Record<'tcp' | 'tls' | 'ws' | 'wss', number>;
  accepted: Record<'tcp' | 'tls' | 'ws' | 'wss', number>;
  tls: { handshakes: number; resumed: number; failures: number; refused: number };
  /** WebSocket upgrades refused (no `sip` subprotocol, origin, limit). */
  wsRefused: number;
}

export interface TransportCounters {
  messagesIn: number;
  requestsIn: number;
  responsesIn: number;
  messagesOut: number;
  /** Malformed messages by parse-error code. */
  parseErrors: Record<string, number>;
  /** Malformed requests answered with 400/505/513. */
  malformedAnswered: number;
  /** Malformed messages dropped because no response could be addressed (or they were responses). */
  malformedDropped: number;
  /** Exceptions thrown by the layer above while handling a message (caught here). */
  handlerErrors: number;
  /** Sends that failed at once (no route, no listener for the address family, connect refused). */
  sendErrors: number;
  /** ICMP errors and failed TCP connections: a next hop found unreachable (§18.4). */
  unreachable: number;
  keepalivesAnswered: number;
  /** Messages received here and handed to their home worker (several SIP workers). */
  steeredOut: number;
  /** Messages another worker received and handed here. */
  steeredIn: number;
}

export type RequestHandler = (request: SipRequest, source: Source) => void;
export type ResponseHandler = (response: SipResponse, source: Source) => void;
/** A next hop the socket layer found unreachable, after the send that went there returned (§18.4, §17.1.4). */
export type UnreachableHandler = (to: Endpoint, error: Error) => void;

export class TransportLayer implements MessageSender {
  onRequest: RequestHandler = () => {};
  onResponse: ResponseHandler = () => {};
  onHandlerError: (error: unknown) => void = () => {};
  /** The transaction layer fails what waits on that next hop (TransactionLayer.transportFailed). */
  onUnreachable: UnreachableHandler = () => {};
  /** A TCP, TLS or WebSocket connection closed (RFC 5626: a flow ended). */
  onConnectionClosed: (transport: TransportProtocol, connection: StreamConnectionInfo) => void = () => {};

  readonly counters: TransportCounters = {
    messagesIn: 0,
    requestsIn: 0,
    responsesIn: 0,
    messagesOut: 0,
    parseErrors: {},
    malformedAnswered: 0,
    malformedDropped: 0,
    handlerErrors: 0,
    sendErrors: 0,
    unreachable: 0,
    keepalivesAnswered: 0,
    steeredOut: 0,
    steeredIn: 0,
  };
  /** Several SIP workers: where a received message belongs (src/workers/steering.ts). */
  steer: Steering | undefined;
  /** Several SIP workers, in one that owns no connections: sends over TCP, TLS, WebSocket go through it. */
  streamRelay: StreamRelay | undefined;

  private readonly limits: ParseLimits;
  private readonly udp: UdpListener[] = [];
  private readonly tcp: StreamTransport;
  private readonly tls: StreamTransport;
  private readonly ws: WebSocketTransport;
  private readonly wss: WebSocketTransport;
  private readonly bound: ListenSpec[] = [];
  private lastConnectionId = 0;
  /** performance.now() until which new connections are refused (a handover in progress). */
  private refuseUntil = 0;

  constructor(private readonly options: TransportOptions) {
    this.limits = options.limits ?? DEFAULT_LIMITS;
    const nextId = () => ++this.lastConnectionId;
    const admit = () => performance.now() >= this.refuseUntil;
    const streamOptions = {
      maxMessageBytes: this.limits.maxMessageBytes,
      idleTimeoutMs: options.tcpIdleTimeoutMs ?? 600_000,
      connectTimeoutMs: options.tcpConnectTimeoutMs ?? 5000,
      nextId,
      admit,
    };
    const streamEvents = (transport: 'tcp' | 'tls') => ({
      onMessage: (bytes: Buffer, c: StreamConnectionInfo) =>
        this.receive(bytes, connectionSource(transport, c), 'stream'),
      onFramingError: (reason: 'too-large' | 'bad-content-length', head: Buffer, c: StreamConnectionInfo) =>
        this.onFramingError(reason, head, connectionSource(transport, c)),
      onPing: () => this.counters.keepalivesAnswered++,
      onError: () => this.counters.sendErrors++,
      onConnectionFailed: (address: string, port: number, err: Error) =>
        this.unreachable(transport, address, port, err),
      onClosed: (c: StreamConnectionInfo) => this.guarded(() => this.onConnectionClosed(transport, c)),
    });
    this.tcp = new StreamTransport('tcp', streamOptions, streamEvents('tcp'));
    this.tls = new StreamTransport(
      'tls',
      streamOptions,
      streamEvents('tls'),
      options.tls ?? { client: {}, maxHandshakes: 256 },
    );
    const wsEvents = (transport: 'ws' | 'wss') => ({
      onMessage: (bytes: Buffer, c: StreamConnectionInfo) =>
        this.receive(bytes, connectionSource(transport, c), 'datagram'),
      onPing: () => this.counters.keepalivesAnswered++,
      onError: () => this.counters.sendErrors++,
      onClosed: (c: StreamConnectionInfo) => this.guarded(() => this.onConnectionClosed(transport, c)),
    });
    const wsOptions = {
      maxMessageBytes: this.limits.maxMessageBytes,
      idleTimeoutMs: options.tcpIdleTimeoutMs ?? 600_000,
      allowedOrigins: (options.websocket?.allowedOrigins ?? []).map((o) => o.toLowerCase()),
      maxConnections: options.websocket?.maxConnections ?? 100_000,
      nextId,
      admit,
    };
    this.ws = new WebSocketTransport('ws', wsOptions, wsEvents('ws'));
    const serverTls = options.tls?.server;
    this.wss = new WebSocketTransport(
      'wss',
      { ...wsOptions, ...(serverTls === undefined ? {} : { tls: serverTls }) },
      wsEvents('wss'),
    );
  }

  /** The transport that carries `transport` messages over connections. */
  private connected(transport: Exclude<TransportProtocol, 'udp'>): StreamTransport | WebSocketTransport {
    switch (transport) {
      case 'tcp':
        return this.tcp;
      case 'tls':
        return this.tls;
      case 'ws':
        return this.ws;
      case 'wss':
        return this.wss;
    }
  }

  /** New TLS certificate, key, CAs (a reload): new handshakes use them, established connections keep theirs. */
  reloadTls(tls: StreamTls): void {
    this.tls.reloadTls(tls);
    if (tls.server !== undefined) this.wss.reloadTls(tls.server);
  }

  /** Whether a message to `to` can leave now over an open connection (a flow, RFC 5626) — UDP always can. */
  hasFlow(to: Endpoint): boolean {
    // The worker that owns the connections knows; a send to a flow gone fails there and is reported back.
    if (this.streamRelay !== undefined) return true;
    return to.transport === 'udp' || this.connected(to.transport).hasConnectionTo(to.address, to.port);
  }

  get connectionCounts(): ConnectionCounts {
    const all = [this.tls, this.wss];
    return {
      open: {
        tcp: this.tcp.openConnections,
        tls: this.tls.openConnections,
        ws: this.ws.openConnections,
        wss: this.wss.openConnections,
      },
      accepted: {
        tcp: this.tcp.accepted,
        tls: this.tls.accepted,
        ws: this.ws.counters.accepted,
        wss: this.wss.counters.accepted,
      },
      tls: {
        handshakes: all.reduce((n, t) => n + t.tlsCounters.handshakes, 0),
        resumed: all.reduce((n, t) => n + t.tlsCounters.resumed, 0),
        failures: all.reduce((n, t) => n + t.tlsCounters.handshakeFailures, 0),
        refused: all.reduce((n, t) => n + t.tlsCounters.refused, 0),
      },
      wsRefused: this.ws.counters.refused + this.wss.counters.refused,
    };
  }

  async start(): Promise<void> {
    for (const spec of this.options.listen) {
      if (spec.transport === 'udp') {
        const l = new UdpListener(
          spec.address,
          spec.port,
          {
            onDatagram: (bytes, remote, listener) => this.onDatagram(bytes, remote, listener),
            onSocketError: () => this.counters.sendErrors++,
            onUnreachable: (address, port, err) => this.unreachable('udp', address, port, err),
          },
          this.options.udpConnected,
          this.options.workers?.shared === true,
        );
        await l.start();
        this.udp.push(l);
        this.bound.push({ ...spec, port: l.port });
      } else if (this.options.workers?.relayStreams === true) {
        // Another worker listens; this one names the same point in its Via and Record-Route.
        this.bound.push(spec);
      } else {
        const port = await this.connected(spec.transport).listen(spec.address, spec.port);
        this.bound.push({ ...spec, port });
      }
    }
  }

  /** The listen points with their real ports (a configured port 0 becomes the one the OS chose). */
  get listening(): readonly ListenSpec[] {
    return this.bound;
  }

  get tcpConnections(): number {
    return this.tcp.openConnections;
  }

  /** Open connections over every connection-oriented transport. */
  get openConnections(): number {
    return (
      this.tcp.openConnections + this.tls.openConnections + this.ws.openConnections + this.wss.openConnections
    );
  }

  /** UDP sockets connected to a next hop, over all listeners. */
  get udpConnectedSockets(): number {
    return this.udp.reduce((n, l) => n + l.connectedSockets, 0);
  }

  /**
   * Ends every TCP, TLS and WebSocket connection, keeping the listeners: a demoted primary's connections lead to an
   * address it no longer holds, and their clients must reconnect to the VIP — the new primary — now, not when they
   * next send something (an idle WebRTC client may not for minutes). Returns how many there were.
   */
  closeConnections(): number {
    return [this.tcp, this.tls, this.ws, this.wss].reduce((n, t) => n + t.closeConnections(), 0);
  }

  /** New connections are closed at once for `ms` (a handover: the VIP is about to move). */
  refuseConnectionsFor(ms: number): void {
    this.refuseUntil = performance.now() + ms;
  }

  /** Stops accepting connections; UDP keeps answering (used for a graceful stop). */
  async stopAccepting(): Promise<void> {
    await Promise.all([this.tcp, this.tls, this.ws, this.wss].map((t) => t.stopListening()));
  }

  async stop(): Promise<void> {
    await Promise.all(this.udp.map((l) => l.close()));
    this.udp.length = 0;
    await Promise.all([this.tcp, this.tls, this.ws, this.wss].map((t) => t.close()));
  }

  sendRequest(request: SipRequest, to: Endpoint, onError?: SendErrorHandler): void {
    this.send(serializeMessage(request), to, undefined, onError);
  }

  sendResponse(response: SipResponse, source: Source, onError?: SendErrorHandler): SentResponse | undefined {
    const via = response.via;
    if (via === undefined) {
      this.fail(new Error('response without a usable Via'), onError);
      return undefined;
    }
    const { connectionId, ...target } = responseTarget(via, source);
    const bytes = serializeMessage(response);
    this.send(bytes, target, source, onError, connectionId);
    return { status: response.status, bytes, target };
  }

  resendResponse(sent: SentResponse, source: Source, onError?: SendErrorHandler): void {
    this.send(sent.bytes, sent.target, source, onError, source.connectionId);
  }

  /** `via` is set for a response: the source of the request it answers. */
  private send(
    bytes: Buffer,
    to: Endpoint,
    via: Source | undefined,
    onError?: SendErrorHandler,
    connectionId?: number,
  ): void {
    const fail = (err: Error) => this.fail(err, onError);
    this.counters.messagesOut++;
    if (to.transport === 'udp') {
      const socket = this.pickUdp(to.address, via);
      if (socket === undefined) fail(new Error(`no UDP listener for ${to.address}`));
      else if (via === undefined) socket.sendRequest(bytes, to.port, to.address, fail);
      else socket.send(bytes, to.port, to.address, fail);
      return;
    }
    if (this.streamRelay !== undefined) {
      this.streamRelay(bytes, to, connectionId, onError === undefined ? undefined : fail);
      return;
    }
    this.sendStream(bytes, to, fail, connectionId);
  }

  /** A sibling worker's message for a TCP, TLS or WebSocket peer, sent by this worker that owns the connections. */
  sendForSibling(
    bytes: Buffer,
    to: Endpoint,
    connectionId: number | undefined,
    onError: SendErrorHandler,
  ): void {
    this.counters.messagesOut++;
    this.sendStream(bytes, to, (err) => this.fail(err, onError), connectionId);
  }

  /** A message another worker received, whose home is this one: handled as if it had arrived here. */
  receiveFromSibling(bytes: Buffer, source: Source, framing: Framing): void {
    this.counters.steeredIn++;
    this.receive(bytes, source, framing, false);
  }

  private sendStream(
    bytes: Buffer,
    to: Endpoint,
    fail: (err: Error) => void,
    connectionId: number | undefined,
  ): void {
    if (to.transport === 'udp') return;
    const t = this.connected(to.transport);
    if (connectionId !== undefined && t.sendOn(connectionId, bytes)) return;
    // RFC 5626 §5.3: a flow is not re-created from this side; its client reconnects and registers again.
    if (to.flowOnly === true && !t.hasConnectionTo(to.address, to.port)) {
      fail(new FlowGoneError(to.transport, to.address, to.port));
      return;
    }
    if (t instanceof StreamTransport) t.sendTo(to.address, to.port, bytes, fail, to.serverName);
    else t.sendTo(to.address, to.port, bytes, fail);
  }

  /**
   * A send failed. The sender hears it after its own call has returned, never from inside it (a transaction that
   * fails while it is being created is still unknown to its caller then), and nothing it throws reaches a socket.
   */
  private fail(err: Error, onError: SendErrorHandler | undefined): void {
    this.counters.sendErrors++;
    if (onError !== undefined) queueMicrotask(() => this.guarded(() => onError(err)));
  }

  private unreachable(transport: TransportProtocol, address: string, port: number, err: Error): void {
    this.counters.unreachable++;
    this.guarded(() => this.onUnreachable({ transport, address: normaliseAddress(address), port }, err));
  }

  private guarded(run: () => void): void {
    try {
      run();
    } catch (err) {
      this.counters.handlerErrors++;
      try {
        this.onHandlerError(err);
      } catch {
        // A failing error reporter must not take the socket down either.
      }
    }
  }

  /** Responses leave from the socket the request came in on (the VIP in HA mode); requests from the first of the family. */
  private pickUdp(address: string, via: Source | undefined): UdpListener | undefined {
    if (via !== undefined) {
      const same = this.udp.find((l) => l.port === via.localPort && sameAddress(l.address, via.localAddress));
      if (same !== undefined) return same;
    }
    const family = isIPv6(address) ? 6 : 4;
    return this.udp.find((l) => l.family === family);
  }

  private onDatagram(bytes: Buffer, remote: RemoteInfo, listener: UdpListener): void {
    // RFC 5626 keep-alive over UDP is STUN, not CRLF; a bare CRLF datagram is just ignored.
    if (bytes.length <= 4 && bytes.every((b) => b === 13 || b === 10)) return;
    const source: Source = {
      transport: 'udp',
      address: normaliseAddress(remote.address),
      port: remote.port,
      localAddress: listener.address,
      localPort: listener.port,
    };
    this.receive(bytes, source, 'datagram');
  }

  private receive(bytes: Buffer, source: Source, framing: Framing, steer = true): void {
    if (steer && this.steer?.(bytes, source, framing) === true) {
      this.counters.steeredOut++;
      return;
    }
    this.counters.messagesIn++;
    this.guarded(() => {
      const result = parseMessage(bytes, this.limits, framing);
      if (!result.ok) {
        this.rejectMalformed(result.error, source, bytes);
        return;
      }
      const message = result.message;
      if (message.kind === 'request') {
        this.counters.requestsIn++;
        stampRequest(message, source.address, source.port);
        this.onRequest(message, source);
      } else {
        this.counters.responsesIn++;
        this.onResponse(message, source);
      }
    });
  }

  private rejectMalformed(error: SipParseError, source: Source, bytes?: Buffer): void {
    this.counters.parseErrors[error.code] = (this.counters.parseErrors[error.code] ?? 0) + 1;
    // Too large: the size check comes first, so read the head (bounded) to learn where a 513 could go.
    const head = error.code === 'too-large' && bytes !== undefined ? headOf(bytes, this.limits) : error;
    const headers = head?.headers;
    // §8.2 / §18: only requests get an answer, never an ACK, and only when the top Via tells us where to send it.
    const topVia = headers?.first('via');
    const via = topVia === undefined ? undefined : parseVia(topVia);
    if (
      head?.startLine !== 'request' ||
      head.method === 'ACK' ||
      headers === undefined ||
      topVia === undefined
    ) {
      this.counters.malformedDropped++;
      return;
    }
    if (via === undefined) {
      // The top Via itself is malformed (RFC 4475 §3.1.2.1): §18.2.2 has nothing to go by, so the 400 goes back
      // where the request came from, on its connection for TCP.
      const response = createResponse(
        { headers: new Headers(headers.fields.map((f) => ({ ...f }))) },
        error.status,
        error.reason,
      );
      this.counters.malformedAnswered++;
      this.send(serializeMessage(response), source, source, undefined, source.connectionId);
      return;
    }
    const stamped = stampVia(via, source.address, source.port);
    // A value with a control character (a bare CR, NUL — what made the request malformed, often) is not echoed:
    // a receiver that ends lines at a bare CR would read the rest as header fields of our 400 (§7.3.1, §25.1).
    const copy = new Headers(headers.fields.filter((f) => !CONTROL.test(f.value)).map((f) => ({ ...f })));
    if (stamped !== undefined) copy.replaceFirst('via', stamped.toString());
    const response = createResponse({ headers: copy }, error.status, error.reason);
    this.counters.malformedAnswered++;
    this.sendResponse(response, source);
  }

  private onFramingError(reason: 'too-large' | 'bad-content-length', head: Buffer, source: Source): void {
    this.counters.messagesIn++;
    // Parse the head alone (as a datagram) to learn whether and where a 400/513 can be sent.
    const parsed = parseMessage(
      head,
      { ...this.limits, maxMessageBytes: Number.MAX_SAFE_INTEGER },
      'datagram',
    );
    if (parsed.ok) {
      if (parsed.message.kind === 'response') {
        this.counters.parseErrors[reason] = (this.counters.parseErrors[reason] ?? 0) + 1;
        this.counters.malformedDropped++;
        return;
      }
      const code = reason === 'too-large' ? 513 : 400;
      const phrase = reason === 'too-large' ? 'Message Too Large' : 'Missing Or Bad Content-Length';
      this.counters.parseErrors[reason] = (this.counters.parseErrors[reason] ?? 0) + 1;
      if (parsed.message.method === 'ACK') {
        this.counters.malformedDropped++;
        return;
      }
      stampRequest(parsed.message, source.address, source.port);
      this.counters.malformedAnswered++;
      this.sendResponse(createResponse(parsed.message, code, phrase), source);
      return;
    }
    this.rejectMalformed(parsed.error, source);
  }
}

interface HeadInfo {
  startLine: 'request' | 'response' | undefined;
  method: string | undefined;
  headers: Headers | undefined;
}

/** What the head of an oversized message says, read within the size limit. */
function headOf(bytes: Buffer, limits: ParseLimits): HeadInfo | undefined {
  const end = findHeaderEnd(bytes.subarray(0, limits.maxMessageBytes));
  if (end === undefined) return undefined;
  const head = parseMessage(bytes.subarray(0, end.bodyStart), limits, 'datagram');
  if (!head.ok) return head.error;
  const m = head.message;
  return m.kind === 'request'
    ? { startLine: 'request', method: m.method, headers: m.headers }
    : { startLine: 'response', method: undefined, headers: m.headers };
}

function connectionSource(transport: TransportProtocol, c: StreamConnectionInfo): Source {
  return {
    transport,
    address: c.remoteAddress,
    port: c.remotePort,
    localAddress: c.localAddress,
    localPort: c.localPort,
    connectionId: c.id,
  };
}

function sameAddress(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}
