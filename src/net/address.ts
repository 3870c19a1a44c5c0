// Addresses and endpoints, written the one way every layer writes them: "ADDRESS:PORT" / "[IPv6]:PORT" as the
// config and logs do, and an IPv6 host bracketed wherever it goes into a URI, Via or Record-Route (RFC 3261 §25.1
// "IPv6reference"). A leaf module: it imports nothing of ours.
import { BlockList, isIP } from 'node:net';

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

/** "ADDRESS" or "ADDRESS/PREFIX" (IPv4 or IPv6, a prefix within the family's length), or undefined. */
export function parseCidr(s: string): { address: string; prefix: number; family: 4 | 6 } | undefined {
  const slash = s.indexOf('/');
  const address = slash === -1 ? s : s.slice(0, slash);
  const family = isIP(address);
  if (family === 0) return undefined;
  const bits = family === 6 ? 128 : 32;
  const prefixText = slash === -1 ? String(bits) : s.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > bits) return undefined;
  return { address, prefix: Number(prefixText), family: family === 6 ? 6 : 4 };
}

/**
 * A set of addresses and networks ("ADDRESS" / "ADDRESS/PREFIX", IPv4 and IPv6) to test a source address
 * against; an IPv4-mapped IPv6 address (::ffff:192.0.2.1, as a dual-stack socket reports it) matches its IPv4
 * entry. Throws on an entry that is neither.
 */
export class AddressSet {
  private readonly list = new BlockList();
  readonly size: number;

  constructor(entries: readonly string[]) {
    for (const entry of entries) {
      const c = parseCidr(entry);
      if (c === undefined) throw new Error(`not an IP address or ADDRESS/PREFIX: ${entry}`);
      this.list.addSubnet(c.address, c.prefix, c.family === 6 ? 'ipv6' : 'ipv4');
    }
    this.size = entries.length;
  }

  has(address: string): boolean {
    const family = isIP(address);
    if (family === 0 || this.size === 0) return false;
    return this.list.check(address, family === 6 ? 'ipv6' : 'ipv4');
  }
}

const LOOPBACK = new AddressSet(['127.0.0.0/8', '::1']);

/** Whether an address is a loopback address (127.0.0.0/8, ::1); a wildcard (0.0.0.0, ::) is not. */
export function isLoopback(address: string): boolean {
  return LOOPBACK.has(address);
}

/**
 * Addresses that are not reachable from the public side of a NAT: RFC 1918 private networks, RFC 6598 shared
 * address space (carrier-grade NAT), RFC 4193 unique local IPv6, and link-local (RFC 3927, RFC 4291).
 */
const PRIVATE = new AddressSet([
  '10.0.0.0/8',
  '172.16.0.0/12',
  '192.168.0.0/16',
  '100.64.0.0/10',
  '169.254.0.0/16',
  'fc00::/7',
  'fe80::/10',
]);

export function isPrivateAddress(address: string): boolean {
  return PRIVATE.has(address);
}
