// Part 2: cross-pair vs same-pair call setup. Two standalone servers p1 and p2 of one domain; the callee registered
// through p2 answers at once; a caller sends sequential INVITEs through p1 (p1 → p2 → callee) and through p2
// (p2 → callee); INVITE → 200 OK time of each, alternating paths so that both see the same machine load.
import { DirectoryMetrics } from '../../src/cluster/directory-metrics.js';
import { CALLS, log, round, type Summary, summary, until } from './common.js';
import { startLoopbackEtcd } from './etcd.js';
import { type InProcessPair, startInProcess } from './servers.js';
import { Ua } from './ua.js';

export interface CallsResult {
  cross: Summary;
  same: Summary;
  diffP50: number;
  diffP99: number;
  failed: number;
  /** p1's lookups answered "remote" during the measured calls: each cross-pair INVITE went through the directory. */
  p1RemoteLookups: number;
}

export async function measureCalls(): Promise<CallsResult> {
  const etcd = await startLoopbackEtcd(3);
  const pairs: InProcessPair[] = [];
  const uas: Ua[] = [];
  try {
    pairs.push(await startInProcess(etcd.endpoints(), 'p1'));
    pairs.push(await startInProcess(etcd.endpoints(), 'p2'));
    const [p1, p2] = pairs as [InProcessPair, InProcessPair];
    const ok = await until(
      () => p1.cluster.directory.status().pairs === 2 && p2.cluster.directory.status().pairs === 2,
      10_000,
      20,
    );
    if (!ok) throw new Error('the pairs do not see each other');
    const callee = await Ua.open();
    const caller = await Ua.open();
    uas.push(callee, caller);
    callee.answerCalls();
    await callee.register('bob', p2.port);
    if (!(await until(() => p1.cluster.directory.entry('bob@example.test')?.pair === 'p2', 10_000)))
      throw new Error('p1 never saw bob at p2');
    // A few calls each way first: the first ones pay for JIT and socket set-up.
    for (let i = 0; i < 5; i++) {
      await caller.call('bob', p1.port);
      await caller.call('bob', p2.port);
    }
    const remote0 = await DirectoryMetrics.value(p1.cluster.directory.metrics.lookups, { result: 'remote' });
    const cross: number[] = [];
    const same: number[] = [];
    let failed = 0;
    for (let i = 0; i < CALLS; i++)
      for (const [via, into] of [
        [p1, cross],
        [p2, same],
      ] as const)
        try {
          into.push(await caller.call('bob', via.port));
        } catch {
          failed++;
        }
    const r: CallsResult = {
      cross: summary(cross),
      same: summary(same),
      diffP50: 0,
      diffP99: 0,
      failed,
      p1RemoteLookups:
        (await DirectoryMetrics.value(p1.cluster.directory.metrics.lookups, { result: 'remote' })) - remote0,
    };
    r.diffP50 = round(r.cross.p50 - r.same.p50);
    r.diffP99 = round(r.cross.p99 - r.same.p99);
    log(`  calls: ${JSON.stringify(r)}`);
    return r;
  } finally {
    for (const u of uas) u.close();
    for (const p of pairs) await p.stop().catch(() => {});
    await etcd.destroy();
  }
}
