// The guide's topology as pure data: hosts A, B (the pair), C (a client) and G (gateway and witness) on a
// bridged SIP subnet, and optionally a management subnet (the two-NIC deployment) and a home network behind a
// NAT router: N (masquerading router, on the SIP subnet) and P (a phone on N's private LAN). Documentation ranges
// only, and RFC 1918 192.168.51.0/24 for the LAN. Cluster mode adds more pairs (A2/B2, A3/B3, each with its own
// VIP) and the etcd members E1..E3, all on the SIP subnet (and the management one with two NICs).

/** The hosts of the extra pairs and the etcd members (cluster labs only). */
export type ClusterHostName = 'a2' | 'b2' | 'a3' | 'b3' | 'e1' | 'e2' | 'e3';
export type LabHostName = 'a' | 'b' | 'c' | 'g' | 'n' | 'p' | ClusterHostName;
export type LabNic = 'sip' | 'mgmt' | 'lan';
/** The hosts of every lab; N and P only with `nat` (see `labHosts`). */
export const LAB_HOSTS: readonly LabHostName[] = ['a', 'b', 'c', 'g'];
const NAT_HOSTS: readonly LabHostName[] = ['n', 'p'];
/** The two hosts of pair i (1-3), higher priority first; pair 1 is the lab's own A and B. */
export const PAIR_HOSTS = {
  1: ['a', 'b'],
  2: ['a2', 'b2'],
  3: ['a3', 'b3'],
} as const satisfies Record<number, readonly [LabHostName, LabHostName]>;
export type PairIndex = keyof typeof PAIR_HOSTS;
/** Every host that can run a sipha node. */
export type PairHost = (typeof PAIR_HOSTS)[PairIndex][number];
const ETCD_HOSTS = ['e1', 'e2', 'e3'] as const satisfies readonly ClusterHostName[];
export type EtcdHostName = (typeof ETCD_HOSTS)[number];

/** Cluster mode: several pairs and an etcd cluster. */
export interface LabClusterOptions {
  /** Pairs in the lab, 1-3 (default 2). */
  pairs?: number;
  /** etcd members, 1-3 (default 3). */
  etcd?: number;
}

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
  /** Add the hosts of pairs 2 and 3 and the etcd hosts (see LabClusterOptions). Default: none. */
  cluster?: LabClusterOptions;
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
  /** Present in cluster labs only: how many pairs and etcd members. */
  cluster?: { pairs: number; etcd: number };
  /** N and P exist only when `nat` is set, the cluster hosts only in the pairs and members `cluster` has. */
  hosts: Record<LabHostName, LabHostInfo>;
  /** Pair 1's Virtual IP (not configured by the lab: that is the drivers' job); see pairVip for the others. */
  vip: LabVip;
}

export interface LabVip {
  ipv4: string;
  ipv4Cidr: string;
  ipv6: string;
  ipv6Cidr: string;
  ifname: string;
}

const SUBNETS = {
  sip: { v4: '198.51.100', v6: '2001:db8:51', index: 0 },
  mgmt: { v4: '203.0.113', v6: '2001:db8:113', index: 1 },
  lan: { v4: '192.168.51', v6: undefined, index: 1 },
} as const;
const HOST_OCTET: Record<LabHostName, number> = {
  g: 1,
  a: 11,
  b: 12,
  c: 100,
  n: 254,
  p: 10,
  a2: 21,
  b2: 22,
  a3: 31,
  b3: 32,
  e1: 201,
  e2: 202,
  e3: 203,
};
/** The host's byte in its MACs (hex): 01-06 as ever, then readable ones for the cluster hosts. */
const HOST_INDEX: Record<LabHostName, number> = {
  a: 1,
  b: 2,
  c: 3,
  g: 4,
  n: 5,
  p: 6,
  a2: 0x21,
  b2: 0x22,
  a3: 0x31,
  b3: 0x32,
  e1: 0xe1,
  e2: 0xe2,
  e3: 0xe3,
};
/** Hosts with a management NIC in the two-NIC lab: the pairs', the gateway's and the etcd members'. */
const MGMT_HOSTS: ReadonlySet<LabHostName> = new Set([
  'a',
  'b',
  'g',
  'a2',
  'b2',
  'a3',
  'b3',
  'e1',
  'e2',
  'e3',
]);
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
      mac: `02:51:00:00:${HOST_INDEX[host].toString(16).padStart(2, '0')}:0${ifindex}`,
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
    mgmt: twoNic && MGMT_HOSTS.has(name) ? nicInfo(name, 'mgmt') : undefined,
    lan: name === 'n' ? nicInfo(name, 'lan', 2) : undefined,
  });
  return {
    prefix,
    switchNetns: `${prefix}-sw`,
    twoNic,
    ipv6,
    longLivedClientCache: opts.longLivedClientCache ?? true,
    nat: opts.nat ?? false,
    ...(opts.cluster === undefined ? {} : { cluster: clusterSize(opts.cluster) }),
    // Every host is planned (as N and P always were); labHosts says which exist.
    hosts: Object.fromEntries(Object.keys(HOST_OCTET).map((n) => [n, host(n as LabHostName)])) as Record<
      LabHostName,
      LabHostInfo
    >,
    vip: pairVipOf(1),
  };
}

