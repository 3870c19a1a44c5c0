// §18.2.2 (with RFC 3581): where a server sends a response, decided from the request's top Via and its source.
import { isIPv4, isIPv6 } from 'node:net';
import type { Via } from '../via.js';
import { type Endpoint, isReliable, type Source, type TransportProtocol, transportOfVia } from './types.js';

export interface ResponseTarget extends Endpoint {
  /** Reuse this connection if it is still open (reliable transports). */
  connectionId?: number;
}

const DEFAULT_PORT = 5060;

export function responseTarget(via: Via, source: Source): ResponseTarget {
  // A sent-protocol we do not speak (SCTP) came in by some transport of ours: answer by that one.
  const transport: TransportProtocol = transportOfVia(via.transport) ?? source.transport;
  const viaPort = via.port ?? (transport === 'tls' ? 5061 : DEFAULT_PORT);
  if (isReliable(transport)) {
    // "If the 'sent-protocol' is a reliable transport protocol ... the response MUST be sent using the existing
    // connection ... If that connection is no longer open, the server SHOULD open a connection to the IP address
    // in the 'received' parameter, if present, using the port in the 'sent-by' value". (Not for WebSocket:
    // RFC 7118 §5 — the transport layer fails such a send at once.)
    const rport = via.rport;
    const port = typeof rport === 'number' ? rport : viaPort;
    const target: ResponseTarget = { transport, address: via.received ?? via.host, port };
    if (source.connectionId !== undefined) target.connectionId = source.connectionId;
    return target;
  }
  // "Otherwise, if the Via header field value contains a 'maddr' parameter, the response MUST be forwarded to the
  // address listed there, using the port indicated in 'sent-by', or port 5060 if none is present."
  const maddr = via.maddr;
  if (maddr !== undefined && (isIPv4(maddr) || isIPv6(maddr)))
    return { transport, address: maddr, port: viaPort };
  // RFC 3581 §4: "the response MUST be sent to the IP address listed in the 'received' parameter, and the port in
  // the 'rport' parameter."
  const rport = via.rport;
  if (typeof rport === 'number' && via.received !== undefined) {
    return { transport, address: via.received, port: rport };
  }
  // "Otherwise ... if the Via has a 'received' parameter, the response MUST be sent to the address in the
  // 'received' parameter, using the port indicated in the 'sent-by' value, or using port 5060 if none is present."
  if (via.received !== undefined) return { transport, address: via.received, port: viaPort };
  // Otherwise the sent-by itself; names would need §5 of RFC 3263, which we only accept when it is an address.
  return { transport, address: via.host, port: viaPort };
}
