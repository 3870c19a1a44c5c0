// The guide's topology as pure data: hosts A, B (the pair), C (a client) and G (gateway and witness) on a
// bridged SIP subnet, and optionally a management subnet (the two-NIC deployment) and a home network behind a
// NAT router: N (masquerading router, on the SIP subnet) and P (a phone on N's private LAN). Documentation ranges
// only, and RFC 1918 192.168.51.0/24 for the LAN.

export type LabHostName = 'a' | 'b' | 'c' | 'g' | 'n' | 'p';
export type LabNic = 'sip' | 'mgmt' | 'lan';
/** The hosts of every lab; N and P only with `nat` (see `labHosts`). */
export const LAB_HOSTS: readonly LabHostName[] = ['a', 'b', 'c', 'g'];
const NAT_HOSTS: readonly LabHostName[] = ['n', 'p'];

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
  /** Add the NAT router N and the phone P behind it (nftables masquerade). Default false. */
  nat?: boolean;
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
  /** The host's SIP-side NIC (for P, its only NIC, on the private LAN). */
  sip: LabNicInfo;
  mgmt: LabNicInfo | undefined;
  /** N only: its NIC on the private LAN. */
  lan?: LabNicInfo;
}

export interface LabTopology {
  /** Unique per run: sipha-<pid>-<hex> (or sipha-up-<hex> for a lab kept by `sipha lab up`). */
  prefix: string;
  switchNetns: string;
  twoNic: boolean;
  ipv6: boolean;
  longLivedClientCache: boolean;
  nat: boolean;
  /** N and P exist only when `nat` is set. */
  hosts: Record<LabHostName, LabHostInfo>;
  /** The Virtual IP (not configured by the lab: that is the drivers' job). */
  vip: { ipv4: string; ipv4Cidr: string; ipv6: string; ipv6Cidr: string; ifname: string };
}

const SUBNETS = {
  sip: { v4: '198.51.100', v6: '2001:db8:51', index: 0 },
  mgmt: { v4: '203.0.113', v6: '2001:db8:113', index: 1 },
  lan: { v4: '192.168.51', v6: undefined, index: 1 },
} as const;
const HOST_OCTET: Record<LabHostName, number> = { g: 1, a: 11, b: 12, c: 100, n: 254, p: 10 };
const HOST_INDEX: Record<LabHostName, number> = { a: 1, b: 2, c: 3, g: 4, n: 5, p: 6 };
/** The NAT router's address on its LAN: the phone's default gateway. */
export const LAN_GATEWAY = '192.168.51.1';

export function planTopology(prefix: string, opts: LabOptions = {}): LabTopology {
  const twoNic = opts.twoNic ?? false;
  const ipv6 = opts.ipv6 ?? true;
  const nicInfo = (host: LabHostName, nic: LabNic, ifindex: number = SUBNETS[nic].index): LabNicInfo => {
    const net = SUBNETS[nic];
    return {
      nic,
      ifname: `eth${ifindex}`,
      switchPort: `${host}-${nic}`,
      bridge: `br-${nic}`,
      // Fixed, readable MACs: 02:51:00:00:<host>:<nic>; each lab has its own bridges, so runs cannot clash.
      mac: `02:51:00:00:0${HOST_INDEX[host]}:0${ifindex}`,
      ipv4: host === 'n' && nic === 'lan' ? LAN_GATEWAY : `${net.v4}.${HOST_OCTET[host]}`,
      ipv4Prefix: 24,
      ipv6: ipv6 && net.v6 !== undefined ? `${net.v6}::${HOST_OCTET[host]}` : undefined,
      ipv6Prefix: 64,
    };
  };
  const host = (name: LabHostName): LabHostInfo => ({
    name,
    netns: `${prefix}-${name}`,
    // P's only NIC is on the LAN; N has a SIP-side NIC and a LAN one (eth1, or eth2 beside a management NIC).
    sip: name === 'p' ? nicInfo(name, 'lan', 0) : nicInfo(name, 'sip'),
    mgmt: twoNic && (name === 'a' || name === 'b' || name === 'g') ? nicInfo(name, 'mgmt') : undefined,
    lan: name === 'n' ? nicInfo(name, 'lan', 2) : undefined,
  });
  return {
    prefix,
    switchNetns: `${prefix}-sw`,
    twoNic,
    ipv6,
    longLivedClientCache: opts.longLivedClientCache ?? true,
    nat: opts.nat ?? false,
    hosts: { a: host('a'), b: host('b'), c: host('c'), g: host('g'), n: host('n'), p: host('p') },
    vip: {
      ipv4: '198.51.100.10',
      ipv4Cidr: '198.51.100.10/24',
      ipv6: '2001:db8:51::10',
      ipv6Cidr: '2001:db8:51::10/64',
      ifname: 'eth0',
    },
  };
}

/** The hosts this lab has. */
export function labHosts(t: LabTopology): LabHostName[] {
  return t.nat ? [...LAB_HOSTS, ...NAT_HOSTS] : [...LAB_HOSTS];
}

/** Every namespace of a topology, the switch last (deleting it removes all the cables). */
export function namespacesOf(t: LabTopology): string[] {
  return [...labHosts(t).map((h) => t.hosts[h].netns), t.switchNetns];
}

const NAME = /^(sipha-(\d+|up)-[0-9a-f]+)-(a|b|c|g|n|p|sw)$/;

/** The run prefix and owner of a lab namespace name, or undefined for any other namespace. */
export function parseLabNetns(name: string): { prefix: string; owner: number | 'up' } | undefined {
  const m = NAME.exec(name);
  if (m === null || m[1] === undefined || m[2] === undefined) return undefined;
  return { prefix: m[1], owner: m[2] === 'up' ? 'up' : Number(m[2]) };
}
