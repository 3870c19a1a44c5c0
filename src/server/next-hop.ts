// Where to send a request for a URI that holds an IP address (RFC 3263 §4.1, §4.2: "If TARGET is a numeric IP
// address", no lookup). A host name is src/server/resolver/'s, asynchronously.
import { isIP } from 'node:net';
import type { Endpoint } from '../sip/transport/types.js';
import { parseUri, SipUri, type Uri } from '../sip/uri.js';

/** The transport, address and port a SIP URI designates, or undefined when it names a host to look up. */
export function nextHop(uri: Uri | string | undefined): Endpoint | undefined {
  const u = typeof uri === 'string' ? parseUri(uri) : uri;
  if (!(u instanceof SipUri)) return undefined;
  const maddr = u.params.get('maddr');
  const host = typeof maddr === 'string' && isIP(maddr) !== 0 ? maddr : u.host;
  if (isIP(host) === 0) return undefined;
  const transport = u.transport === 'tcp' || u.scheme === 'sips' ? 'tcp' : 'udp';
  return { transport, address: host, port: u.port ?? (u.scheme === 'sips' ? 5061 : 5060) };
}
