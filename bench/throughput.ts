// Throughput benchmark: OPTIONS/s, REGISTER/s and calls/s (INVITE…BYE through the proxy) at < 1 % failures,
// sipha against Kamailio 5.6 with an equivalent minimal config (bench/kamailio/kamailio.cfg), one after the other
// in the same run, driven by SIPp on this machine. Prints a table and writes bench/results/throughput.json.
import { type ChildProcess, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { runSipp, SCENARIOS, type SippSpec, writeInjection } from '../src/lab/sipp.js';

const STEP_S = Number(process.env.BENCH_STEP_S ?? 5);
const ONLY = process.env.BENCH_ONLY?.split(',');
const CLI = join(process.cwd(), 'dist', 'src', 'cli', 'main.js');
const tmp = mkdtempSync(join(tmpdir(), 'sipha-bench-'));

interface Running {
  port: number;
  stop(): Promise<void>;
}

interface Subject {
  name: string;
  start(port: number): Promise<Running>;
}

const sipha: Subject = {
  name: 'sipha',
  async start(port) {
    const cfg = join(tmp, 'sipha.yaml');
    writeFileSync(
      cfg,
      `sip:\n  listen: [udp://127.0.0.1:${port}]\n  domain: example.test\nlog: { level: warn }\n`,
    );
    return spawnServer(process.execPath, [CLI, 'start', '--config', cfg], port);
  },
};

const kamailio: Subject = {
  name: 'kamailio',
  async start(port) {
    const dir = mkdtempSync(join(tmp, 'kam-'));
    const cfg = join(process.cwd(), 'bench', 'kamailio', 'kamailio.cfg');
    return spawnServer(
      'kamailio',
      [
        '-DD',
        '-E',
        '-f',
        cfg,
        '-l',
        `udp:127.0.0.1:${port}`,
        '-w',
        dir,
        '-P',
        join(dir, 'pid'),
        '-m',
        '256',
        '-M',
        '32',
      ],
      port,
    );
  },
};

async function spawnServer(cmd: string, args: string[], port: number): Promise<Running> {
  const child: ChildProcess = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  let log = '';
  child.stderr?.on('data', (d: Buffer) => {
    log = (log + d.toString()).slice(-4000);
  });
  const deadline = Date.now() + 15_000;
  while (!(await answersOptions(port))) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`${cmd} did not start:\n${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    port,
    async stop() {
      try {
        process.kill(-child.pid!, 'SIGTERM');
      } catch {
        // already gone
      }
      await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
    },
  };
}

function answersOptions(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    const done = (ok: boolean) => {
      s.close();
      resolve(ok);
    };
    const t = setTimeout(() => done(false), 300);
    s.on('message', (m) => {
      clearTimeout(t);
      done(m.toString().startsWith('SIP/2.0 200'));
    });
    s.bind(0, '127.0.0.1', () => {
      const lp = s.address().port;
      const msg = `OPTIONS sip:127.0.0.1:${port} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:${lp};branch=z9hG4bKprobe${Date.now()}\r\nFrom: <sip:probe@127.0.0.1>;tag=1\r\nTo: <sip:127.0.0.1>\r\nCall-ID: probe${Date.now()}\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n`;
      s.send(msg, port, '127.0.0.1');
    });
  });
}

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
  const file = join(tmp, name);
  writeFileSync(file, edit(readFileSync(join(SCENARIOS, name.replace(/-sl/, '')), 'utf8')));
  return file;
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
      const uasPort = port();
      const uas = runSipp(
        { scenario: 'uas-call.xml', port: uasPort, timeoutS: 600, extra: ['-max_recv_loops', '10000'] },
        { timeoutMs: 600_000 },
      );
      const inf = writeInjection(join(tmp, 'callee.csv'), [`bench;${uasPort}`]);
      const reg = await runSipp({
        scenario: 'register.xml',
        to: `127.0.0.1:${server.port}`,
        inf,
        calls: 1,
        port: port(),
      }).result;
      if (reg.successful !== 1) throw new Error('could not register the callee');
      try {
        return await ramp(server.port, join(SCENARIOS, 'uac-call.xml'), this.rates, {
          service: 'bench',
          holdMs: 0,
        });
      } finally {
        uas.kill();
        await uas.result;
      }
    },
  },
};

async function main(): Promise<void> {
  const results: Record<string, Record<string, { best: number; steps: Step[] } | undefined>> = {};
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
  mkdirSync('bench/results', { recursive: true });
  writeFileSync(
    'bench/results/throughput.json',
    JSON.stringify(
      { date: new Date().toISOString(), cpu, cores: cpus().length, stepSeconds: STEP_S, results },
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
