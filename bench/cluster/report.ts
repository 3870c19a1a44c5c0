// The cluster benchmark's printed table and bench/results/cluster.json (every figure, the machine and the load).
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import type { CallsResult } from './calls.js';
import { CALLS, DEAD_PAIR_AORS, MOVES, REG_RATE, REG_SECONDS, type Summary, TRIALS } from './common.js';
import { type ConvergeResult, PAIR_LEASE_TTL_S } from './converge.js';
import type { PromotionRow } from './promotion.js';
import type { WritesRow } from './writes.js';

const RESULTS = join(process.cwd(), 'bench', 'results', 'cluster.json');

export interface Results {
  writes?: WritesRow[] | { error: string };
  calls?: CallsResult | { error: string };
  converge?: ConvergeResult | { error: string };
  promotion?: PromotionRow[] | { error: string };
}

export function machine() {
  return {
    nproc: availableParallelism(),
    cpu: cpus()[0]?.model ?? 'unknown',
    node: process.version,
    loadavg: loadavg().map((x) => Math.round(x * 100) / 100),
  };
}

const fmt = (x: number) => (Number.isNaN(x) ? '-' : String(x));
const p50max = (s: Summary) => (s.n === 0 ? '-' : `${fmt(s.p50)} / ${fmt(s.max)}`);

function table(head: string[], rows: string[][]): string {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) =>
    r.map((c, i) => (i === 0 ? c.padEnd(w[i] ?? 0) : c.padStart(w[i] ?? 0))).join('  ');
  return [line(head), w.map((n) => '-'.repeat(n)).join('  '), ...rows.map(line)].join('\n');
}

const isError = (x: unknown): x is { error: string } => typeof x === 'object' && x !== null && 'error' in x;

export function print(r: Results, started: Date, seconds: number): string {
  const m = machine();
  const out: string[] = [];
  out.push(
    `sipha cluster benchmark — ${m.nproc} CPUs (${m.cpu}), node ${m.node}, load ${m.loadavg.join(' ')}; ${started.toISOString()}, ${Math.round(seconds)} s`,
  );
  if (r.writes !== undefined) {
    out.push(
      '',
      `1. etcd writes per 1,000 REGISTER/s (standalone p1, 3-member loopback etcd, ${REG_RATE}/s for ${REG_SECONDS} s per phase)`,
    );
    if (isError(r.writes)) out.push(`   FAILED: ${r.writes.error}`);
    else
      out.push(
        table(
          [
            'phase',
            'REGISTER 200',
            'rate/s',
            'keys written',
            'txns',
            'etcd revs',
            'writes/s per 1k',
            'txns/s per 1k',
          ],
          r.writes.map((w) => [
            w.phase === 'new' ? 'all new AoRs' : 'all refreshes',
            `${w.ok}/${w.sent}`,
            fmt(w.rate),
            String(w.writes),
            String(w.txns),
            String(w.revisions),
            fmt(w.writesPer1k),
            fmt(w.txnsPer1k),
          ]),
        ),
      );
  }
  if (r.calls !== undefined) {
    out.push(
      '',
      `2. call setup, INVITE → 200 OK ms (callee on p2 answers at once; ${CALLS} sequential calls per path)`,
    );
    if (isError(r.calls)) out.push(`   FAILED: ${r.calls.error}`);
    else {
      const c = r.calls;
      out.push(
        table(
          ['path', 'calls', 'p50', 'p99', 'max', 'mean'],
          [
            ['same-pair (caller → p2 → callee)', c.same],
            ['cross-pair (caller → p1 → p2 → callee)', c.cross],
          ].map(([n, s]) => {
            const x = s as Summary;
            return [n as string, String(x.n), fmt(x.p50), fmt(x.p99), fmt(x.max), fmt(x.mean)];
          }),
        ),
        `cross − same: p50 ${fmt(c.diffP50)} ms, p99 ${fmt(c.diffP99)} ms; failed calls ${c.failed}; p1's remote lookups ${c.p1RemoteLookups}`,
      );
    }
  }
  if (r.converge !== undefined) {
    out.push('', '3. directory convergence, ms (p50 / p99 / max)');
    if (isError(r.converge)) out.push(`   FAILED: ${r.converge.error}`);
    else {
      const c = r.converge;
      const s = (x: Summary) => `${fmt(x.p50)} / ${fmt(x.p99)} / ${fmt(x.max)}`;
      out.push(
        table(
          ['event', 'n', 'failed', 'ms'],
          [
            [
              `user moves p2 → p1: etcd says p1 (${MOVES} moves)`,
              String(c.move.etcd.n),
              String(c.move.failed),
              s(c.move.etcd),
            ],
            [
              "user moves p2 → p1: p2's cache says p1",
              String(c.move.cache.n),
              String(c.move.failed),
              s(c.move.cache),
            ],
            [
              `p2 SIGKILL (pair_lease_ttl_s ${PAIR_LEASE_TTL_S}, ${DEAD_PAIR_AORS} AoRs): gone from p1's cache`,
              String(c.kill.gone.n),
              String(c.kill.failed),
              s(c.kill.gone),
            ],
            [
              `p2 clean stop (lease revoked, ${DEAD_PAIR_AORS} AoRs): gone from p1's cache`,
              String(c.stop.gone.n),
              String(c.stop.failed),
              s(c.stop.gone),
            ],
          ],
        ),
      );
    }
  }
  if (r.promotion !== undefined) {
    out.push(
      '',
      `4. promotion in the lab, ms p50 / max (${TRIALS} trials each; kill -9 of the primary, manual switchover)`,
    );
    if (isError(r.promotion)) out.push(`   FAILED: ${r.promotion.error}`);
    else {
      out.push(
        table(
          [
            'configuration',
            'kill → decided',
            'kill → VIP added',
            'switchover → VIP added',
            'switchover VIP gap',
            'failed',
          ],
          r.promotion.map((p) =>
            p.pending !== undefined
              ? [p.name, `not measured: ${p.pending}`, '', '', '', '']
              : [
                  p.name,
                  p50max(p.kill.detected),
                  p50max(p.kill.vipAdded),
                  p50max(p.switchover.vipAdded),
                  p50max(p.switchover.gap),
                  String(p.kill.failures.length + p.switchover.failures.length),
                ],
          ),
        ),
        "Notes: decided = the new primary's promotion timeline detectedAt. Today the backup promotes once the peer",
        "is silent for dead_after_ms. With etcd it may promote only once it holds the pair's permit, which the dead",
        "node's lease keeps until it expires in etcd: about lease_ttl_s after the dead node's last keep-alive, plus",
        "up to etcd's 500 ms expiry sweep, plus the backup's next permit attempt — so the etcd rows grow with the TTL.",
        'A switchover withdraws the permit at once (no TTL), but the new primary still wins the permit by etcd',
        'transactions before it adds the VIP.',
      );
    }
  }
  return out.join('\n');
}

export function save(r: Results, started: Date, seconds: number): string {
  mkdirSync(join(process.cwd(), 'bench', 'results'), { recursive: true });
  const load = {
    trials: TRIALS,
    registerRate: REG_RATE,
    registerSeconds: REG_SECONDS,
    calls: CALLS,
    moves: MOVES,
    deadPairAors: DEAD_PAIR_AORS,
    pairLeaseTtlS: PAIR_LEASE_TTL_S,
  };
  writeFileSync(
    RESULTS,
    `${JSON.stringify({ started: started.toISOString(), seconds: Math.round(seconds), machine: machine(), load, ...r }, null, 2)}\n`,
  );
  return RESULTS;
}
