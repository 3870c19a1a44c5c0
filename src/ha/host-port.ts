// "ADDRESS:PORT" / "[IPv6]:PORT" as the config writes them (ha.listen, ha.peer, management.listen).
import { isIP } from 'node:net';

export interface HostPort {
  host: string;
  port: number;
  family: 4 | 6;
}

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
  return h.host.includes(':') ? `[${h.host}]:${h.port}` : `${h.host}:${h.port}`;
}
