// What the transport layer offers the layers above it (RFC 3261 §18).
import type { SipRequest, SipResponse } from '../message.js';

export type TransportProtocol = 'udp' | 'tcp';

/** A remote address a message is sent to. */
export interface Endpoint {
  transport: TransportProtocol;
  address: string;
  port: number;
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

export function isReliable(transport: TransportProtocol): boolean {
  return transport === 'tcp';
}
