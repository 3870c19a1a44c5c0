// Scaling benchmark: throughput of sipha at 1, 2, 4, … SIP workers (sip.workers) against Kamailio 5.6 with as many
// UDP children, in the same run, for three loads — OPTIONS answered by the server (stateful), REGISTER (a new AoR
// per request) and calls (INVITE…BYE through the proxy to SIPp callees that answer 200 at once). For each load and worker count, a fresh
// server of each and a ramp of offered rates (doubling, then bisecting; each step bounded in time, the rate split
// among parallel SIPp clients): the best rate with < 1 % failed and the CPU the server's processes used. Prints a
// table (load × workers: sipha/s, Kamailio/s, sipha / Kamailio, sipha's scaling rate_N / (N × rate_1)) and the goal
// lines, and writes scaling.json (with the machine) to BENCH_OUT (bench/results by default).
//
// Env: BENCH_WORKERS (1,2,4,… up to the cores), BENCH_CLIENTS (min(8, cores)), BENCH_STEP_S (5), BENCH_LOADS
// (options,register,calls), BENCH_SERVERS (sipha,kamailio), BENCH_START_OPTIONS / _REGISTER / _CALLS (the first rate
// of a ramp: 2000, 1000, 250), BENCH_RATES_OPTIONS / _REGISTER / _CALLS (explicit rates instead, comma-separated),
// BENCH_REFINE (bisections, 3), BENCH_MAX_STEPS (12), BENCH_KAM_SHM_MB (Kamailio's shared memory), and the binaries
// of bench/local-servers.ts (BENCH_NODE, BENCH_SIPP, BENCH_KAMAILIO, BENCH_KAMAILIO_MODULES).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { SCENARIOS, writeInjection } from '../../src/lab/sipp.js';
import {
  answeringCalleeScenario,
  type Callee,
  KAMAILIO,
  NODE,
  type Running,
  startCallee,
  startKamailio,
  startSipha,
} from '../local-servers.js';
import { type LoadRun, type RampResult, ramp, type Step } from './load.js';

const CORES = availableParallelism();
const list = (v: string | undefined): number[] | undefined =>
  v === undefined || v.trim() === '' ? undefined : v.split(',').map((x) => Number(x.trim()));
