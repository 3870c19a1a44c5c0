// Part 1: etcd writes per 1,000 REGISTER/s. A standalone server (pair p1) against a 3-member loopback etcd gets
// REGISTERs at a fixed rate: first all new AoRs, then the same AoRs refreshing. The directory's counters (keys
// written, transactions) and etcd's revision, before and after each phase, give the writes per 1,000 REGISTER/s.
import { Etcd3 } from 'etcd3';
import { DirectoryMetrics } from '../../src/cluster/directory-metrics.js';
import { log, mono, REG_RATE, REG_SECONDS, round, sleep, until } from './common.js';
import { revision, startLoopbackEtcd } from './etcd.js';
import { startInProcess } from './servers.js';
import { registerText, Ua } from './ua.js';

export interface WritesRow {
  phase: 'new' | 'refresh';
  sent: number;
  ok: number;
  seconds: number;
  /** REGISTER/s answered 200. */
  rate: number;
  writes: number;
  txns: number;
  revisions: number;
  writesPer1k: number;
  txnsPer1k: number;
}

/** Sends `total` REGISTERs at REG_RATE in 10 ms ticks; resolves when all are answered or 5 s after the last. */
async function drive(
  ua: Ua,
  port: number,
  total: number,
  cseq: number,
): Promise<{ ok: number; seconds: number }> {
  let ok = 0;
  let answered = 0;
  ua.onResponse = (r) => {
    if (r.status < 200) return;
    answered++;
    if (r.status === 200) ok++;
  };
  const t0 = mono();
  let sent = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((mono() - t0) / 1000) * REG_RATE) + 1);
    for (; sent < due; sent++) ua.send(registerText(`u${sent}`, ua.port, cseq, 600), port);
    await sleep(10);
  }
  await until(() => answered >= total, 5000, 10);
  const seconds = (mono() - t0) / 1000;
  ua.onResponse = undefined;
  return { ok, seconds };
}

export async function measureWrites(): Promise<WritesRow[]> {
  const etcd = await startLoopbackEtcd(3);
  const client = new Etcd3({ hosts: etcd.endpoints() });
  const rows: WritesRow[] = [];
  let p1: Awaited<ReturnType<typeof startInProcess>> | undefined;
  let ua: Ua | undefined;
  try {
    p1 = await startInProcess(etcd.endpoints(), 'p1');
    const p = p1;
    ua = await Ua.open();
    const dir = p.cluster.directory;
    await until(() => dir.status().pairs === 1 && dir.status().etcdReachable, 10_000, 20);
    const total = Math.round(REG_RATE * REG_SECONDS);
    for (const [phase, cseq] of [
      ['new', 1],
      ['refresh', 2],
    ] as const) {
      const w0 = await DirectoryMetrics.value(dir.metrics.writes);
      const t0 = await DirectoryMetrics.value(dir.metrics.txns);
      const r0 = await revision(client);
      const { ok, seconds } = await drive(ua, p.port, total, cseq);
      // The last batch goes out batch_ms later; wait until nothing is pending.
      await until(() => dir.status().pending === 0, 10_000, 10);
      await sleep(200);
      const writes = (await DirectoryMetrics.value(dir.metrics.writes)) - w0;
      const txns = (await DirectoryMetrics.value(dir.metrics.txns)) - t0;
      const revisions = (await revision(client)) - r0;
      const rate = ok / seconds;
      const per1k = (n: number) => round((n / seconds / rate) * 1000);
      const row: WritesRow = {
        phase,
        sent: total,
        ok,
        seconds: round(seconds),
        rate: round(rate),
        writes,
        txns,
        revisions,
        writesPer1k: per1k(writes),
        txnsPer1k: per1k(txns),
      };
      log(`  writes/${phase}: ${JSON.stringify(row)}`);
      rows.push(row);
    }
    return rows;
  } finally {
    ua?.close();
    await p1?.stop().catch(() => {});
    client.close();
    await etcd.destroy();
  }
}
