// Parses the configured "IP/PREFIX" into the pieces every command planner needs.
import { isIP } from 'node:net';

export interface VipAddress {
  ip: string;
  prefix: number;
  family: 4 | 6;
  /** Dotted netmask for IPv4 (netsh, AIX); undefined for IPv6. */
  netmask: string | undefined;
  /** "IP/PREFIX" as configured. */
  cidr: string;
}

export function parseVipAddress(cidr: string): VipAddress {
  const [ip = '', prefixText = '', extra] = cidr.split('/');
  const family = isIP(ip);
  const prefix = Number(prefixText);
  const max = family === 4 ? 32 : 128;
  if (
    (family !== 4 && family !== 6) ||
    extra !== undefined ||
    !/^\d{1,3}$/.test(prefixText) ||
    prefix > max
  ) {
    throw new Error(`invalid VIP address '${cidr}': expected IP/PREFIX`);
  }
  return {
    ip,
    prefix,
    family,
    netmask: family === 4 ? prefixToNetmask(prefix) : undefined,
    cidr: `${ip}/${prefix}`,
  };
}

export function prefixToNetmask(prefix: number): string {
  const bits = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return [24, 16, 8, 0].map((s) => (bits >>> s) & 0xff).join('.');
}

/** Canonical text of an IP address (lower case, IPv6 compressed) so that outputs and configs compare equal. */
export function canonicalIp(ip: string): string {
  const family = isIP(ip);
  if (family === 4) return ip;
  if (family === 6) return new URL(`http://[${ip}]/`).hostname.slice(1, -1);
  return ip;
}

/** True when a free-form output (ifconfig, netsh) names the address as a token, ignoring /prefix and %zone. */
export function outputNamesIp(text: string, ip: string): boolean {
  const want = canonicalIp(ip);
  return text
    .split(/[\s,]+/)
    .map((t) => t.replace(/^addr:/, '').replace(/[/%].*$/, ''))
    .some((t) => isIP(t) !== 0 && canonicalIp(t) === want);
}
