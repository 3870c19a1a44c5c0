// The checks a config must pass before anything binds, beyond its schema: what `sipha config check` prints and what
// `sipha start` refuses to run with. Each finding names its key. Pure: what the host has (its interfaces and their
// addresses) comes in as facts, so every rule is tested without a host to match.
//
// | key                   | finding                                                                               |
// |-----------------------|---------------------------------------------------------------------------------------|
// | sip.listen[i]         | port outside 1–65535 (0 would listen on a random port); the same entry twice          |
// | vip.address           | (HA) not the address of any sip.listen entry: phones would reach a VIP nobody serves  |
// | vip.interface         | (HA, linux driver) no such interface on this host; no address of it in the VIP's subnet |
// | ha.listen[i]          | not an address of this host (ip_nonlocal_bind lets the bind succeed, nothing arrives) |
// | management.listen     | port outside 1–65535; not an address of this host                                     |
// | management            | without ha: the standalone server has no management API                               |
import { isIP } from 'node:net';
import { ConfigError } from '../config/load.js';
import type { SiphaConfig } from '../config/schema.js';
import { inSubnet } from '../monitor/sip-addresses.js';
import { parseHostPort } from '../net/address.js';
import { parseListenUri } from '../sip/transport/listen-uri.js';

/** What the host has, as far as the checks need it. */
export interface HostFacts {
  /** Interface name → its addresses as CIDR (`198.51.100.1/24`), as os.networkInterfaces() reports them. */
  interfaces: Record<string, readonly string[]>;
  /** Whether an interface exists (it may have no address yet). */
  interfaceExists(name: string): boolean;
}

export function checkConfig(config: SiphaConfig, file: string, host: HostFacts): ConfigError[] {
  const problems: ConfigError[] = [];
  const fail = (key: string, problem: string) => problems.push(new ConfigError(file, key, problem));
  const local = new Set(Object.values(host.interfaces).flatMap((cidrs) => cidrs.map((c) => bare(c))));
  const isLocal = (address: string) => isWildcard(address) || local.has(bare(address));

  const seen = new Map<string, number>();
  config.sip.listen.forEach((text, i) => {
    const key = `sip.listen[${i}]`;
    const port = Number(/:(\d+)$/.exec(text)?.[1] ?? -1);
    if (port < 1 || port > 65535) {
      fail(key, `port ${port} is outside 1-65535${port === 0 ? ' (0 would listen on a random port)' : ''}`);
      return;
    }
    const spec = parseListenUri(text);
    if (spec === undefined) {
      fail(key, `${text} is not TRANSPORT://ADDRESS:PORT with an IP address`);
      return;
    }
    const id = `${spec.transport}|${bare(spec.address)}|${spec.port}`;
    const first = seen.get(id);
    if (first !== undefined) fail(key, `the same as sip.listen[${first}]`);
    else seen.set(id, i);
  });

  const { vip, ha, management } = config;
  if (ha !== undefined && vip !== undefined) {
    const vipAddress = bare(vip.address.split('/')[0] ?? '');
    const listens = config.sip.listen.map((l) => parseListenUri(l)).filter((s) => s !== undefined);
    if (!listens.some((s) => bare(s.address) === vipAddress))
      fail(
        'vip.address',
        `${vipAddress} is not the address of any sip.listen entry: nothing would serve the VIP`,
      );
    if (vip.driver === 'linux') {
      if (!host.interfaceExists(vip.interface))
        fail('vip.interface', `no interface ${vip.interface} on this host`);
      else {
        const own = (host.interfaces[vip.interface] ?? []).filter((c) => isIP(bare(c)) === isIP(vipAddress));
        // The VIP is added to a NIC on its subnet: a host address there is what makes the announcements and the
        // replies leave by that NIC.
        if (own.length > 0 && !own.some((c) => inSubnet(bare(c), vip.address)))
          fail(
            'vip.interface',
            `${vip.interface} has no address in ${vip.address} (it has ${own.join(', ')}): the VIP would not be reachable there`,
          );
      }
    }
    ha.listen.forEach((text, i) => {
      const address = safeHost(text);
      if (address !== undefined && !isLocal(address))
        fail(`ha.listen[${i}]`, `${address} is not an address of this host`);
    });
  }
  if (management !== undefined) {
    if (ha === undefined) fail('management', 'works only with ha: a standalone server has no management API');
    const port = Number(/:(\d+)$/.exec(management.listen)?.[1] ?? -1);
    if (port < 1 || port > 65535) fail('management.listen', `port ${port} is outside 1-65535`);
    const address = safeHost(management.listen);
    if (address !== undefined && !isLocal(address))
      fail('management.listen', `${address} is not an address of this host`);
  }
  return problems;
}

function safeHost(hostPort: string): string | undefined {
  try {
    return parseHostPort(hostPort).host;
  } catch {
    return undefined;
  }
}

/** "198.51.100.1/24" or "[2001:db8::1]" → the address alone, lower case, without a zone. */
function bare(a: string): string {
  return a
    .replace(/\/\d+$/, '')
    .replace(/^\[|\]$/g, '')
    .replace(/%.*$/, '')
    .toLowerCase();
}

function isWildcard(address: string): boolean {
  return address === '0.0.0.0' || address === '::';
}
