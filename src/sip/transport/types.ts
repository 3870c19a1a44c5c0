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

/** The sending half of the transport layer, as transactions and the proxy core see it. */
export interface MessageSender {
  /** Sends a request to `to`; a transport failure (e.g. TCP connect refused) is reported to `onError`. */
  sendRequest(request: SipRequest, to: Endpoint, onError?: SendErrorHandler): void;
  /** Sends a response back per §18.2.2, using the request's top Via and `source`. */
  sendResponse(response: SipResponse, source: Source, onError?: SendErrorHandler): void;
}

export function isReliable(transport: TransportProtocol): boolean {
  return transport === 'tcp';
}
