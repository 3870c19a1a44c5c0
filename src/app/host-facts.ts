// The host's interfaces and addresses, as the config checks see them (src/app/config-check.ts).
import { existsSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import type { HostFacts } from './config-check.js';

export function hostFacts(): HostFacts {
  const interfaces: Record<string, string[]> = {};
  for (const [name, list] of Object.entries(networkInterfaces()))
    interfaces[name] = (list ?? []).map((a) => a.cidr ?? `${a.address}/${a.family === 'IPv4' ? 32 : 128}`);
  return {
    interfaces,
    // An interface without an address is missing from networkInterfaces(); Linux lists every one in sysfs.
    interfaceExists: (name) => name in interfaces || existsSync(`/sys/class/net/${name}`),
  };
}
