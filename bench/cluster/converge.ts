// Part 3: directory convergence. (a) A user moves: registered through p2, then through p1 → how long until etcd,
// and p2's watch-fed cache, say p1. (b) A pair dies: p2 (a `sipha start` process, pair_lease_ttl_s 2) holding
// DEAD_PAIR_AORS users is killed with SIGKILL (its pair lease left to expire in etcd) or stopped cleanly (SIGTERM:
// the lease revoked) → how long until p1's cache holds none of p2's users.
import { Etcd3 } from 'etcd3';
import { aorKey } from '../../src/cluster/keys.js';
import {
  DEAD_PAIR_AORS,
  DOMAIN,
  log,
  MOVES,
  mono,
  round,
  type Summary,
  summary,
  TRIALS,
  until,
} from './common.js';
import { startLoopbackEtcd } from './etcd.js';
import { type InProcessPair, type PairProcess, startInProcess, startProcess } from './servers.js';
import { Ua } from './ua.js';

export const PAIR_LEASE_TTL_S = 2;

export interface ConvergeResult {
  move: { etcd: Summary; cache: Summary; failed: number; samples?: { etcd: number[]; cache: number[] } };
  kill: { gone: Summary; failed: number; samples?: number[] };
  stop: { gone: Summary; failed: number; samples?: number[] };
}

async function etcdPair(client: Etcd3, aor: string): Promise<string | undefined> {
  const v = await client.get(aorKey('/sipha', DOMAIN, aor)).string();
  return v === null ? undefined : (JSON.parse(v) as { pair: string }).pair;
}

/** (a): each move a new user, so that no move starts from what an earlier one left. */
async function moves(client: Etcd3, p1: InProcessPair, p2: InProcessPair): Promise<ConvergeResult['move']> {
  const ua1 = await Ua.open();
  const ua2 = await Ua.open();
  const etcdMs: number[] = [];
  const cacheMs: number[] = [];
  let failed = 0;
  try {
    for (let i = 0; i < MOVES; i++) {
      const user = `mover${i}`;
      const aor = `${user}@${DOMAIN}`;
      await ua2.register(user, p2.port);
      const settled = await until(
        async () => p1.cluster.directory.entry(aor)?.pair === 'p2' && (await etcdPair(client, aor)) === 'p2',
        5000,
        5,
      );
      if (!settled) {
        failed++;
        continue;
      }
      const t0 = mono();
      const registered = ua1.register(user, p1.port);
      // Both watched at once: etcd by reads (every ~2 ms), p2's cache in this process (every 1 ms).
      const inEtcd = until(async () => (await etcdPair(client, aor)) === 'p1', 5000, 2).then((ok) =>
        ok ? mono() - t0 : undefined,
      );
      const inCache = until(() => p2.cluster.directory.entry(aor)?.pair === 'p1', 5000, 1).then((ok) =>
        ok ? mono() - t0 : undefined,
      );
      await registered;
      const [e, c] = await Promise.all([inEtcd, inCache]);
      if (e === undefined || c === undefined) {
        failed++;
        continue;
      }
      etcdMs.push(e);
      cacheMs.push(c);
    }
  } finally {
    ua1.close();
    ua2.close();
  }
  return {
    etcd: summary(etcdMs),
    cache: summary(cacheMs),
    failed,
    samples: { etcd: etcdMs.map(round), cache: cacheMs.map(round) },
  };
}

/** (b): one trial — p2 started, its users seen by p1, then p2 signalled; ms until p1 has none of them. */
async function pairGoes(
  endpoints: readonly string[],
  p1: InProcessPair,
  signal: NodeJS.Signals,
): Promise<number> {
  let p2: PairProcess | undefined;
  const ua = await Ua.open();
  try {
    p2 = await startProcess(endpoints, 'p2', { pair_lease_ttl_s: PAIR_LEASE_TTL_S });
    const aors: string[] = [];
    for (let i = 0; i < DEAD_PAIR_AORS; i++) {
      await ua.register(`dead${i}`, p2.port);
      aors.push(`dead${i}@${DOMAIN}`);
    }
    const dir = p1.cluster.directory;
    if (!(await until(() => aors.every((a) => dir.entry(a)?.pair === 'p2'), 10_000, 5)))
      throw new Error("p1 never saw all of p2's users");
    const t0 = mono();
    p2.child.kill(signal);
    if (
      !(await until(() => aors.every((a) => dir.entry(a) === undefined), PAIR_LEASE_TTL_S * 1000 + 10_000, 2))
    )
      throw new Error("p2's users still in p1's cache");
    return mono() - t0;
  } finally {
    ua.close();
    await p2?.stop('SIGKILL');
  }
}

export async function measureConvergence(): Promise<ConvergeResult> {
  const etcd = await startLoopbackEtcd(3);
  const client = new Etcd3({ hosts: etcd.endpoints() });
  const pairs: InProcessPair[] = [];
  try {
    pairs.push(await startInProcess(etcd.endpoints(), 'p1'));
    pairs.push(await startInProcess(etcd.endpoints(), 'p2'));
    const [p1, p2] = pairs as [InProcessPair, InProcessPair];
    if (!(await until(() => p1.cluster.directory.status().pairs === 2, 10_000, 20)))
      throw new Error('p1 does not see p2');
    const move = await moves(client, p1, p2);
    log(`  converge/move: ${JSON.stringify(move)}`);
    // p2 in process gone (lease revoked): the dying p2 of (b) is a separate `sipha start` with the same pair ID.
    await p2.stop();
    const result: ConvergeResult = {
      move,
      kill: { gone: summary([]), failed: 0 },
      stop: { gone: summary([]), failed: 0 },
    };
    for (const [key, signal] of [
      ['kill', 'SIGKILL'],
      ['stop', 'SIGTERM'],
    ] as const) {
      const ms: number[] = [];
      let failed = 0;
      for (let i = 1; i <= TRIALS; i++) {
        try {
          const t = await pairGoes(etcd.endpoints(), p1, signal);
          ms.push(t);
          log(`  converge/${key} #${i}: ${Math.round(t)} ms`);
        } catch (err) {
          failed++;
          log(`  converge/${key} #${i}: FAILED — ${String(err)}`);
          // Whatever a failed trial left under p2's lease lapses within its TTL.
          await until(() => false, PAIR_LEASE_TTL_S * 1000 + 1000, 100);
        }
      }
      result[key] = { gone: summary(ms), failed, samples: ms.map(round) };
    }
    return result;
  } finally {
    for (const p of pairs) await p.stop().catch(() => {});
    client.close();
    await etcd.destroy();
  }
}
