// `npm run bench:transports`: REGISTER/s and calls/s over udp, tls and wss at < 1 % failures, sipha against Kamailio
// 5.6 (kamailio-tls.cfg), driven by our own load client (load-client.ts: SIPp here has neither TLS nor WebSocket).
// Each subject × transport × workload is a short ramp on a fresh server; the result is the best achieved rate of a
// clean step. Then the TLS reconnect storm (reconnect-storm.ts). Prints tables, writes bench/results/transports.json.
// Env: BENCH_STEP_S (5), BENCH_RATES (250,500,1000,2000), BENCH_CONNECTIONS (50), BENCH_ONLY=sipha|kamailio,
// BENCH_TRANSPORTS=udp,tls,wss, BENCH_WORKLOADS=register,call, BENCH_STORM_CLIENTS (2000); `--storm-only` runs the
// storm alone, `--no-storm` skips it.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeCert } from './certs.js';
import { TRANSPORTS, type Transport } from './connection.js';
import { runStep, type StepResult, type Workload } from './load-client.js';
import { reconnectStorm, type StormResult, stormTable } from './reconnect-storm.js';
import { freshPorts, type Running, startKamailio, startSipha } from './servers.js';

const STEP_S = Number(process.env.BENCH_STEP_S ?? 5);
const RATES = (process.env.BENCH_RATES ?? '250,500,1000,2000').split(',').map(Number);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const SUBJECTS = ['sipha', 'kamailio'].filter((s) => process.env.BENCH_ONLY?.split(',').includes(s) ?? true);
const ONLY_TRANSPORTS = process.env.BENCH_TRANSPORTS?.split(',');
const TRANSPORTS_RUN = TRANSPORTS.filter((t) => ONLY_TRANSPORTS?.includes(t) ?? true);
const WORKLOADS = (['register', 'call'] as const).filter(
  (w) => process.env.BENCH_WORKLOADS?.split(',').includes(w) ?? true,
);
const STORM_ONLY = process.argv.includes('--storm-only');
const NO_STORM = process.argv.includes('--no-storm');

// Ctrl-C: exit normally so the servers' 'exit' handler (servers.ts) kills them.
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => process.exit(130));

interface Ramp {
  best: number;
  /** Latencies of the best clean step, ms. */
  p50Ms?: number;
  p99Ms?: number;
  steps: StepResult[];
  error?: string;
}

type Results = Record<string, Partial<Record<Transport, Partial<Record<Workload, Ramp>>>>>;

/** Raises the offered rate until a step is not clean; the best clean step's achieved rate is the result. */
async function ramp(server: Running, transport: Transport, workload: Workload): Promise<Ramp> {
  const r: Ramp = { best: 0, steps: [] };
  for (const rate of RATES) {
    const s = await runStep({
      transport,
      port: server.ports[transport],
      workload,
      rate,
      seconds: STEP_S,
      connections: CONNECTIONS,
    });
    r.steps.push(s);
    const why = Object.entries(s.failures)
      .map(([k, n]) => `${n} ${k}`)
      .join(', ');
    process.stderr.write(
      `    ${rate}/s → ${s.achieved}/s, ${s.failed} failed${why === '' ? '' : ` (${why})`}, p50 ${s.p50Ms} ms, p99 ${s.p99Ms} ms, client CPU ${s.clientCpu}${s.lagged ? ', client behind' : ''} ${s.ok ? 'ok' : 'FAIL'}\n`,
    );
    if (!s.ok) break;
    const achieved = Math.min(s.achieved, rate);
    if (achieved >= r.best) {
      r.best = achieved;
      r.p50Ms = s.p50Ms;
      r.p99Ms = s.p99Ms;
    }
  }
  return r;
}

function table(results: Results): string[] {
  const fmt = (n: number | undefined) => (n === undefined ? 'n/a' : `${n.toLocaleString('en-US')}/s`);
  const lat = (r: Ramp | undefined) => (r?.p50Ms === undefined ? 'n/a' : `${r.p50Ms} / ${r.p99Ms} ms`);
  const out = [
    `Transports at < 1 % failures (load client on the same machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, node ${process.version}; ${STEP_S} s steps, ${CONNECTIONS} connections)`,
    '| transport | load | sipha | Kamailio 5.6 | sipha / Kamailio | sipha vs its UDP | p50 / p99 sipha | p50 / p99 Kamailio |',
    '|---|---|---:|---:|---:|---:|---:|---:|',
  ];
  for (const t of TRANSPORTS_RUN) {
    for (const w of WORKLOADS) {
      const s = results.sipha?.[t]?.[w];
      const k = results.kamailio?.[t]?.[w];
      const sUdp = results.sipha?.udp?.[w]?.best;
      const ratio = s !== undefined && k !== undefined && k.best > 0 ? (s.best / k.best).toFixed(2) : 'n/a';
      const vsUdp =
        s !== undefined && sUdp !== undefined && sUdp > 0 ? `${Math.round((100 * s.best) / sUdp)} %` : 'n/a';
      out.push(
        `| ${t} | ${w === 'call' ? 'calls' : 'REGISTER'} | ${fmt(s?.best)} | ${fmt(k?.best)} | ${ratio} | ${vsUdp} | ${lat(s)} | ${lat(k)} |`,
      );
    }
  }
  return out;
}

async function main(): Promise<void> {
  const tmp = mkdtempSync(join(tmpdir(), 'sipha-bench-transports-'));
  try {
    const cert = makeCert(tmp);
    const results: Results = {};
    if (!STORM_ONLY) {
      for (const subject of SUBJECTS) {
        results[subject] = {};
        for (const transport of TRANSPORTS_RUN) {
          results[subject][transport] = {};
          for (const workload of WORKLOADS) {
            process.stderr.write(`${subject} — ${transport} ${workload}\n`);
            const ports = freshPorts();
            let server: Running | undefined;
            try {
              server =
                subject === 'sipha'
                  ? await startSipha(tmp, ports, cert, { transports: [transport] })
                  : await startKamailio(tmp, ports, cert);
              results[subject][transport][workload] = await ramp(server, transport, workload);
            } catch (err) {
              // One subject or transport that cannot run (e.g. sipha without TLS yet) does not stop the others.
              const msg = `${err instanceof Error ? err.message : String(err)}\n${server?.log().slice(-1500) ?? ''}`;
              process.stderr.write(`    failed: ${msg.slice(0, 600)}\n`);
              results[subject][transport][workload] = { best: 0, steps: [], error: msg.slice(0, 2000) };
            } finally {
              await server?.stop();
            }
          }
        }
      }
      for (const line of table(results)) console.log(line);
    }
    let storm: StormResult[] | undefined;
    if (SUBJECTS.includes('sipha') && !NO_STORM && (STORM_ONLY || TRANSPORTS_RUN.includes('tls'))) {
      try {
        storm = await reconnectStorm(tmp, cert);
        console.log('');
        for (const line of stormTable(storm)) console.log(line);
      } catch (err) {
        console.error(
          `reconnect storm failed: ${err instanceof Error ? err.message.slice(0, 600) : String(err)}`,
        );
        process.exitCode = 1;
      }
    }
    mkdirSync('bench/results', { recursive: true });
    writeFileSync(
      'bench/results/transports.json',
      JSON.stringify(
        {
          date: new Date().toISOString(),
          cpu: cpus()[0]?.model,
          cores: cpus().length,
          node: process.version,
          stepSeconds: STEP_S,
          rates: RATES,
          connections: CONNECTIONS,
          results,
          storm,
        },
        null,
        2,
      ),
    );
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