function clusterSize(o: LabClusterOptions): { pairs: number; etcd: number } {
  const pairs = o.pairs ?? 2;
  const etcd = o.etcd ?? 3;
  if (!Number.isInteger(pairs) || pairs < 1 || pairs > 3)
    throw new RangeError(`cluster lab: ${pairs} pairs (1-3)`);
  if (!Number.isInteger(etcd) || etcd < 1 || etcd > 3)
    throw new RangeError(`cluster lab: ${etcd} etcd members (1-3)`);
  return { pairs, etcd };
}

/** Pair i's VIP: 198.51.100.10 and 2001:db8:51::10 for pair 1, .20 and ::20 for pair 2, .30 and ::30 for 3. */
function pairVipOf(index: PairIndex): LabVip {
  const octet = index * 10;
  return {
    ipv4: `198.51.100.${octet}`,
    ipv4Cidr: `198.51.100.${octet}/24`,
    ipv6: `2001:db8:51::${octet}`,
    ipv6Cidr: `2001:db8:51::${octet}/64`,
    ifname: 'eth0',
  };
}

/** The VIP of pair `index` in this lab (pair 1's is t.vip). */
export function pairVip(t: LabTopology, index: PairIndex): LabVip {
  if (index === 1) return t.vip;
  if (index > (t.cluster?.pairs ?? 1)) throw new Error(`this lab has no pair ${index}`);
  return pairVipOf(index);
}

/** The pairs this lab has: [1] unless it is a cluster lab. */
export function labPairs(t: LabTopology): PairIndex[] {
  return ([1, 2, 3] as const).filter((i) => i <= (t.cluster?.pairs ?? 1));
}

/** The etcd hosts of a cluster lab (none otherwise). */
export function etcdHosts(t: LabTopology): EtcdHostName[] {
  return ETCD_HOSTS.slice(0, t.cluster?.etcd ?? 0);
}

/** The hosts this lab has. */
export function labHosts(t: LabTopology): LabHostName[] {
  const extraPairs = labPairs(t)
    .slice(1)
    .flatMap((i) => PAIR_HOSTS[i]);
  return [...LAB_HOSTS, ...(t.nat ? NAT_HOSTS : []), ...extraPairs, ...etcdHosts(t)];
}

/** Every namespace of a topology, the switch last (deleting it removes all the cables). */
export function namespacesOf(t: LabTopology): string[] {
  return [...labHosts(t).map((h) => t.hosts[h].netns), t.switchNetns];
}

const NAME = /^(sipha-(\d+|up)-[0-9a-f]+)-(a[23]?|b[23]?|c|g|n|p|e[1-3]|sw)$/;

/** The run prefix and owner of a lab namespace name, or undefined for any other namespace. */
export function parseLabNetns(name: string): { prefix: string; owner: number | 'up' } | undefined {
  const m = NAME.exec(name);
  if (m === null || m[1] === undefined || m[2] === undefined) return undefined;
  return { prefix: m[1], owner: m[2] === 'up' ? 'up' : Number(m[2]) };
}
