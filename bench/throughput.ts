// Throughput benchmark: OPTIONS/s, REGISTER/s and calls/s (INVITE…BYE through the proxy) at < 1 % failures,
// sipha against Kamailio 5.6 with an equivalent minimal config (bench/kamailio/kamailio.cfg), one after the other
// in the same run, driven by SIPp on this machine. Then past capacity: from a fresh process, calls at the clean rate,
// at 1.33× and 2× that, and at the clean rate again — goodput, failures by cause, CPU of the server and of SIPp,
// memory (PSS) and, for sipha, the event-loop delay p99 of each step. Prints two tables and writes
// bench/results/throughput.json.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { runSipp, SCENARIOS, type SippSpec, writeInjection } from '../src/lab/sipp.js';
import {
  type Callee,
  CpuMeter,
  pssMb,
  type Running,
  scenarioCopy as scenarioCopyIn,
  startCallee as startCalleeAs,
  startKamailio,
  startSipha,
  tolerantCallScenario,
} from './local-servers.js';

const STEP_S = Number(process.env.BENCH_STEP_S ?? 5);
/** Steps of the overload sequence last longer: a step's memory and delay need time to settle. */
const OVERLOAD_STEP_S = Number(process.env.BENCH_OVERLOAD_STEP_S ?? 8);
/** The clean rate of the overload sequence, calls/s (the ramp's result on this machine, rounded down). */
const CLEAN_RATE = Number(process.env.BENCH_CLEAN_RATE ?? 1500);
/**
 * Kamailio's shared memory, MB: sized for the load (at 3,000 calls/s its transactions need a few GB; with too little
 * it logs "could not allocate shared memory" and collapses, which would measure the setting, not the server).
 */
const KAM_SHM_MB = Number(process.env.BENCH_KAM_SHM_MB ?? 6144);
const ONLY = process.env.BENCH_ONLY?.split(',');
const ELD_PROBE = join(process.cwd(), 'dist', 'bench', 'eld-probe.js');
const tmp = mkdtempSync(join(tmpdir(), 'sipha-bench-'));

interface Subject {
  name: string;
  start(port: number): Promise<Running>;
}

const sipha: Subject = {
  name: 'sipha',
  async start(port) {
    const eldFile = join(tmp, `eld-${port}.json`);
    const running = await startSipha(tmp, port, {
      // One process, as the tables below describe (bench:scaling measures several workers).
      workers: 1,
      nodeArgs: ['--import', ELD_PROBE],
      env: { SIPHA_ELD_FILE: eldFile },
    });
    running.loopDelay = async () => {
      rmSync(eldFile, { force: true });
      for (const pid of running.pids()) process.kill(pid, 'SIGUSR2');
      for (let i = 0; i < 20; i++) {
        await new Promise((r) => setTimeout(r, 50));
        try {
          return JSON.parse(readFileSync(eldFile, 'utf8'));
        } catch {
          // not written yet
        }
      }
      return undefined;
    };
    return running;
  },
};

const kamailio: Subject = {
  name: 'kamailio',
  start: (port) => startKamailio(tmp, port, { shmMb: KAM_SHM_MB }),
};

let nextPort = 26000 + (process.pid % 1000) * 10;
const port = () => nextPort++;

interface Step {
  rate: number;
  successful: number;
  failed: number;
  seconds: number;
  achieved: number;
  ok: boolean;
}

/** One step of the overload sequence, measured from outside the server (and the loop delay from inside sipha). */
interface OverloadStep extends Step {
  /** Completed calls per second of offered load (calls started during the step / its nominal length); CPU likewise. */
  goodput: number;
  aborted: Record<string, number>;
  serverCpu: number;
  sippCpu: number;
  /** The server's proportional set size at the end of the step, MB (Kamailio's shared memory counted once). */
  pssMb: number;
  loopDelayP99?: number;
}

