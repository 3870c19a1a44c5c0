// What the transport layer offers the layers above it (RFC 3261 §18).
import type { SipRequest, SipResponse } from '../message.js';

export type TransportProtocol = 'udp' | 'tcp' | 'tls' | 'ws' | 'wss';

/** Every transport, in the order listen points are described. */
export const TRANSPORTS: readonly TransportProtocol[] = ['udp', 'tcp', 'tls', 'ws', 'wss'];

/** A remote address a message is sent to. */
export interface Endpoint {
  transport: TransportProtocol;
  address: string;
  port: number;
  /**
   * Only over a connection already open to it (a client's flow, RFC 5626 §5.3): none open fails the send at once
   * rather than connecting — a client behind NAT or a browser cannot be connected to.
   */
  flowOnly?: boolean;
}

/** Where a received message came from, and on which local socket. */
export interface Source extends Endpoint {
  localAddress: string;
  localPort: number;
  /** For TCP, the connection it arrived on (responses go back on it while it is open, §18.2.2). */
  connectionId?: number;
}

export type SendErrorHandler = (error: Error) => void;

/**
 * A response as it went out: its bytes and where they went. A server transaction keeps this, not the response, to
 * re-send it (§17.2.1, §17.2.2: a retransmitted request gets the same response again) — a few hundred bytes
 * instead of a parsed message for the 32 s of Timer J.
 */
export interface SentResponse {
  readonly status: number;
  readonly bytes: Buffer;
  readonly target: Endpoint;
}

/** The sending half of the transport layer, as transactions and the proxy core see it. */
export interface MessageSender {
  /** Sends a request to `to`; a transport failure (e.g. TCP connect refused) is reported to `onError`. */
  sendRequest(request: SipRequest, to: Endpoint, onError?: SendErrorHandler): void;
  /**
   * Sends a response back per §18.2.2, using the response's top Via and `source`; returns what re-sending it takes,
   * or undefined when it has nowhere to go (no usable Via: `onError` hears why).
   */
  sendResponse(response: SipResponse, source: Source, onError?: SendErrorHandler): SentResponse | undefined;
  /** Sends the same bytes again; over TCP on the connection `source` arrived by, if it is still open. */
  resendResponse(sent: SentResponse, source: Source, onError?: SendErrorHandler): void;
}

/** §18: every transport but UDP is a reliable, connection-oriented stream (§17.1.1.2: no retransmissions). */
export function isReliable(transport: TransportProtocol): boolean {
  return transport !== 'udp';
}

/**
 * RFC 7118 §5: a WebSocket client cannot be connected to; a request reaches it only over the connection it opened
 * (a flow, RFC 5626). No other transport has that limit from our side.
 */
export function reachableOnlyByFlow(transport: TransportProtocol): boolean {
  return transport === 'ws' || transport === 'wss';
}

/** A transport secured by TLS (`sips:` may use it, RFC 3261 §26.2, RFC 5630). */
export function isSecure(transport: TransportProtocol): boolean {
  return transport === 'tls' || transport === 'wss';
}

/** The transport of a Via's sent-protocol (`SIP/2.0/TLS`), or undefined for one we do not speak (SCTP). */
export function transportOfVia(viaTransport: string): TransportProtocol | undefined {
  const t = viaTransport.toLowerCase();
  return (TRANSPORTS as readonly string[]).includes(t) ? (t as TransportProtocol) : undefined;
}
