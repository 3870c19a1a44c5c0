// Where to send a request for a URI that holds an IP address (RFC 3263 §4.1, §4.2: "If TARGET is a numeric IP
// address", no lookup). A host name is src/server/resolver/'s, asynchronously.
import { isIP } from 'node:net';
import { type Endpoint, TRANSPORTS, type TransportProtocol } from '../sip/transport/types.js';
import { parseUri, SipUri, type Uri } from '../sip/uri.js';

/** The transport, address and port a SIP URI designates, or undefined when it names a host to look up. */
export function nextHop(uri: Uri | string | undefined): Endpoint | undefined {
  const u = typeof uri === 'string' ? parseUri(uri) : uri;
  if (!(u instanceof SipUri)) return undefined;
  const maddr = u.params.get('maddr');
  const host = typeof maddr === 'string' && isIP(maddr) !== 0 ? maddr : u.host;
  if (isIP(host) === 0) return undefined;
  const transport = uriTransport(u);
  return { transport, address: host, port: u.port ?? (transport === 'tls' ? 5061 : 5060) };
}

/**
 * The transport a URI asks for: its `transport` parameter (RFC 3261 §19.1.1; `ws`/`wss` from RFC 7118 §4.2), TLS for
 * a `sips:` URI (§26.2.2: "a SIPS URI ... MUST be reached over TLS"; `transport=tcp` there is the RFC 3261 way of
 * writing TLS, RFC 5630 §3.1.1), else UDP.
 */
export function uriTransport(u: SipUri): TransportProtocol {
  const t = u.transport?.toLowerCase();
  if (u.scheme === 'sips') return t === 'wss' || t === 'ws' ? 'wss' : 'tls';
  return t !== undefined && (TRANSPORTS as readonly string[]).includes(t) ? (t as TransportProtocol) : 'udp';
}