const num = (name: string, dflt: number): number => {
  const v = Number(process.env[name] ?? dflt);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} must be a positive number`);
  return v;
};

/** 1, 2, 4, … and the cores themselves when they are not a power of two. */
const WORKERS =
  list(process.env.BENCH_WORKERS) ??
  (() => {
    const w: number[] = [];
    for (let n = 1; n <= CORES; n *= 2) w.push(n);
    if (w.at(-1) !== CORES) w.push(CORES);
    return w;
  })();
if (!WORKERS.every((w) => Number.isInteger(w) && w >= 1))
  throw new Error('BENCH_WORKERS: whole numbers from 1, comma-separated');
const CLIENTS = Math.round(num('BENCH_CLIENTS', Math.min(8, CORES)));
const STEP_S = num('BENCH_STEP_S', 5);
const REFINE = Number(process.env.BENCH_REFINE ?? 3);
const MAX_STEPS = num('BENCH_MAX_STEPS', 12);
/** Kamailio's shared memory, MB: a few GB for its transactions at high rates (a starved Kamailio proves nothing). */
const KAM_SHM_MB = num('BENCH_KAM_SHM_MB', Math.min(6144, Math.floor(totalmem() / 2 ** 20 / 4)));
const OUT = process.env.BENCH_OUT ?? join('bench', 'results');
const tmp = mkdtempSync(join(tmpdir(), 'sipha-scaling-'));

type ServerName = 'sipha' | 'kamailio';
const SERVERS = (process.env.BENCH_SERVERS?.split(',') ?? ['sipha', 'kamailio']) as ServerName[];

interface Load {
  name: string;
  label: string;
  start: number;
  rates?: number[];
  /** Prepares a server for the load (callees) and says what each client runs. */
  prepare(
    server: Running,
  ): Promise<{ spec: LoadRun['spec']; sippPids?: () => number[]; stop(): Promise<void> }>;
}

let nextPort = 30000 + (process.pid % 500) * 60;
const port = () => {
  if (nextPort > 60000) nextPort = 30000;
  return nextPort++;
};

const ALL_LOADS: Load[] = [
  {
    name: 'options',
    label: 'OPTIONS (stateful)',
    start: num('BENCH_START_OPTIONS', 2000),
    rates: list(process.env.BENCH_RATES_OPTIONS),
    async prepare() {
      return { spec: () => ({ scenario: join(SCENARIOS, 'options.xml') }), stop: async () => {} };
    },
  },
  {
    name: 'register',
    label: 'REGISTER (new AoR each)',
    start: num('BENCH_START_REGISTER', 1000),
    rates: list(process.env.BENCH_RATES_REGISTER),
    async prepare() {
      const run = `${Date.now() % 100000}`;
      return {
        // A fresh AoR for every request: client c at step s registers r{run}s{s}c{c}u{k}, k < its calls.
        spec: (client, stepNo, rate) => {
          const prefix = `r${run}s${stepNo}c${client}`;
          const rows = Array.from({ length: rate * STEP_S }, (_, k) => `${prefix}u${k};5999`);
          return {
            scenario: join(SCENARIOS, 'register.xml'),
            inf: writeInjection(join(tmp, `${prefix}.csv`), rows),
          };
        },
        stop: async () => {},
      };
    },
  },
  {
    name: 'calls',
    label: 'calls (INVITE…BYE)',
    start: num('BENCH_START_CALLS', 250),
    rates: list(process.env.BENCH_RATES_CALLS),
    async prepare(server) {
      // One SIPp callee per client (one SIPp would be the bottleneck), each its own AoR: bench0, bench1, …; they
      // answer 200 without 180 (see answeringCalleeScenario).
      const uas = answeringCalleeScenario(tmp);
      const callees: Callee[] = [];
      try {
        for (let i = 0; i < CLIENTS; i++) {
          callees.push(
            await startCallee(tmp, server, {
              aor: `bench${i}`,
              uasPort: port(),
              regPort: port(),
              timeoutS: 7200,
              scenario: uas,
            }),
          );
        }
      } catch (err) {
        await Promise.all(callees.map((c) => c.stop()));
        throw err;
      }
      const scenario = join(SCENARIOS, 'uac-call.xml');
      return {
        spec: (client) => ({ scenario, service: `bench${client}`, holdMs: 0 }),
        sippPids: () => callees.flatMap((c) => (c.pid === undefined ? [] : [c.pid])),
        stop: async () => {
          await Promise.all(callees.map((c) => c.stop()));
        },
      };
    },
  },
];
const LOADS = ALL_LOADS.filter(
  (l) => process.env.BENCH_LOADS === undefined || process.env.BENCH_LOADS.split(',').includes(l.name),
);

interface Cell {
  /** Best rate with < 1 % failed (0 when none passed or the server did not start). */
  best: number;
  serverCpu: number;
  sippCpu: number;
  steps: Step[];
  error?: string;
  /** Kamailio logged "could not allocate" (starved of shared memory). */
  starved?: boolean;
}

async function startServer(name: ServerName, workers: number): Promise<Running> {
  return name === 'sipha'
    ? startSipha(tmp, port(), { workers })
    : startKamailio(tmp, port(), { shmMb: KAM_SHM_MB, children: workers });
}

async function measure(load: Load, name: ServerName, workers: number, start: number): Promise<Cell> {
  let server: Running;
  try {
    server = await startServer(name, workers);
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    process.stderr.write(`    did not start: ${msg.slice(0, 600)}\n`);
    return { best: 0, serverCpu: 0, sippCpu: 0, steps: [], error: `start failed: ${msg.slice(0, 2000)}` };
  }
  let prepared: Awaited<ReturnType<Load['prepare']>> | undefined;
  try {
    prepared = await load.prepare(server);
    const run: LoadRun = { server, clients: CLIENTS, stepS: STEP_S, port, spec: prepared.spec };
    if (prepared.sippPids !== undefined) run.sippPids = prepared.sippPids;
    const r: RampResult = await ramp(run, {
      start,
      refine: REFINE,
      maxSteps: MAX_STEPS,
      ...(load.rates === undefined ? {} : { rates: load.rates }),
      onStep: (s) =>
        process.stderr.write(
          `    ${s.rate}/s → ${s.achieved}/s, ${s.successful + s.failed} of ${s.rate * STEP_S} done, ${s.failed} failed${Object.keys(s.aborted).length > 0 ? ` ${JSON.stringify(s.aborted)}` : ''}, ${s.seconds.toFixed(1)} s, CPU ${s.serverCpu} (SIPp ${s.sippCpu}) ${s.ok ? 'ok' : 'FAIL'}\n`,
        ),
    });
    const cell: Cell = { best: r.best, serverCpu: r.serverCpu, sippCpu: r.sippCpu, steps: r.steps };
    if (r.error !== undefined) cell.error = `${r.error}:\n${server.log().slice(-1500)}`;
    if (server.starved()) cell.starved = true;
    return cell;
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    process.stderr.write(`    failed: ${msg.slice(0, 600)}\n`);
    return { best: 0, serverCpu: 0, sippCpu: 0, steps: [], error: msg.slice(0, 2000) };
  } finally {
    await prepared?.stop().catch(() => {});
    await server.stop();
  }
}

function version(cmd: string, args: string[], pattern: RegExp): string {
  try {
    const out = execFileSync(cmd, args, {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 5000,
    });
    return pattern.exec(out)?.[1] ?? out.trim().split('\n')[0] ?? 'unknown';
  } catch (err) {
    // sipp -v exits 1 after printing its version
    const out = String((err as { stdout?: string }).stdout ?? '');
    return pattern.exec(out)?.[1] ?? 'unknown';
  }
}

function machine() {
  let model = 'unknown CPU';
  try {
    model = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? model;
  } catch {
    // not Linux
  }
  return {
    cores: CORES,
    model,
    memoryGb: Math.round(totalmem() / 2 ** 30),
    node: version(NODE, ['--version'], /(v\d+\.\d+\.\d+)/),
    sipp: version(process.env.BENCH_SIPP ?? 'sipp', ['-v'], /SIPp (v[\w.-]*\w)/),
    kamailio: version(KAMAILIO, ['-v'], /version: kamailio ([\d.]+)/),
    binaries: { node: NODE, sipp: process.env.BENCH_SIPP ?? 'sipp', kamailio: KAMAILIO },
  };
}

const fmtRate = (c: Cell | undefined): string =>
  c === undefined
    ? 'n/a'
    : c.error?.startsWith('start failed') === true
      ? 'did not start'
      : `${c.best.toLocaleString('en-US')}/s${c.starved === true ? ' (starved)' : ''}${c.error !== undefined ? ' (exited)' : ''}`;
const fmtCpu = (c: Cell | undefined): string =>
  c === undefined || c.best === 0 ? '–' : c.serverCpu.toFixed(2);

async function main(): Promise<void> {
  const m = machine();
  process.stderr.write(
    `scaling: workers ${WORKERS.join(',')}, ${CLIENTS} SIPp clients, ${STEP_S}-s steps; ${m.cores} × ${m.model}, node ${m.node}, SIPp ${m.sipp}, Kamailio ${m.kamailio} (-m ${KAM_SHM_MB})\n`,
  );
  const results: Record<string, Record<number, Partial<Record<ServerName, Cell>>>> = {};
  for (const load of LOADS) {
    const byWorkers: Record<number, Partial<Record<ServerName, Cell>>> = {};
    results[load.name] = byWorkers;
    for (const workers of WORKERS) {
      byWorkers[workers] = {};
      for (const name of SERVERS) {
        process.stderr.write(`${load.name} — ${name}, ${workers} worker${workers === 1 ? '' : 's'}\n`);
        // Start where the previous worker count got to (it should pass again), not from the bottom.
        const prev = WORKERS.filter((w) => w < workers)
          .map((w) => byWorkers[w]?.[name]?.best ?? 0)
          .reduce((a, b) => Math.max(a, b), 0);
        const start = Math.max(load.start, prev);
        byWorkers[workers][name] = await measure(load, name, workers, start);
      }
    }
  }
  const { lines, goals } = table(results, m);
  for (const l of lines) console.log(l);
  mkdirSync(OUT, { recursive: true });
  const file = join(OUT, 'scaling.json');
  writeFileSync(
    file,
    JSON.stringify(
      {
        date: new Date().toISOString(),
        machine: m,
        settings: {
          workers: WORKERS,
          clients: CLIENTS,
          stepSeconds: STEP_S,
          refine: REFINE,
          maxSteps: MAX_STEPS,
          kamailioSharedMemoryMb: KAM_SHM_MB,
        },
        goals,
        results,
      },
      null,
      2,
    ),
  );
  process.stderr.write(`wrote ${file}\n`);
}

function table(
  results: Record<string, Record<number, Partial<Record<ServerName, Cell>>>>,
  m: ReturnType<typeof machine>,
): { lines: string[]; goals: Record<string, unknown> } {
  const lines = [
    `Scaling over SIP workers (UDP, < 1 % failed, ${STEP_S}-s steps, ${CLIENTS} SIPp clients on the same machine: ${m.cores} × ${m.model}, node ${m.node}, SIPp ${m.sipp}, Kamailio ${m.kamailio} with as many UDP children)`,
    '| load | workers | sipha | CPU | Kamailio | CPU | sipha / Kamailio | sipha scaling |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  let worstScaling: { v: number; at: string } | undefined;
  let worstRatio: { v: number; at: string } | undefined;
  for (const load of LOADS) {
    const byWorkers = results[load.name] ?? {};
    const one = byWorkers[1]?.sipha?.best;
    for (const workers of WORKERS) {
      const s = byWorkers[workers]?.sipha;
      const k = byWorkers[workers]?.kamailio;
      const ratio = s !== undefined && k !== undefined && k.best > 0 ? s.best / k.best : undefined;
      const scaling = s !== undefined && one !== undefined && one > 0 ? s.best / (workers * one) : undefined;
      const at = `${load.name}, ${workers} worker${workers === 1 ? '' : 's'}`;
      if (
        scaling !== undefined &&
        workers > 1 &&
        workers <= 8 &&
        (worstScaling === undefined || scaling < worstScaling.v)
      )
        worstScaling = { v: scaling, at };
      if (ratio !== undefined && (worstRatio === undefined || ratio < worstRatio.v))
        worstRatio = { v: ratio, at };
      lines.push(
        `| ${load.label} | ${workers} | ${fmtRate(s)} | ${fmtCpu(s)} | ${fmtRate(k)} | ${fmtCpu(k)} | ${ratio === undefined ? 'n/a' : ratio.toFixed(2)} | ${scaling === undefined ? 'n/a' : scaling.toFixed(2)} |`,
      );
    }
  }
  lines.push(
    '',
    "CPU: cores used by the server's processes at its best step. sipha scaling: rate_N / (N × rate_1).",
  );
  const verdict = (w: { v: number; at: string } | undefined, goal: number) =>
    w === undefined
      ? 'not measured'
      : `${w.v >= goal ? 'met' : 'NOT met'} (lowest ${w.v.toFixed(2)}: ${w.at})`;
  const scalingLine = `Goal: sipha at N workers ≥ 0.8 × N × its 1-worker rate, up to 8 workers — ${verdict(worstScaling, 0.8)}`;
  const ratioLine = `Goal: sipha ≥ 1.0 × Kamailio with as many children — ${verdict(worstRatio, 1.0)}`;
  lines.push(scalingLine, ratioLine);
  // sipha's SIP workers are processes: at N workers it runs more of them than at one, or sip.workers did nothing.
  const processes = (c: Cell | undefined) => Math.max(0, ...(c?.steps ?? []).map((st) => st.processes));
  for (const load of LOADS) {
    const byWorkers = results[load.name] ?? {};
    const one = processes(byWorkers[1]?.sipha);
    for (const workers of WORKERS) {
      const n = processes(byWorkers[workers]?.sipha);
      if (workers > 1 && one > 0 && n > 0 && n <= one)
        lines.push(
          `Note: sipha ran ${n} process${n === 1 ? '' : 'es'} at ${workers} workers (${load.name}), as at 1: sip.workers had no effect, that row measures one worker.`,
        );
    }
  }
  return {
    lines,
    goals: {
      scaling: {
        goal: 0.8,
        lowest: worstScaling ?? null,
        met: worstScaling !== undefined && worstScaling.v >= 0.8,
      },
      kamailio: {
        goal: 1.0,
        lowest: worstRatio ?? null,
        met: worstRatio !== undefined && worstRatio.v >= 1.0,
      },
    },
  };
}

main()
  .catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(() => rmSync(tmp, { recursive: true, force: true }));
