// Addresses and endpoints, written the one way every layer writes them: "ADDRESS:PORT" / "[IPv6]:PORT" as the
// config and logs do, and an IPv6 host bracketed wherever it goes into a URI, Via or Record-Route (RFC 3261 §25.1
// "IPv6reference"). A leaf module: it imports nothing of ours.
import { isIP } from 'node:net';

export interface HostPort {
  host: string;
  port: number;
  family: 4 | 6;
}

/** True for an IPv6 literal (the only host form that contains a colon). */
export function isIpv6(host: string): boolean {
  return host.includes(':');
}

/** 4 or 6, by the host's form (a name counts as 4, the family a socket would take). */
export function familyOf(host: string): 4 | 6 {
  return isIpv6(host) ? 6 : 4;
}

/** The dgram socket type for a local or remote address. */
export function udpType(host: string): 'udp4' | 'udp6' {
  return isIpv6(host) ? 'udp6' : 'udp4';
}

/** The host as it goes into a URI, Via or Record-Route: IPv6 in brackets. */
export function hostRef(host: string): string {
  return isIpv6(host) ? `[${host}]` : host;
}

/** Parses "ADDRESS:PORT" / "[IPv6]:PORT" with an IP address (ha.listen, ha.peer, management.listen). */
export function parseHostPort(s: string): HostPort {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:/\s]+)):(\d{1,5})$/.exec(s);
  const host = m?.[1] ?? m?.[2];
  const port = Number(m?.[3]);
  if (host === undefined || !(port > 0 && port < 65536)) throw new Error(`not ADDRESS:PORT: ${s}`);
  const family = isIP(host);
  if (family === 0) throw new Error(`not an IP address: ${host}`);
  return { host, port, family: family === 6 ? 6 : 4 };
}

export function formatHostPort(h: { host: string; port: number }): string {
  return `${hostRef(h.host)}:${h.port}`;
}