/** Runs one SIPp load step: `rate` calls/s for STEP_S seconds. */
async function step(target: number, scenario: string, rate: number, more: Partial<SippSpec>): Promise<Step> {
  const total = rate * STEP_S;
  const started = performance.now();
  const r = await runSipp(
    {
      scenario,
      to: `127.0.0.1:${target}`,
      rate,
      calls: total,
      limit: Math.max(100, rate * 2),
      port: port(),
      timeoutS: STEP_S * 3 + 10,
      extra: ['-timeout_error', '-max_recv_loops', '10000', '-max_sched_loops', '10000'],
      ...more,
    },
    { timeoutMs: (STEP_S * 3 + 20) * 1000 },
  ).result;
  const seconds = (performance.now() - started) / 1000;
  const achieved = Math.round(r.successful / seconds);
  const done = r.successful + r.failed;
  // Sustained: under 1 % failures, and SIPp finished within 20 % of the nominal time (it did not fall behind).
  const ok = done >= total * 0.99 && r.failed <= done * 0.01 && seconds <= STEP_S * 1.2 + 1;
  return { rate, successful: r.successful, failed: r.failed, seconds, achieved, ok };
}

/** Raises the rate until a step fails; the result is the best sustained achieved rate. */
async function ramp(
  target: number,
  scenario: string,
  rates: number[],
  more: Partial<SippSpec> = {},
): Promise<{ best: number; steps: Step[] }> {
  const steps: Step[] = [];
  let best = 0;
  for (const rate of rates) {
    const s = await step(target, scenario, rate, more);
    steps.push(s);
    process.stderr.write(
      `    ${rate}/s → ${s.achieved}/s, ${s.failed} failed, ${s.seconds.toFixed(1)} s ${s.ok ? 'ok' : 'FAIL'}\n`,
    );
    if (!s.ok) break;
    best = Math.max(best, Math.min(s.achieved, rate));
  }
  return { best, steps };
}

function scenarioCopy(name: string, edit: (s: string) => string): string {
  return scenarioCopyIn(tmp, name, edit);
}

/** SIPp as the called phone, registered with the server as `bench` (what the call scenarios dial). */
function startCallee(server: Running, timeoutS: number): Promise<Callee> {
  return startCalleeAs(tmp, server, { aor: 'bench', uasPort: port(), regPort: port(), timeoutS });
}

const BENCHES: Record<
  string,
  {
    rates: number[];
    run(subject: Subject, server: Running): Promise<{ best: number; steps: Step[] } | undefined>;
  }
> = {
  options_stateless: {
    rates: [2000, 4000, 8000, 12000, 16000, 20000, 24000, 28000, 32000],
    async run(subject, server) {
      if (subject.name === 'sipha') return undefined; // sipha always answers OPTIONS in a transaction
      const sc = scenarioCopy('options-sl.xml', (s) =>
        s.replace('OPTIONS sip:[remote_ip]', 'OPTIONS sip:sl@[remote_ip]'),
      );
      return ramp(server.port, sc, this.rates);
    },
  },
  options_stateful: {
    rates: [2000, 4000, 6000, 8000, 10000, 12000, 14000, 16000, 20000],
    async run(_subject, server) {
      return ramp(server.port, join(SCENARIOS, 'options.xml'), this.rates);
    },
  },
  register: {
    rates: [1000, 2000, 4000, 6000, 8000, 10000, 12000, 14000],
    async run(_subject, server) {
      const rows = Array.from({ length: 20000 }, (_, i) => `u${i};5999`);
      const inf = writeInjection(join(tmp, 'users.csv'), rows);
      return ramp(server.port, join(SCENARIOS, 'register.xml'), this.rates, { inf });
    },
  },
  calls: {
    rates: [250, 500, 1000, 1500, 2000, 2500, 3000, 3500],
    async run(_subject, server) {
      const callee = await startCallee(server, 600);
      try {
        return await ramp(server.port, join(SCENARIOS, 'uac-call.xml'), this.rates, {
          service: 'bench',
          holdMs: 0,
        });
      } finally {
        await callee.stop();
      }
    },
  },
};

