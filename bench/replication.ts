// Replication benchmark: lag p50/p99 at 1,000 REGISTER/s, and the backup's memory per binding (100,000)
// and per dialog (20,000). The primary is a SipServer in this process fed by SIPp; the backup a replica in a child
// process (bench/replication-replica.ts). Prints a table and writes bench/results/replication.json.
// BENCH_ONLY=ackwait runs only the cost of "acknowledged means replicated" instead (ha.replication.ack_wait_ms on
// and off): REGISTER throughput and latency and call setup time, from a load generator in this process (no SIPp),
// into bench/results/replication-ackwait.json.
import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { WorkerRoleHolder } from '../src/app/worker-role.js';
import { configSchema } from '../src/config/schema.js';
import { adaptStores } from '../src/ha/replication/store-adapter.js';
import { WorkerReplication } from '../src/ha/replication/worker-replication.js';
import { runSipp, writeInjection } from '../src/lab/sipp.js';
import { createLogger } from '../src/log/logger.js';
import { type Dialog, dialogId } from '../src/server/dialogs.js';
import { SipServer } from '../src/server/sip-server.js';
import { AutoAnswer, inviteRequest, type LoadResult, registerRequest, runLoad } from './ackwait-load.js';
import type { ReplicaReply, ReplicaRequest } from './replication-replica.js';

const RATE = Number(process.env.BENCH_RATE ?? 1000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const USERS = 5000;
const BINDINGS = Number(process.env.BENCH_BINDINGS ?? 100_000);
const DIALOGS = Number(process.env.BENCH_DIALOGS ?? 20_000);
const GOALS = { lagP99Ms: 5, bytesPerBinding: 1024, bytesPerDialog: 2048 };
const ONLY = process.env.BENCH_ONLY;
/** The acknowledgement-wait comparison: bounded in count (and each request in time, 2 s). */
const ACK_REGISTERS = Number(process.env.BENCH_ACK_REGISTERS ?? 4000);
const ACK_CALLS = Number(process.env.BENCH_ACK_CALLS ?? 1000);
const ACK_WAIT_MS = Number(process.env.BENCH_ACK_WAIT_MS ?? 10);

const log = createLogger('warn', 'bench');
const key = randomBytes(32);
const tmp = mkdtempSync(join(tmpdir(), 'sipha-bench-repl-'));

async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a !== null ? a.port : 0));
    });
  });
}

class Replica {
  private constructor(
    private readonly child: ChildProcess,
    readonly baseline: number,
  ) {}

  static async start(primaryPort: number): Promise<Replica> {
    const child = fork(join(import.meta.dirname, 'replication-replica.js'), [], {
      execArgv: ['--expose-gc'],
      env: {
        ...process.env,
        SIPHA_BENCH_KEY: key.toString('hex'),
        SIPHA_BENCH_PRIMARY_PORT: String(primaryPort),
      },
    });
    const ready = await new Promise<ReplicaReply>((resolve) =>
      child.once('message', (m) => resolve(m as ReplicaReply)),
    );
    return new Replica(child, ready.type === 'ready' ? ready.heapUsed : 0);
  }

  measure(): Promise<Extract<ReplicaReply, { type: 'measured' }>> {
    return new Promise((resolve) => {
      this.child.once('message', (m) => resolve(m as Extract<ReplicaReply, { type: 'measured' }>));
      this.child.send({ type: 'measure' } satisfies ReplicaRequest);
    });
  }

  stop(): Promise<void> {
    return new Promise((resolve) => {
      this.child.once('exit', () => resolve());
      this.child.send({ type: 'stop' } satisfies ReplicaRequest);
    });
  }
}

