// The failover benchmark's results: a row of trials per scenario, the loop that runs a row, the summary
// (percentiles), the printed table and bench/results/failover.json.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release } from 'node:os';
import { join } from 'node:path';
import { log, PROBE_INTERVAL_MS, round, SIPP_RATE, TRIALS } from './common.js';
import type { Measured, Outage } from './prober.js';

const RESULTS = join(process.cwd(), 'bench', 'results', 'failover.json');

export interface Trial extends Outage {
  trial: number;
  from: string;
  to: string;
  sippFailed: number;
  sippSuccessful: number;
  falseFailovers: number;
  /** Anything notable (e.g. how long the VIP release took after kill -9). */
  note?: string;
  /** sipha: every promotion recorded by the nodes during the trial (ms after the fault, cause). */
  promotions?: string[];
}

export interface Row {
  key: string;
  name: string;
  /**
   * recovery: fault → first answer; gap: longest gap over the trial; move: the gap around the VIP's move;
   * window: the longest gap that began within 1.5 s of the fault (a planned move whose instant is not known).
   */
  measure: 'recovery' | 'gap' | 'move' | 'window';
  trials: Trial[];
  /** Set when the scenario could not be measured (e.g. a feature not implemented yet). */
  pending?: string;
  /** Trials that did not complete (no takeover, switchover refused, …): the reason of each. */
  failures: string[];
}

/** A trial's record from its measurement. */
export function trialOf(
  n: number,
  move: { from: string; to: string },
  m: Measured<unknown>,
  falseFailovers: number,
  note: string | undefined,
): Trial {
  const t: Trial = {
    trial: n,
    ...move,
    ...m.outage,
    sippFailed: m.sipp.failed,
    sippSuccessful: m.sipp.successful,
    falseFailovers,
  };
  if (note !== undefined) t.note = note;
  return t;
}

/**
 * Runs TRIALS trials of a row; a trial answers a Trial or why it failed. Three failures before any success: the
 * scenario does not work (yet), say so rather than report numbers. Returns whether any trial failed.
 */
export async function runRow(row: Row, trial: (n: number) => Promise<Trial | string>): Promise<boolean> {
  for (let i = 1; i <= TRIALS; i++) {
    const t = await trial(i).catch((e: unknown) => `error: ${String(e)}`);
    if (typeof t === 'string') {
      log(`  ${row.key} #${i}: FAILED — ${t}`);
      const first = t.split('\n')[0] ?? t;
      row.failures.push(first);
      if (row.failures.length >= 3 && row.trials.length === 0) {
        row.pending = first;
        break;
      }
      continue;
    }
    row.trials.push(t);
    log(
      `  ${row.key} #${i} ${t.from}→${t.to}: recovery ${t.recoveryMs} ms, gap ${t.gapMs} ms, around the move ${t.moveGapMs} ms, in the window ${t.windowGapMs} ms, first post-fault answer ${t.firstAfterFaultMs} ms, lost ${t.lost}, SIPp failed ${t.sippFailed}${t.note ? `, ${t.note}` : ''}${t.promotions === undefined ? '' : `; promotions ${t.promotions.join(', ')}`}`,
    );
  }
  return row.failures.length > 0;
}

function pct(xs: number[], p: number): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))] ?? null;
}

function summary(r: Row) {
  const xs = r.trials.map((t) =>
    r.measure === 'recovery'
      ? t.recoveryMs
      : r.measure === 'move'
        ? (t.moveGapMs ?? t.gapMs)
        : r.measure === 'window'
          ? t.windowGapMs
          : t.gapMs,
  );
  const sum = (f: (t: Trial) => number) => r.trials.reduce((s, t) => s + f(t), 0);
  return {
    trials: r.trials.length,
    p50: pct(xs, 0.5),
    p95: pct(xs, 0.95),
    max: pct(xs, 1),
    sippFailed: sum((t) => t.sippFailed),
    sippTotal: sum((t) => t.sippFailed + t.sippSuccessful),
    falseFailovers: sum((t) => t.falseFailovers),
    failedTrials: r.failures.length,
    lostProbesPerTrial: r.trials.length === 0 ? null : round(sum((t) => t.lost) / r.trials.length),
  };
}

