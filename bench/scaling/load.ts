// One offered rate against a server from several SIPp clients at once (the rate split among them), bounded in time,
// with the CPU the server's processes used meanwhile; and the ramp of rates that finds the best one with < 1 % failed.
import { readFileSync } from 'node:fs';
import { runSipp, type SippSpec } from '../../src/lab/sipp.js';
import { CpuMeter, type Running } from '../local-servers.js';

export interface Step {
  rate: number;
  successful: number;
  failed: number;
  seconds: number;
  /** Successful per second of the step's wall time. */
  achieved: number;
  ok: boolean;
  /** Cores the server's processes used (CPU seconds / wall seconds), and the SIPp clients and callees. */
  serverCpu: number;
  sippCpu: number;
  /** Aborted calls by cause, all clients together. */
  aborted: Record<string, number>;
  /** The start of the first SIPp client's error log that has one (why calls failed or were left undone). */
  errors?: string;
  /** The server's processes and threads during the step (are its N workers there?). */
  processes: number;
  threads: number;
}

export interface LoadRun {
  server: Running;
  clients: number;
  stepS: number;
  /** Client i's spec at a step, at its rate (scenario, injection file, service…); rate, calls, ports set here. */
  spec(client: number, step: number, rate: number): Partial<SippSpec> & { scenario: string };
  /** SIPp processes running beside the clients (the callees), for their CPU. */
  sippPids?: () => number[];
  port(): number;
}

/** The rate split among the clients (whole calls/s each, the remainder to the first ones); none at 0. */
export function split(rate: number, clients: number): number[] {
  const n = Math.max(1, Math.min(clients, rate));
  const base = Math.floor(rate / n);
  return Array.from({ length: n }, (_, i) => base + (i < rate - base * n ? 1 : 0));
}

let stepNo = 0;

/**
 * Offers `rate` calls/s for stepS seconds. Ok when ≥ 99 % of the calls offered succeeded (< 1 % failed or left
 * unfinished) and each SIPp client finished within the step's time limit (1.05 × stepS + 0.3 s) — a server that
 * answers late makes SIPp fall behind its rate and take longer — or was stopped by its global timeout (whole seconds,
 * at least 0.5 s past the limit) with its unfinished calls among the 1 %: a call stuck on a lost datagram (SIPp's
 * callee does not answer a retransmitted BYE once its call is over) does not fail the whole step.
 */
export async function step(load: LoadRun, rate: number): Promise<Step> {
  const n = stepNo++;
  const rates = split(rate, load.clients);
  const pids = load.server.pids();
  const server = new CpuMeter();
  const sipp = new CpuMeter();
  const sippPids = () => [
    ...(load.sippPids?.() ?? []),
    ...runs.flatMap((r) => (r.pid === undefined ? [] : [r.pid])),
  ];
  server.sample(pids);
  sipp.sample(load.sippPids?.() ?? []);
  const server0 = server.total();
  const sipp0 = sipp.total();
  const limitS = load.stepS * 1.05 + 0.3;
  // SIPp's -timeout: an overloaded step costs little more than a passing one.
  const timeoutS = Math.ceil(limitS + 0.5);
  const started = performance.now();
  const runs = rates.map((r, i) =>
    runSipp(
      {
        to: `127.0.0.1:${load.server.port}`,
        rate: r,
        calls: r * load.stepS,
        limit: Math.max(100, r * 2),
        port: load.port(),
        timeoutS,
        extra: ['-timeout_error', '-max_recv_loops', '10000', '-max_sched_loops', '10000'],
        ...load.spec(i, n, r),
      },
      { timeoutMs: (timeoutS + 5) * 1000 },
    ),
  );
  // The CPU time of a process is read while it runs: a SIPp client that has exited is no longer in /proc.
  const sampler = setInterval(() => {
    server.sample(pids);
    sipp.sample(sippPids());
  }, 250);
  sipp.sample(sippPids());
  const results = await Promise.all(
    runs.map((r) => r.result.then((x) => ({ ...x, seconds: (performance.now() - started) / 1000 }))),
  );
  clearInterval(sampler);
  server.sample(pids);
  sipp.sample(load.sippPids?.() ?? []);
  const seconds = (performance.now() - started) / 1000;
  const total = rates.reduce((a, b) => a + b, 0) * load.stepS;
  const successful = results.reduce((a, r) => a + r.successful, 0);
  const failed = results.reduce((a, r) => a + r.failed, 0);
  const aborted: Record<string, number> = {};
  for (const r of results) for (const [c, k] of Object.entries(r.aborted)) aborted[c] = (aborted[c] ?? 0) + k;
  const errors = results.find((r) => r.errors !== '')?.errors;
  const out: Step = {
    rate,
    successful,
    failed,
    seconds,
    achieved: Math.round(successful / seconds),
    ok:
      successful >= total * 0.99 &&
      results.every(
        (r) => r.seconds <= limitS || (r.seconds >= timeoutS - 0.2 && /timed out after/.test(r.errors)),
      ),
    serverCpu: round2((server.total() - server0) / seconds),
    sippCpu: round2((sipp.total() - sipp0) / seconds),
    aborted,
    processes: pids.length,
    threads: pids.reduce((sum, pid) => sum + threads(pid), 0),
  };
  if (errors !== undefined) out.errors = errors.slice(0, 600);
  return out;
}