async function waitFor(
  cond: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function primary(sipPort: number, replPort: number, ackWaitMs = 0) {
  const config = configSchema.parse({
    sip: {
      listen: [`udp://127.0.0.1:${sipPort}`],
      domain: 'example.test',
      // The comparison measures the wait, not overload control's 503s on a busy host.
      ...(ONLY === 'ackwait' ? { overload: { enabled: false } } : {}),
    },
  });
  const server = new SipServer({ config, resolvePath: (p) => p, log });
  const role = new WorkerRoleHolder();
  role.set('primary');
  await server.start();
  const node = new WorkerReplication({
    key,
    nodeId: 'bench-primary',
    role,
    stores: adaptStores(server),
    listen: [{ host: '127.0.0.1', port: replPort, family: 4 }],
    peers: [{ host: '127.0.0.1', port: 9, family: 4 }],
    log,
    ackWaitMs,
  });
  await node.start();
  // As start-worker-replication.ts wires it in the SIP worker.
  if (ackWaitMs > 0) server.proxy.commitGate = node.ackBarrier;
  return { server, node };
}

async function lagRun() {
  const sipPort = await freePort();
  const replPort = await freePort();
  const { server, node } = await primary(sipPort, replPort);
  const replica = await Replica.start(replPort);
  await waitFor(() => node.status().synced, 10_000, 'replica synced');
  const rows: string[] = [];
  for (let i = 0; i < USERS; i++) rows.push(`user${i};${6000 + (i % 1000)}`);
  const inf = writeInjection(join(tmp, 'users.csv'), rows);
  const total = RATE * SECONDS;
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  const started = Date.now();
  const r = await runSipp(
    {
      scenario: 'register.xml',
      to: `127.0.0.1:${sipPort}`,
      inf,
      rate: RATE,
      calls: total,
      limit: 2000,
      port: await freePort(),
      timeoutS: SECONDS * 3,
    },
    { timeoutMs: SECONDS * 4000 },
  ).result;
  const elapsed = (Date.now() - started) / 1000;
  loop.disable();
  await waitFor(() => node.source.drained, 10_000, 'replica caught up');
  const h = node.source.lagTotal;
  const m = await replica.measure();
  const result = {
    registers: {
      successful: r.successful,
      failed: r.failed,
      seconds: elapsed,
      perSecond: r.successful / elapsed,
    },
    changes: h.count,
    lagP50Ms: h.percentile(0.5),
    lagP99Ms: h.percentile(0.99),
    lagMaxMs: h.max,
    /** The primary's own event-loop delay during the run: the floor under any lag it measures. */
    primaryLoopDelayP99Ms: loop.percentile(99) / 1e6,
    primaryLoopDelayMaxMs: loop.max / 1e6,
    backupBindings: m.bindings,
    primaryBindings: server.location.size,
  };
  await replica.stop();
  await node.stop();
  await server.stop(0);
  return result;
}

/** The same rate of changes without the SIP stack: the replication path's own share of the lag. */
async function syntheticRun() {
  const sipPort = await freePort();
  const replPort = await freePort();
  const { server, node } = await primary(sipPort, replPort);
  const replica = await Replica.start(replPort);
  await waitFor(() => node.status().synced, 10_000, 'replica synced');
  const total = RATE * SECONDS;
  let i = 0;
  const started = performance.now();
  await new Promise<void>((resolve) => {
    // Catch up to the schedule each tick, as a steady 1,000 REGISTER/s would.
    const timer = setInterval(() => {
      const due = Math.min(total, Math.floor(((performance.now() - started) * RATE) / 1000));
      for (; i < due; i++) {
        const now = performance.now();
        server.location.put({
          aor: `user${i % USERS}@example.test`,
          contact: `sip:user${i % USERS}@127.0.0.1:${6000 + (i % 1000)}`,
          q: 1000,
          expiresAt: now + 3_600_000,
          callId: `synthetic-${i}@127.0.0.1`,
          cseq: 1,
          path: [],
          received: { transport: 'udp', address: '127.0.0.1', port: 6000 + (i % 1000) },
          updatedAt: now,
        });
      }
      if (i >= total) {
        clearInterval(timer);
        resolve();
      }
    }, 1);
  });
  await waitFor(() => node.source.drained, 10_000, 'replica caught up');
  const h = node.source.lagTotal;
  const result = {
    changes: h.count,
    lagP50Ms: h.percentile(0.5),
    lagP99Ms: h.percentile(0.99),
    lagMaxMs: h.max,
  };
  await replica.stop();
  await node.stop();
  await server.stop(0);
  return result;
}

async function memoryRun() {
  const sipPort = await freePort();
  const replPort = await freePort();
  const { server, node } = await primary(sipPort, replPort);
  // Bindings as a REGISTER through the registrar makes them: AOR key, contact, Call-ID, received.
  const now = performance.now();
  for (let i = 0; i < BINDINGS; i++) {
    server.location.put({
      aor: `user${i}@example.test`,
      contact: `sip:user${i}@192.0.2.${i % 250}:${5060 + (i % 1000)}`,
      q: 1000,
      expiresAt: now + 3_600_000,
      callId: `${randomBytes(8).toString('hex')}@192.0.2.${i % 250}`,
      cseq: 1,
      path: [],
      received: { transport: 'udp', address: `192.0.2.${i % 250}`, port: 5060 + (i % 1000) },
      updatedAt: now,
    });
  }
  const replica = await Replica.start(replPort);
  const snapStart = Date.now();
  await waitFor(async () => (await replica.measure()).synced, 120_000, 'snapshot of bindings');
  const snapshotMs = Date.now() - snapStart;
  const withBindings = await replica.measure();
  // Dialogs reach the backup as stream changes (created + confirmed), like calls answered after it connected.
  for (let i = 0; i < DIALOGS; i++) {
    const callId = `${randomBytes(12).toString('hex')}@192.0.2.${i % 250}`;
    const fromTag = randomBytes(5).toString('hex');
    const toTag = randomBytes(5).toString('hex');
    const d: Dialog = {
      id: dialogId(callId, fromTag, toTag),
      callId,
      fromTag,
      toTag,
      caller: `sip:user${i}@example.test`,
      callee: `sip:user${i + 1}@example.test`,
      state: 'confirmed',
      createdAt: Date.now(),
      confirmedAt: Date.now(),
    };
    // Made here, as if by this node's SIP handling: heard once, as `created`, and streamed.
    server.dialogs.restore(d, 'local');
    if (i % 1000 === 999) await new Promise((r) => setImmediate(r));
  }
  await waitFor(() => node.source.drained, 60_000, 'dialogs replicated');
  const withDialogs = await replica.measure();
  await replica.stop();
  await node.stop();
  await server.stop(0);
  return {
    bindings: withBindings.bindings,
    dialogs: withDialogs.dialogs,
    snapshotMs,
    heapBaseline: replica.baseline,
    heapWithBindings: withBindings.heapUsed,
    heapWithDialogs: withDialogs.heapUsed,
    bytesPerBinding: Math.round((withBindings.heapUsed - replica.baseline) / withBindings.bindings),
    bytesPerDialog: Math.round((withDialogs.heapUsed - withBindings.heapUsed) / withDialogs.dialogs),
  };
}

/** One side of the comparison: a primary with a synced backup (a child process), ack wait `ackWaitMs` (0: off). */
async function ackWaitRun(ackWaitMs: number) {
  const sipPort = await freePort();
  const replPort = await freePort();
  const { server, node } = await primary(sipPort, replPort, ackWaitMs);
  const replica = await Replica.start(replPort);
  await waitFor(() => node.status().synced, 10_000, 'replica synced');
  // A short warm-up (JIT), not counted.
  await runLoad(sipPort, 500, 16, registerRequest(1000));
  const before = { ...node.ackBarrier.stats };
  const registers = await runLoad(sipPort, ACK_REGISTERS, 32, registerRequest(1000));
  const callee = await AutoAnswer.start(sipPort, 'callee');
  const calls = await runLoad(sipPort, ACK_CALLS, 8, inviteRequest('callee', `w${ackWaitMs}`));
  callee.stop();
  const st = node.ackBarrier.stats;
  const waits = st.waits - before.waits;
  const result = {
    ackWaitMs,
    registers,
    calls,
    waits,
    timeouts: st.timeouts - before.timeouts,
    meanWaitMs: waits === 0 ? null : (st.waitedMs - before.waitedMs) / waits,
    maxWaitMs: waits === 0 ? null : st.maxWaitMs,
    lagP50Ms: node.source.lagTotal.percentile(0.5),
    lagP99Ms: node.source.lagTotal.percentile(0.99),
  };
  await replica.stop();
  await node.stop();
  await server.stop(0);
  return result;
}

async function ackWaitMain(): Promise<void> {
  const off = await ackWaitRun(0);
  const on = await ackWaitRun(ACK_WAIT_MS);
  const f = (x: number | null) => (x === null || Number.isNaN(x) ? '-' : x.toFixed(2));
  const failed = (r: LoadResult) => (r.failed > 0 ? ` (${r.failed} failed)` : '');
  const rows: Array<[string, string, string]> = [
    ['', 'ack_wait_ms 0 (off)', `ack_wait_ms ${ACK_WAIT_MS}`],
    [
      `REGISTER/s (${ACK_REGISTERS}, 32 outstanding)`,
      off.registers.perSecond.toFixed(0) + failed(off.registers),
      on.registers.perSecond.toFixed(0) + failed(on.registers),
    ],
    ['REGISTER → 200 p50 (ms)', f(off.registers.p50Ms), f(on.registers.p50Ms)],
    ['REGISTER → 200 p99 (ms)', f(off.registers.p99Ms), f(on.registers.p99Ms)],
    [
      `call setup INVITE → 200 p50 (ms) (${ACK_CALLS}, 8 outstanding)`,
      f(off.calls.p50Ms) + failed(off.calls),
      f(on.calls.p50Ms) + failed(on.calls),
    ],
    ['call setup INVITE → 200 p99 (ms)', f(off.calls.p99Ms), f(on.calls.p99Ms)],
    ['responses held / timed out', `${off.waits} / ${off.timeouts}`, `${on.waits} / ${on.timeouts}`],
    [
      'held: mean / max wait (ms)',
      `${f(off.meanWaitMs)} / ${f(off.maxWaitMs)}`,
      `${f(on.meanWaitMs)} / ${f(on.maxWaitMs)}`,
    ],
    [
      'replication lag p50 / p99 (ms)',
      `${f(off.lagP50Ms)} / ${f(off.lagP99Ms)}`,
      `${f(on.lagP50Ms)} / ${f(on.lagP99Ms)}`,
    ],
  ];
  const w = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i]?.length ?? 0)));
  for (const r of rows) process.stdout.write(`${r.map((c, i) => c.padEnd(w[i] ?? 0)).join('  ')}\n`);
  mkdirSync(join(process.cwd(), 'bench', 'results'), { recursive: true });
  writeFileSync(
    join(process.cwd(), 'bench', 'results', 'replication-ackwait.json'),
    `${JSON.stringify({ date: new Date().toISOString(), node: process.version, cpus: cpus().length, cpu: cpus()[0]?.model, off, on }, null, 2)}\n`,
  );
  rmSync(tmp, { recursive: true, force: true });
}