export function table(rows: Row[]): string {
  const ms = (x: number | null) => (x === null ? '—' : x.toFixed(0));
  const lines = [
    '| scenario | measure | trials | p50 ms | p95 ms | max ms | SIPp failed / total | false failovers | probes lost per trial |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    const s = summary(r);
    const measure =
      r.measure === 'recovery'
        ? 'fault → first answer'
        : r.measure === 'move'
          ? 'gap around the move'
          : r.measure === 'window'
            ? 'longest gap ≤ 1.5 s after'
            : 'longest gap';
    if (r.pending !== undefined && r.trials.length === 0) {
      lines.push(`| ${r.name} | ${measure} | 0 | pending: ${r.pending} | | | | | |`);
      continue;
    }
    const pend =
      r.pending !== undefined
        ? ` (stopped: ${r.pending})`
        : r.failures.length > 0
          ? ` (+${r.failures.length} failed: ${r.failures[0]})`
          : '';
    lines.push(
      `| ${r.name}${pend} | ${measure} | ${s.trials} | ${ms(s.p50)} | ${ms(s.p95)} | ${ms(s.max)} | ${s.sippFailed} / ${s.sippTotal} | ${s.falseFailovers} | ${s.lostProbesPerTrial ?? '—'} |`,
    );
  }
  return lines.join('\n');
}

/** "No false failover during a run at full SIP load": what the soak saw. */
export interface Soak {
  seconds: number;
  rate: number;
  termBefore: number;
  termAfter: number;
  falseFailovers: number;
  sippSuccessful: number;
  sippFailed: number;
  primaryChanges: number;
  /** Every promotion during the soak (node, cause, term, seconds in). */
  promotions: string[];
  /** Every alarm raised during the soak. */
  alarms: string[];
}

export interface Run {
  startedAt: Date;
  loadBefore: number[];
  rows: Row[];
  soak: Soak | undefined;
}

/** Prints the table (and the soak's line) and writes bench/results/failover.json. */
export function report(run: Run): void {
  const loadAfter = loadavg();
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  const machine = `${cpus().length} × ${cpu}, Linux ${release()}, node ${process.version}`;
  const ka = spawnSync('keepalived', ['--version'], { encoding: 'utf8' });
  const kaVersion = /Keepalived v[\d.]+/.exec(`${ka.stdout}${ka.stderr}`)?.[0] ?? 'keepalived';
  console.log(
    `Failover (${TRIALS} trials per row; ${machine}; load average ${run.loadBefore[0]?.toFixed(2)} before, ${loadAfter[0]?.toFixed(2)} after; ${kaVersion})`,
  );
  console.log(table(run.rows));
  const s = run.soak;
  if (s !== undefined) {
    console.log(
      `\nSoak: ${s.seconds} s at ${s.rate} OPTIONS+REGISTER/s (heartbeat 50 ms, dead_after 200 ms): ${s.falseFailovers} false failovers (term ${s.termBefore} → ${s.termAfter}), SIPp ${s.sippFailed} failed of ${s.sippSuccessful + s.sippFailed}`,
    );
    for (const p of s.promotions) console.log(`  promotion: ${p}`);
    for (const a of s.alarms) console.log(`  alarm: ${a}`);
  }
  const json = {
    date: run.startedAt.toISOString(),
    machine,
    cores: cpus().length,
    cpu,
    kernel: release(),
    loadAverage: { before: run.loadBefore, after: loadAfter },
    keepalived: kaVersion,
    trialsPerScenario: TRIALS,
    sippRate: SIPP_RATE,
    probeIntervalMs: PROBE_INTERVAL_MS,
    sipha: { heartbeat_ms: 50, dead_after_ms: 200, witness_interval_ms: 200 },
    rows: run.rows.map((r) => ({ ...r, summary: summary(r) })),
    soak: s ?? null,
  };
  mkdirSync(join(RESULTS, '..'), { recursive: true });
  writeFileSync(RESULTS, `${JSON.stringify(json, null, 2)}\n`);
}
