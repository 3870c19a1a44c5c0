// When is the lab's pair settled: the one definition that the lab tests, the demo and the failover benchmark wait
// for, before they start and after every fault is healed.
import { eventually } from './eventually.js';
import type { Host, Pair, PairHost } from './pair.js';
import type { HaStatus } from './status.js';

/** H: the pair's hosts (A and B unless it is another pair of a cluster lab). */
export interface Settled<H extends PairHost = Host> {
  primary: H;
  backup: H;
  /** The statuses that showed it, by host. */
  status: Record<H, HaStatus>;
}

export interface SettleOptions<H extends PairHost = Host> {
  /** Settled only with this host primary (default: either). */
  primary?: H;
  timeoutMs?: number;
  stepMs?: number;
}

/**
 * Settled: one node primary and the other backup, each with its SIP worker ready, the primary seeing its backup
 * ready, replication synced on both, the backup reaching the VIP over SIP, and the primary the only host with the
 * VIP on its NIC (read with `ip addr` in both namespaces). Returns what shows it, or why not.
 */
export async function settledNow<H extends PairHost>(
  pair: Pair<H>,
  primaryWanted?: H,
  probedSince = Date.now() - 2000,
): Promise<Settled<H> | string> {
  const hosts = pair.hosts;
  const [a, b] = await Promise.all(hosts.map((h) => pair.status(h)));
  if (a === undefined || b === undefined) return `no status from ${a === undefined ? hosts[0] : hosts[1]}`;
  // Both of the pair's hosts are keys: the record is complete for H.
  const status = { [hosts[0]]: a, [hosts[1]]: b } as Record<H, HaStatus>;
  const primary = hosts.find((h) => status[h].role === 'primary');
  if (primary === undefined) return `no primary (${hosts[0]} ${a.role}, ${hosts[1]} ${b.role})`;
  if (primaryWanted !== undefined && primary !== primaryWanted) return `${primary} is primary`;
  const backup = pair.other(primary);
  const [p, q] = [status[primary], status[backup]];
  if (q.role !== 'backup') return `${backup} is ${q.role}`;
  for (const h of hosts) {
    if (!status[h].worker.ready) return `the SIP worker of ${h} is not ready`;
    if (status[h].replication?.synced !== true) return `replication is not synced on ${h}`;
  }
  if (!p.peer.ready) return `${primary} does not see ${backup} ready`;
  // The backup reaches the VIP and the primary's own SIP address over SIP, by probes answered since probedSince
  // (settle: since it began waiting). A node that was primary until just now shows an old answer (a primary does
  // not probe the VIP), and right after its own SIP path came back its first packets to the VIP can wait up to a
  // second in an ARP resolution left over from the cut (Linux retries an incomplete entry every retrans_time):
  // the VIP check would then find the VIP silent if the HA link failed at that moment. No probes: monitoring off.
  if (q.monitoring !== null)
    for (const cls of ['vip', 'peer'] as const) {
      const x = q.monitoring.probes.find((pr) => pr.class === cls);
      const fresh = x !== undefined && x.at >= probedSince;
      if (x?.ok !== true || !fresh)
        return `${backup} does not reach the ${cls === 'vip' ? 'VIP' : 'primary'} over SIP${x ? ` (${fresh ? x.detail : 'no probe since'})` : ''}`;
    }
  const holders = await pair.holders();
  if (holders.join() !== primary) return `VIP holders: ${holders.join() || 'none'}`;
  return { primary, backup, status };
}

/** Waits until the pair is settled; rejects with the last reason (and where the logs are) after timeoutMs. */
export async function settle<H extends PairHost>(
  pair: Pair<H>,
  o: SettleOptions<H> = {},
): Promise<Settled<H>> {
  let last = 'not asked' as Settled<H> | string;
  const since = Date.now();
  await eventually(
    async () => {
      last = await settledNow(pair, o.primary, since);
      return typeof last !== 'string';
    },
    o.timeoutMs ?? 30_000,
    o.stepMs ?? 100,
  );
  if (typeof last === 'string') throw new Error(`the pair did not settle (${last}); logs in ${pair.dir}`);
  return last;
}