async function main(): Promise<void> {
  const results: Record<string, Record<string, { best: number; steps: Step[] } | undefined>> = {};
  const overload: Record<string, OverloadStep[]> = {};
  if (ONLY === undefined || ONLY.includes('overload')) {
    for (const subject of [sipha, kamailio]) {
      process.stderr.write(`calls past capacity — ${subject.name}\n`);
      overload[subject.name] = await overloadSequence(subject);
    }
  }
  for (const [bench, def] of Object.entries(BENCHES)) {
    if (ONLY !== undefined && !ONLY.includes(bench)) continue;
    results[bench] = {};
    for (const subject of [sipha, kamailio]) {
      process.stderr.write(`${bench} — ${subject.name}\n`);
      const server = await subject.start(port());
      try {
        results[bench]![subject.name] = await def.run(subject, server);
      } finally {
        await server.stop();
      }
    }
  }
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  console.log(
    `Throughput at < 1 % failures (SIPp on the same machine: ${cpus().length} × ${cpu}, node ${process.version})`,
  );
  console.log('| load | sipha | Kamailio 5.6 | sipha / Kamailio |');
  console.log('|---|---:|---:|---:|');
  for (const [bench, r] of Object.entries(results)) {
    const s = r.sipha?.best;
    const k = r.kamailio?.best;
    const fmt = (n: number | undefined) => (n === undefined ? 'n/a' : `${n.toLocaleString('en-US')}/s`);
    const ratio = s !== undefined && k !== undefined && k > 0 ? (s / k).toFixed(2) : 'n/a';
    console.log(`| ${bench.replace('_', ' ')} | ${fmt(s)} | ${fmt(k)} | ${ratio} |`);
  }
  if (Object.keys(overload).length > 0) {
    console.log('');
    for (const line of overloadTable(overload)) console.log(line);
  }
  mkdirSync('bench/results', { recursive: true });
  writeFileSync(
    'bench/results/throughput.json',
    JSON.stringify(
      {
        date: new Date().toISOString(),
        cpu,
        cores: cpus().length,
        stepSeconds: STEP_S,
        kamailioSharedMemoryMb: KAM_SHM_MB,
        results,
        overload: { cleanRate: CLEAN_RATE, stepSeconds: OVERLOAD_STEP_S, steps: overload },
      },
      null,
      2,
    ),
  );
}

main()
  .catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(() => rmSync(tmp, { recursive: true, force: true }));

// ---- past capacity ----

async function overloadStep(
  server: Running,
  uasPid: number | undefined,
  rate: number,
): Promise<OverloadStep> {
  const total = rate * OVERLOAD_STEP_S;
  const serverCpu = new CpuMeter();
  const sippCpu = new CpuMeter();
  const pids = server.pids();
  serverCpu.sample(pids);
  if (uasPid !== undefined) sippCpu.sample([uasPid]);
  const cpu0 = serverCpu.total();
  const sipp0 = sippCpu.total();
  await server.loopDelay?.(); // resets the histogram: this step's delay only
  const started = performance.now();
  const run = runSipp(
    {
      scenario: callScenario(),
      to: `127.0.0.1:${server.port}`,
      rate,
      calls: total,
      limit: Math.max(100, rate * 2),
      port: port(),
      service: 'bench',
      holdMs: 0,
      timeoutS: OVERLOAD_STEP_S * 3 + 10,
      extra: ['-timeout_error', '-max_recv_loops', '10000', '-max_sched_loops', '10000'],
    },
    { timeoutMs: (OVERLOAD_STEP_S * 3 + 20) * 1000 },
  );
  const sampler = setInterval(() => {
    serverCpu.sample(pids);
    sippCpu.sample([...(uasPid === undefined ? [] : [uasPid]), ...(run.pid === undefined ? [] : [run.pid])]);
  }, 200);
  const r = await run.result;
  clearInterval(sampler);
  serverCpu.sample(pids);
  if (uasPid !== undefined) sippCpu.sample([uasPid]);
  const seconds = (performance.now() - started) / 1000;
  const delay = await server.loopDelay?.();
  const done = r.successful + r.failed;
  const step: OverloadStep = {
    rate,
    successful: r.successful,
    failed: r.failed,
    seconds,
    achieved: Math.round(r.successful / seconds),
    ok: done >= total * 0.99 && r.failed <= done * 0.01,
    goodput: Math.round(r.successful / OVERLOAD_STEP_S),
    aborted: r.aborted,
    serverCpu: (serverCpu.total() - cpu0) / OVERLOAD_STEP_S,
    sippCpu: (sippCpu.total() - sipp0) / OVERLOAD_STEP_S,
    pssMb: Math.round(pids.reduce((sum, pid) => sum + pssMb(pid), 0)),
  };
  if (delay !== undefined) step.loopDelayP99 = delay.p99;
  return step;
}

