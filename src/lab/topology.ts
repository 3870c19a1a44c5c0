// The guide's topology as pure data: hosts A, B (the pair), C (a client) and G (gateway and witness) on a
// bridged SIP subnet, and optionally a management subnet (the two-NIC deployment). Documentation ranges only.

export type LabHostName = 'a' | 'b' | 'c' | 'g';
export type LabNic = 'sip' | 'mgmt';
export const LAB_HOSTS: readonly LabHostName[] = ['a', 'b', 'c', 'g'];

export interface LabOptions {
  /** Add the management subnet (eth1 on A, B and G). Default false. */
  twoNic?: boolean;
  /** Add IPv6 addresses next to the IPv4 ones. Default true. */
  ipv6?: boolean;
  /**
   * Give C a neighbour cache that does not expire for an hour, so that only an announcement can change an
   * entry. Default true.
   */
  longLivedClientCache?: boolean;
}

export interface LabNicInfo {
  nic: LabNic;
  /** Interface name inside the host: eth0 (SIP) or eth1 (management). */
  ifname: string;
  /** The other end of the cable, a port of the bridge in the switch namespace. */
  switchPort: string;
  bridge: string;
  mac: string;
  ipv4: string;
  ipv4Prefix: number;
  ipv6: string | undefined;
  ipv6Prefix: number;
}

export interface LabHostInfo {
  name: LabHostName;
  netns: string;
  sip: LabNicInfo;
  mgmt: LabNicInfo | undefined;
}

export interface LabTopology {
  /** Unique per run: sipha-<pid>-<hex> (or sipha-up-<hex> for a lab kept by `sipha lab up`). */
  prefix: string;
  switchNetns: string;
  twoNic: boolean;
  ipv6: boolean;
  longLivedClientCache: boolean;
  hosts: Record<LabHostName, LabHostInfo>;
  /** The Virtual IP (not configured by the lab: that is the drivers' job). */
  vip: { ipv4: string; ipv4Cidr: string; ipv6: string; ipv6Cidr: string; ifname: string };
}

const SUBNETS = {
  sip: { v4: '198.51.100', v6: '2001:db8:51', index: 0 },
  mgmt: { v4: '203.0.113', v6: '2001:db8:113', index: 1 },
} as const;
const HOST_OCTET: Record<LabHostName, number> = { g: 1, a: 11, b: 12, c: 100 };
const HOST_INDEX: Record<LabHostName, number> = { a: 1, b: 2, c: 3, g: 4 };

export function planTopology(prefix: string, opts: LabOptions = {}): LabTopology {
  const twoNic = opts.twoNic ?? false;
  const ipv6 = opts.ipv6 ?? true;
  const nicInfo = (host: LabHostName, nic: LabNic): LabNicInfo => {
    const net = SUBNETS[nic];
    return {
      nic,
      ifname: `eth${net.index}`,
      switchPort: `${host}-${nic}`,
      bridge: `br-${nic}`,
      // Fixed, readable MACs: 02:51:00:00:<host>:<nic>; each lab has its own bridges, so runs cannot clash.
      mac: `02:51:00:00:0${HOST_INDEX[host]}:0${net.index}`,
      ipv4: `${net.v4}.${HOST_OCTET[host]}`,
      ipv4Prefix: 24,
      ipv6: ipv6 ? `${net.v6}::${HOST_OCTET[host]}` : undefined,
      ipv6Prefix: 64,
    };
  };
  const host = (name: LabHostName): LabHostInfo => ({
    name,
    netns: `${prefix}-${name}`,
    sip: nicInfo(name, 'sip'),
    mgmt: twoNic && name !== 'c' ? nicInfo(name, 'mgmt') : undefined,
  });
  return {
    prefix,
    switchNetns: `${prefix}-sw`,
    twoNic,
    ipv6,
    longLivedClientCache: opts.longLivedClientCache ?? true,
    hosts: { a: host('a'), b: host('b'), c: host('c'), g: host('g') },
    vip: {
      ipv4: '198.51.100.10',
      ipv4Cidr: '198.51.100.10/24',
      ipv6: '2001:db8:51::10',
      ipv6Cidr: '2001:db8:51::10/64',
      ifname: 'eth0',
    },
  };
}

/** Every namespace of a topology, the switch last (deleting it removes all the cables). */
export function namespacesOf(t: LabTopology): string[] {
  return [...LAB_HOSTS.map((h) => t.hosts[h].netns), t.switchNetns];
}

const NAME = /^(sipha-(\d+|up)-[0-9a-f]+)-(a|b|c|g|sw)$/;

/** The run prefix and owner of a lab namespace name, or undefined for any other namespace. */
export function parseLabNetns(name: string): { prefix: string; owner: number | 'up' } | undefined {
  const m = NAME.exec(name);
  if (m === null || m[1] === undefined || m[2] === undefined) return undefined;
  return { prefix: m[1], owner: m[2] === 'up' ? 'up' : Number(m[2]) };
}