function threads(pid: number): number {
  try {
    return Number(/^Threads:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

export interface RampOptions {
  /** The first rate; doubled while steps pass. */
  start: number;
  /** Halvings of the interval between the last rate passed and the first failed (after the doubling). */
  refine: number;
  /** The most steps of one ramp. */
  maxSteps: number;
  /** Explicit rates instead, in order, until one fails (no doubling, no refinement). */
  rates?: number[];
  /** Called after each step (progress). */
  onStep?(s: Step): void;
}

export interface RampResult {
  /**
   * The best rate offered that passed (≥ 99 % of its calls succeeded within the time limit); 0 if none did. Not the successful calls
   * per wall second: that counts SIPp's start and the last answers, a few % of a short step, the same at any rate.
   */
  best: number;
  /** The server's CPU (cores) at that step. */
  serverCpu: number;
  sippCpu: number;
  steps: Step[];
  /** Why the ramp ended early (the server exited). */
  error?: string;
}

/** Doubles the rate from `start` until a step fails, then bisects between the last passed and the failed one. */
export async function ramp(load: LoadRun, opts: RampOptions): Promise<RampResult> {
  const steps: Step[] = [];
  let lo = 0;
  let hi: number | undefined;
  let error: string | undefined;
  const next = (): number | undefined => {
    if (steps.length >= opts.maxSteps) return undefined;
    if (opts.rates !== undefined) {
      const last = steps.at(-1);
      return last !== undefined && !last.ok ? undefined : opts.rates[steps.length];
    }
    if (hi === undefined) return lo === 0 ? opts.start : lo * 2;
    const refined = steps.length - steps.findIndex((s) => !s.ok);
    if (refined > opts.refine) return undefined;
    // Two significant figures: the interval's middle, unless that is one of its ends.
    const mid = roundTo2((lo + hi) / 2);
    return mid > lo && mid < hi ? mid : undefined;
  };
  for (let rate = next(); rate !== undefined; rate = next()) {
    const s = await step(load, rate);
    steps.push(s);
    opts.onStep?.(s);
    if (s.ok) lo = Math.max(lo, rate);
    else hi = Math.min(hi ?? rate, rate);
    if (!load.server.alive()) {
      error = `the server exited during the ${rate}/s step`;
      break;
    }
    // A failed step leaves transactions and retransmissions behind: let them die down.
    if (!s.ok) await new Promise((r) => setTimeout(r, 2000));
  }
  const best = steps
    .filter((s) => s.ok)
    .reduce<Step | undefined>((b, s) => (b === undefined || s.rate > b.rate ? s : b), undefined);
  const result: RampResult = {
    best: best?.rate ?? 0,
    serverCpu: best?.serverCpu ?? 0,
    sippCpu: best?.sippCpu ?? 0,
    steps,
  };
  if (error !== undefined) result.error = error;
  return result;
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

/** x rounded to two significant figures (1234 → 1200, 56 → 56). */
function roundTo2(x: number): number {
  const mag = 10 ** Math.max(0, Math.floor(Math.log10(Math.max(1, x))) - 1);
  return Math.round(x / mag) * mag;
}