/** The caller of the overload sequence (Kamailio's two workers can forward a 180 after the 200). */
function callScenario(): string {
  return tolerantCallScenario(tmp);
}

/** Fresh server: the clean rate, 1.33× and 2× it, the clean rate again. */
async function overloadSequence(subject: Subject): Promise<OverloadStep[]> {
  const server = await subject.start(port());
  const steps: OverloadStep[] = [];
  let callee: Callee | undefined;
  try {
    callee = await startCallee(server, 900);
    const uasPid = callee.pid;
    for (const rate of [CLEAN_RATE, Math.round(CLEAN_RATE * 1.33), CLEAN_RATE * 2, CLEAN_RATE]) {
      const s = await overloadStep(server, uasPid, rate);
      steps.push(s);
      process.stderr.write(
        `    ${rate}/s → goodput ${s.goodput}/s, ${s.failed} failed ${JSON.stringify(s.aborted)}, cpu ${s.serverCpu.toFixed(2)} (SIPp ${s.sippCpu.toFixed(2)}), PSS ${s.pssMb} MB${s.loopDelayP99 === undefined ? '' : `, loop delay p99 ${s.loopDelayP99} ms`}\n`,
      );
      // Let retransmissions and lingering transactions of the step die down before the next one.
      await new Promise((r) => setTimeout(r, 2000));
    }
    if (/could not allocate/i.test(server.log()))
      process.stderr.write(`    ${subject.name}: starved of memory\n`);
  } finally {
    await callee?.stop();
    await server.stop();
  }
  return steps;
}

function overloadTable(rows: Record<string, OverloadStep[]>): string[] {
  const names = ['clean rate, fresh process', '1.33× (past capacity)', '2×', 'clean rate again'];
  const fmtFailed = (s: OverloadStep) => {
    const pct = s.successful + s.failed > 0 ? (100 * s.failed) / (s.successful + s.failed) : 0;
    const causes = Object.entries(s.aborted)
      .sort((a, b) => b[1] - a[1])
      .map(([c, n]) => `${n} ${c}`)
      .join(', ');
    return `${pct.toFixed(1)} %${causes === '' ? '' : ` (${causes})`}`;
  };
  const out = [
    `Calls past capacity (clean rate ${CLEAN_RATE}/s, ${OVERLOAD_STEP_S} s per step, one fresh process each)`,
    '| step | offered | sipha goodput | failed | CPU sipha / SIPp | PSS | loop delay p99 | Kamailio goodput | failed | CPU Kamailio / SIPp | PSS |',
    '|---|---:|---:|---|---|---:|---:|---:|---|---|---:|',
  ];
  const s = rows.sipha ?? [];
  const k = rows.kamailio ?? [];
  for (let i = 0; i < Math.max(s.length, k.length); i++) {
    const a = s[i];
    const b = k[i];
    const cells = (x: OverloadStep | undefined, withDelay: boolean) =>
      x === undefined
        ? ['n/a', 'n/a', 'n/a', 'n/a', ...(withDelay ? ['n/a'] : [])]
        : [
            `${x.goodput}/s`,
            fmtFailed(x),
            `${x.serverCpu.toFixed(2)} / ${x.sippCpu.toFixed(2)}`,
            `${x.pssMb} MB`,
            ...(withDelay ? [x.loopDelayP99 === undefined ? 'n/a' : `${x.loopDelayP99} ms`] : []),
          ];
    out.push(
      `| ${names[i]} | ${(a ?? b)?.rate}/s | ${[...cells(a, true), ...cells(b, false)].join(' | ')} |`,
    );
  }
  return out;
}
