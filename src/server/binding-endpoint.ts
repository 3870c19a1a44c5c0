// A binding's received endpoint as text, "udp:[2001:db8::1]:5060": how the management view shows it and how
// replication carries it (the wire keeps the text form, so a peer on the version before the typed field reads it).
import { formatHostPort, parseHostPort } from '../net/address.js';
import { type Endpoint, TRANSPORTS, type TransportProtocol } from '../sip/transport/types.js';

export function formatEndpoint(e: Endpoint): string {
  return `${e.transport}:${formatHostPort({ host: e.address, port: e.port })}`;
}

/** The inverse of `formatEndpoint`; undefined for any other text (a peer's field we cannot use is left out). */
export function parseEndpoint(text: string): Endpoint | undefined {
  const colon = text.indexOf(':');
  const transport = text.slice(0, colon) as TransportProtocol;
  if (!TRANSPORTS.includes(transport)) return undefined;
  let hostPort: { host: string; port: number };
  try {
    hostPort = parseHostPort(text.slice(colon + 1));
  } catch {
    return undefined;
  }
  return { transport, address: hostPort.host, port: hostPort.port };
}
