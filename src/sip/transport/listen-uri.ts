// `udp://ADDRESS:PORT` / `tls://[IPv6]:PORT` / `wss://ADDRESS:PORT` listen specifications from the config.
import { isIP } from 'node:net';
import type { TransportProtocol } from './types.js';

export interface ListenSpec {
  transport: TransportProtocol;
  address: string;
  port: number;
}

export function parseListenUri(text: string): ListenSpec | undefined {
  const m = /^(udp|tcp|tls|wss|ws):\/\/(?:\[([0-9a-fA-F:.]+)\]|([^:/\s[\]]+)):(\d{1,5})$/.exec(text);
  if (m === null) return undefined;
  const address = m[2] ?? m[3]!;
  const port = Number(m[4]);
  if (isIP(address) === 0 || port > 65535) return undefined;
  if (m[2] !== undefined && isIP(address) !== 6) return undefined;
  return { transport: m[1] as TransportProtocol, address, port };
}
