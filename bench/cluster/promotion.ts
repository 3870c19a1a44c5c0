// Part 4: promotion time, etcd election vs today's. In the lab (root), one HA pair: without `cluster` (today: the
// backup promotes once the peer is silent for dead_after_ms), then with a 3-member etcd and lease_ttl_s 1 and 2
// (the backup must also win the pair's permit, which the dead node's lease holds until it expires in etcd). Each
// row: TRIALS kill -9 of the primary (kill → VIP added on the new primary, from its promotion timeline), and TRIALS
// manual switchovers (request → VIP added, and the VIP gap: removed on the old → added on the new).
import { ClusterLab } from '../../src/lab/cluster-lab.js';
import type { AnyPair } from '../../src/lab/pair.js';
import type { PairHost } from '../../src/lab/topology.js';
import { log, type Summary, sleep, summary, TRIALS } from './common.js';

export interface PromotionRow {
  key: string;
  name: string;
  leaseTtlS: number | null;
  /** detected: the new primary's timeline detectedAt (with etcd: when it won the permit and decided). */
  kill: { vipAdded: Summary; detected: Summary; failures: string[]; samples?: number[] };
  switchover: { vipAdded: Summary; gap: Summary; failures: string[]; samples?: number[]; gaps?: number[] };
  pending?: string;
}

const CONFIGS: { key: string; name: string; ttl: number | null }[] = [
  { key: 'today', name: 'today (no etcd, dead_after_ms)', ttl: null },
  { key: 'etcd-ttl1', name: 'etcd election, lease_ttl_s 1', ttl: 1 },
  { key: 'etcd-ttl2', name: 'etcd election, lease_ttl_s 2', ttl: 2 },
];

async function primaryOf(p: AnyPair): Promise<PairHost | undefined> {
  for (const h of p.hosts) if ((await p.status(h))?.role === 'primary') return h;
  return undefined;
}

/** kill -9 of the primary: ms from the kill to the VIP added (and to the detection) on the other node. */
async function killTrial(p: AnyPair): Promise<{ vip: number; detected: number }> {
  const old = await primaryOf(p);
  if (old === undefined) throw new Error('no primary');
  const next = p.other(old);
  const since = Date.now();
  p.signal(old, 'SIGKILL');
  await p.exited(old);
  const tl = await p.promotion(next, since, 15_000);
  if (tl?.vipAddedAt == null) throw new Error(`${next} did not promote within 15 s`);
  p.start(old);
  if (!(await p.waitRole(old, 'backup', 30_000))) throw new Error(`${old} did not rejoin as backup`);
  // Let the rejoined node's lease and the replication settle before the next fault.
  await sleep(1000);
  return { vip: tl.vipAddedAt - since, detected: tl.detectedAt - since };
}

/** A switchover asked of the primary: ms from the request to the VIP added, and the VIP gap between the nodes. */
async function switchoverTrial(p: AnyPair): Promise<{ vip: number; gap: number }> {
  const old = await primaryOf(p);
  if (old === undefined) throw new Error('no primary');
  const next = p.other(old);
  const since = Date.now();
  const answer = await p.switchover(old);
  if (!answer.ok) throw new Error(`switchover refused: ${JSON.stringify(answer.body)}`);
  const tl = await p.promotion(next, since, 15_000);
  if (tl?.vipAddedAt == null) throw new Error(`${next} did not promote within 15 s`);
  const demote = (await p.status(old))?.timelines.find((t) => t.kind === 'demote' && t.detectedAt >= since);
  if (demote?.vipRemovedAt == null) throw new Error(`no demotion timeline on ${old}`);
  if (!(await p.waitRole(old, 'backup', 30_000))) throw new Error(`${old} did not become backup`);
  await sleep(1000);
  return { vip: tl.vipAddedAt - since, gap: tl.vipAddedAt - demote.vipRemovedAt };
}

async function row(c: (typeof CONFIGS)[number]): Promise<PromotionRow> {
  const r: PromotionRow = {
    key: c.key,
    name: c.name,
    leaseTtlS: c.ttl,
    kill: { vipAdded: summary([]), detected: summary([]), failures: [] },
    switchover: { vipAdded: summary([]), gap: summary([]), failures: [] },
  };
  const ttl = c.ttl;
  const cl = await ClusterLab.open({
    pairs: 1,
    // today's pair uses no etcd: one member only, as the lab always starts one.
    etcd: ttl === null ? 1 : 3,
    ...(ttl === null
      ? {}
      : { pair: (_i, etcd) => ({ cluster: { etcd, lease_ttl_s: ttl, request_timeout_ms: 500 } }) }),
    say: log,
  });
  try {
    await cl.guard(() => cl.startSettled({ timeoutMs: 30_000, anyPrimary: true }));
    const p = cl.pair(1);
    const kill: number[] = [];
    const detected: number[] = [];
    const vip: number[] = [];
    const gap: number[] = [];
    for (let i = 1; i <= TRIALS; i++) {
      try {
        const t = await killTrial(p);
        kill.push(t.vip);
        detected.push(t.detected);
        log(
          `  promotion/${c.key} kill #${i}: VIP added ${t.vip} ms after the kill (detected at ${t.detected} ms)`,
        );
      } catch (err) {
        r.kill.failures.push(String(err));
        log(`  promotion/${c.key} kill #${i}: FAILED — ${String(err)}`);
      }
    }
    for (let i = 1; i <= TRIALS; i++) {
      try {
        const t = await switchoverTrial(p);
        vip.push(t.vip);
        gap.push(t.gap);
        log(
          `  promotion/${c.key} switchover #${i}: VIP added ${t.vip} ms after the request, gap ${t.gap} ms`,
        );
      } catch (err) {
        r.switchover.failures.push(String(err));
        log(`  promotion/${c.key} switchover #${i}: FAILED — ${String(err)}`);
      }
    }
    r.kill.vipAdded = summary(kill);
    r.kill.detected = summary(detected);
    r.switchover.vipAdded = summary(vip);
    r.switchover.gap = summary(gap);
    r.kill.samples = kill;
    r.switchover.samples = vip;
    r.switchover.gaps = gap;
    return r;
  } catch (err) {
    cl.fail();
    r.pending = String(err).split('\n')[0];
    return r;
  } finally {
    await cl.close();
  }
}

export async function measurePromotion(): Promise<PromotionRow[]> {
  if (process.getuid?.() !== 0)
    return CONFIGS.map((c) => ({
      key: c.key,
      name: c.name,
      leaseTtlS: c.ttl,
      kill: { vipAdded: summary([]), detected: summary([]), failures: [] },
      switchover: { vipAdded: summary([]), gap: summary([]), failures: [] },
      pending: 'needs root (network namespaces)',
    }));
  const rows: PromotionRow[] = [];
  for (const c of CONFIGS) rows.push(await row(c));
  return rows;
}
