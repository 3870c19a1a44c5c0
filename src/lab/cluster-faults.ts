// The faults of a cluster lab (cluster-lab.ts), for the cluster-mode tests: a host cut off from etcd, a pair's HA
// link cut (the pair's nodes still reach etcd and the SIP subnet), etcd members stopped or killed (one, or a
// majority), and a whole pair killed. Each has its undo; whatever a fault leaves in a namespace (nftables tables,
// policy rules) goes with the lab, and stopped members are killed with etcd at close().
import type { ClusterLab } from './cluster-lab.js';
import { dropTable, haLinkBlackhole, type Injected } from './faults.js';
import type { AnyPair } from './pair.js';
import type { EtcdHostName, LabHostName } from './topology.js';

export const ETCD_CUT_TABLE = 'inet sipha_etcd_cut';

/** Every address of the etcd hosts (SIP and management NICs, IPv4 and IPv6): whatever a member may listen on. */
function etcdAddresses(cl: ClusterLab): { v4: string[]; v6: string[] } {
  const nics = cl.etcdHosts().flatMap((e) => {
    const h = cl.lab.hosts[e];
    return h.mgmt === undefined ? [h.sip] : [h.sip, h.mgmt];
  });
  return {
    v4: nics.map((n) => n.ipv4),
    v6: nics.flatMap((n) => (n.ipv6 === undefined ? [] : [n.ipv6])),
  };
}

/**
 * Host cut off from the etcd hosts only, both ways: an nftables table in its namespace drops every packet it
 * sends to them (output) and every packet from them (input); the rest of the lab (the peer, the SIP subnet, the
 * witness) still passes. Undo with healEtcdCut.
 */
export async function cutFromEtcd(cl: ClusterLab, host: LabHostName): Promise<Injected> {
  const { v4, v6 } = etcdAddresses(cl);
  const t = ETCD_CUT_TABLE;
  const rules = [
    `add rule ${t} out ip daddr { ${v4.join(', ')} } drop`,
    `add rule ${t} in ip saddr { ${v4.join(', ')} } drop`,
    ...(v6.length === 0
      ? []
      : [
          `add rule ${t} out ip6 daddr { ${v6.join(', ')} } drop`,
          `add rule ${t} in ip6 saddr { ${v6.join(', ')} } drop`,
        ]),
  ];
  const at = Date.now();
  await cl.lab.exec(host, [
    'nft',
    [
      `add table ${t}`,
      `add chain ${t} out { type filter hook output priority 0 ; policy accept ; }`,
      `add chain ${t} in { type filter hook input priority 0 ; policy accept ; }`,
      ...rules,
    ].join(' ; '),
  ]);
  return { at, detail: `${host} cut off from etcd (${[...v4, ...v6].join(', ')})` };
}

/** Undoes cutFromEtcd; nothing to do when the host is not cut. */
export function healEtcdCut(cl: ClusterLab, host: LabHostName): Promise<void> {
  return dropTable(cl.lab, host, ETCD_CUT_TABLE);
}

/**
 * A pair's HA link cut on every path, both ways (haLinkDown's blackhole rules, for a pair of any index): its two
 * nodes cannot hear each other, each still reaches etcd, the witness and the SIP subnet. Undo with healHaLink.
 */
export async function cutHaLink(pair: AnyPair): Promise<Injected> {
  const at = Date.now();
  await haLinkBlackhole(pair, 'add');
  return { at, detail: `HA link of pair ${pair.index} cut between ${pair.hosts.join(' and ')}` };
}

export function healHaLink(pair: AnyPair): Promise<void> {
  return haLinkBlackhole(pair, 'del');
}

/** Stops one etcd member: SIGTERM (a clean stop) or SIGKILL (a crash); resolves once it has exited. */
export async function stopEtcdMember(
  cl: ClusterLab,
  name: EtcdHostName,
  signal: 'SIGTERM' | 'SIGKILL' = 'SIGKILL',
): Promise<Injected> {
  const at = Date.now();
  await cl.etcd.stopMember(name, signal);
  return { at, detail: `etcd member ${name} stopped (${signal})` };
}

/** Stops a majority of the members (2 of 3: E1 and E2), so that etcd has no quorum; resolves once they exited. */
export async function stopEtcdMajority(
  cl: ClusterLab,
  signal: 'SIGTERM' | 'SIGKILL' = 'SIGKILL',
): Promise<Injected> {
  const names = cl.etcdHosts();
  const majority = names.slice(0, Math.floor(names.length / 2) + 1);
  const at = Date.now();
  await Promise.all(majority.map((n) => cl.etcd.stopMember(n, signal)));
  return { at, detail: `etcd members ${majority.join(', ')} of ${names.length} stopped (${signal})` };
}

/** Starts every stopped member again (on its data folder) and waits until all answer healthy. */
export async function restartEtcd(cl: ClusterLab, timeoutMs = 20_000): Promise<void> {
  const names = cl.etcdHosts();
  for (const n of names) cl.etcd.startMember(n);
  await cl.etcd.waitHealthy(names.length, timeoutMs);
}

/** kill -9 of both nodes of a pair (their SIP workers follow them); resolves once both have exited. */
export async function killPair(pair: AnyPair): Promise<Injected> {
  const running = pair.hosts.filter((h) => pair.pid(h) !== undefined);
  const at = Date.now();
  for (const h of running) pair.signal(h, 'SIGKILL');
  await Promise.all(running.map((h) => pair.exited(h)));
  return { at, detail: `kill -9 of pair ${pair.index} (${running.join(', ') || 'nothing was running'})` };
}

/** Starts again the nodes of a pair that are not running. */
export function restartPair(pair: AnyPair): void {
  for (const h of pair.hosts) if (pair.pid(h) === undefined) pair.start(h);
}