async function main(): Promise<void> {
  if (ONLY === 'ackwait') return ackWaitMain();
  const lag = await lagRun();
  const synthetic = await syntheticRun();
  const mem = await memoryRun();
  const fmt = (x: number | null) => (x === null ? '-' : x.toFixed(2));
  const rows: Array<[string, string, string, string]> = [
    [
      'REGISTER/s (SIPp, successful)',
      lag.registers.perSecond.toFixed(0),
      `${RATE}`,
      `${lag.registers.failed} failed`,
    ],
    ['replication lag p50 (ms)', fmt(lag.lagP50Ms), '', `${lag.changes} changes`],
    [
      'replication lag p99 (ms)',
      fmt(lag.lagP99Ms),
      `≤ ${GOALS.lagP99Ms}`,
      lag.lagP99Ms !== null && lag.lagP99Ms <= GOALS.lagP99Ms ? 'ok' : 'MISSED',
    ],
    ['replication lag max (ms)', fmt(lag.lagMaxMs), '', ''],
    [
      'lag p50 / p99, changes alone, no SIP stack (ms)',
      `${fmt(synthetic.lagP50Ms)} / ${fmt(synthetic.lagP99Ms)}`,
      '',
      `max ${fmt(synthetic.lagMaxMs)}`,
    ],
    [
      'primary event-loop delay p99 (ms)',
      fmt(lag.primaryLoopDelayP99Ms),
      '',
      `max ${fmt(lag.primaryLoopDelayMaxMs)}`,
    ],
    [
      'backup bytes per binding',
      String(mem.bytesPerBinding),
      `≤ ${GOALS.bytesPerBinding}`,
      mem.bytesPerBinding <= GOALS.bytesPerBinding ? 'ok' : 'MISSED',
    ],
    [
      'backup bytes per dialog',
      String(mem.bytesPerDialog),
      `≤ ${GOALS.bytesPerDialog}`,
      mem.bytesPerDialog <= GOALS.bytesPerDialog ? 'ok' : 'MISSED',
    ],
    [`snapshot of ${mem.bindings} bindings (ms)`, String(mem.snapshotMs), '', ''],
  ];
  const w = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => r[i]?.length ?? 0)));
  for (const r of rows) process.stdout.write(`${r.map((c, i) => c.padEnd(w[i] ?? 0)).join('  ')}\n`);
  const out = {
    date: new Date().toISOString(),
    node: process.version,
    cpus: cpus().length,
    cpu: cpus()[0]?.model,
    rate: RATE,
    seconds: SECONDS,
    goals: GOALS,
    lag,
    synthetic,
    memory: mem,
  };
  mkdirSync(join(process.cwd(), 'bench', 'results'), { recursive: true });
  writeFileSync(
    join(process.cwd(), 'bench', 'results', 'replication.json'),
    `${JSON.stringify(out, null, 2)}\n`,
  );
  rmSync(tmp, { recursive: true, force: true });
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench: ${err instanceof Error ? err.stack : String(err)}\n`);
    rmSync(tmp, { recursive: true, force: true });
    process.exit(1);
  },
);
