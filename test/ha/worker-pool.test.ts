// A pool of SIP workers on one node (`sip.workers` > 1), with stand-in workers forked through node:cluster: each
// worker knows its index and the private mesh directory, one killed worker is restarted with its index while the
// other keeps answering (no node failure), both killed is the node's failure, listings go to worker 0 only,
// counters are summed into one answer, a drain asks the other workers before worker 0, and stop removes the mesh.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { configSchema } from '../../src/config/schema.js';
import { workerFromConfig } from '../../src/ha/node-parts.js';
import type { WorkerToNode } from '../../src/ha/worker-ipc.js';
import { WorkerPool } from '../../src/ha/worker-pool.js';
import { type WorkerEvents, WorkerSupervisor } from '../../src/ha/worker-supervisor.js';
import { systemClock } from '../../src/time/clock.js';

const MODULE = fileURLToPath(new URL('../helpers/fake-pool-worker.js', import.meta.url));
const log = pino({ level: 'silent' });

/** Everything the node would hear, in order. */
class Heard implements WorkerEvents {
  readonly ready: unknown[] = [];
  readonly failed: string[] = [];
  readonly down: Array<[number, string]> = [];
  readonly up: number[] = [];
  readonly stalls: unknown[] = [];
  readonly messages: WorkerToNode[] = [];
  onReady(listening: unknown): void {
    this.ready.push(listening);
  }
  onFailed(reason: string): void {
    this.failed.push(reason);
  }
  onStall(change: unknown): void {
    this.stalls.push(change);
  }
  onOverload(): void {}
  onMessage(m: WorkerToNode): void {
    this.messages.push(m);
  }
  onWorkerDown(index: number, reason: string): void {
    this.down.push([index, reason]);
  }
  onWorkerUp(index: number): void {
    this.up.push(index);
  }
  answers(id: number): Array<Extract<WorkerToNode, { type: 'answer' }>> {
    return this.messages.filter((m): m is Extract<WorkerToNode, { type: 'answer' }> => {
      return m.type === 'answer' && m.id === id;
    });
  }
}

/** Waits until `done()` holds, at most `ms`. */
async function until(what: string, done: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!done()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('worker pool', () => {
  const heard = new Heard();
  const pool = new WorkerPool(
    {
      spec: { modulePath: MODULE, args: [] },
      count: 2,
      pulseMs: 30,
      deadAfterMs: 3000,
      restartMs: 100,
      stallMs: 500,
      log,
    },
    heard,
  );
  let mesh = '';
  const pids = () => (pool.status().workers ?? []).map((w) => w.pid);

  before(async () => {
    pool.start();
    await until('the pool ready', () => heard.ready.length === 1);
    mesh = pool.meshDirectory ?? '';
  });
  after(() => pool.stop());

  it('starts workers 0 and 1 with their index and a private mesh directory (0700)', () => {
    const s = pool.status();
    assert.deepEqual(
      s.workers?.map((w) => [w.index, w.ready]),
      [
        [0, true],
        [1, true],
      ],
    );
    const [p0, p1] = pids();
    assert.ok(p0 != null && p1 != null && p0 !== p1);
    assert.equal(s.pid, p0);
    assert.ok(existsSync(mesh), 'mesh directory');
    assert.equal(statSync(mesh).mode & 0o777, 0o700);
    assert.equal(readFileSync(`${mesh}/worker-0`, 'utf8'), '0/2');
    assert.equal(readFileSync(`${mesh}/worker-1`, 'utf8'), '1/2');
    // The node hears worker 0's sockets.
    assert.deepEqual(heard.ready[0], [{ transport: 'udp', address: '127.0.0.1', port: 5060 }]);
    assert.equal(pool.ready, true);
  });

  it('asks worker 0 alone for registrations', async () => {
    assert.equal(pool.send({ type: 'query', id: 101, what: 'registrations', limit: 10 }), true);
    await until('an answer', () => heard.answers(101).length > 0);
    await sleep(150);
    const a = heard.answers(101);
    assert.equal(a.length, 1);
    assert.deepEqual(
      a[0]?.registrations?.map((r) => r.aor),
      ['sip:w0@example.com'],
    );
  });

  it('answers counters once, summed over the workers (bindings and dialogs are worker 0’s)', async () => {
    assert.equal(pool.send({ type: 'query', id: 102, what: 'counters', limit: 0 }), true);
    await until('an answer', () => heard.answers(102).length > 0);
    await sleep(150);
    const a = heard.answers(102);
    assert.equal(a.length, 1);
    const c = a[0]?.counters;
    assert.equal(c?.messagesIn, 30);
    assert.deepEqual(c?.requestsByMethod, { INVITE: 3, REGISTER: 20 });
    assert.deepEqual(c?.responsesByStatus, { '200': 300 });
    assert.equal(c?.activeTransactions, 4);
    assert.equal(c?.bindings, 7);
    assert.equal(c?.dialogs, 4);
    assert.equal(c?.overloadActive, true);
    assert.equal(c?.overloadFraction, 0.5);
  });

  it('drains the other workers before worker 0 and answers with worker 0’s result', async () => {
    const from = heard.messages.length;
    const r = await pool.drain(500);
    assert.deepEqual(r, { ok: true, detail: 'worker 0' });
    // Worker 1 answers after 150 ms and worker 0 at once: asked together, worker 0's answer would come first.
    const order = heard.messages
      .slice(from)
      .filter((m) => m.type === 'drained')
      .map((m) => (m.type === 'drained' ? m.lastSeq : -1));
    assert.deepEqual(order, [1, 0]);
  });

  it('sums the SIP message counts of the pongs into one count that grows', async () => {
    const counts = () =>
      heard.messages.flatMap((m) => (m.type === 'pong' && m.sipIn !== undefined ? [m.sipIn] : []));
    await until('pongs', () => counts().length > 6);
    const c = counts();
    for (let i = 1; i < c.length; i++) assert.ok((c[i] as number) >= (c[i - 1] as number), `${c}`);
    // Worker 1 counts 2 a ping and worker 0 one: a sum rises by 3 per round, faster than either alone.
    assert.ok((c.at(-1) as number) >= 3 * Math.floor(c.length / 2) - 3, `${c}`);
  });

  it('restarts a killed worker with its index while the other keeps answering; the node sees no failure', async () => {
    pool.send({ type: 'role', role: 'primary' });
    const [p0, p1] = pids() as [number, number];
    const pongs0 = () => pool.status().workers?.[0]?.lastPongAgoMs ?? Infinity;
    process.kill(p1, 'SIGKILL');
    await until('worker 1 down', () => heard.down.some(([i]) => i === 1));
    assert.equal(pool.status().workers?.[1]?.ready, false);
    assert.equal(pool.ready, true, 'worker 0 still speaks for the pool');
    await until('worker 1 back', () => heard.up.includes(1));
    const [q0, q1] = pids();
    assert.equal(q0, p0, 'worker 0 untouched');
    assert.notEqual(q1, p1);
    assert.ok(pongs0() < 500, `worker 0 answered ${pongs0()} ms ago`);
    assert.equal(pool.status().restarts, 1);
    assert.deepEqual(heard.failed, []);
    assert.equal(heard.ready.length, 1, 'no second onReady for one worker back');
    // The new worker 1 has index 1 (its mark) and heard the role the node gave the pool.
    assert.equal(readFileSync(`${mesh}/worker-1`, 'utf8'), '1/2');
    await until('the role replayed to worker 1', () =>
      heard.messages.some((m) => m.type === 'served' && m.method === 'ROLE-1-primary'),
    );
    assert.match(heard.down.find(([i]) => i === 1)?.[1] ?? '', /SIGKILL/);
  });

  it('fails the node only when no worker is ready, and is ready again with them', async () => {
    const [p0, p1] = pids() as [number, number];
    process.kill(p0, 'SIGKILL');
    await until('worker 0 down', () => heard.down.some(([i]) => i === 0));
    assert.deepEqual(heard.failed, [], 'worker 1 still serves');
    process.kill(p1, 'SIGKILL');
    await until('the node failure', () => heard.failed.length === 1);
    assert.match(heard.failed[0] ?? '', /no SIP worker ready/);
    assert.equal(pool.ready, false);
    await until('the pool ready again', () => heard.ready.length === 2);
    assert.equal(pool.ready, true);
  });

  it('stops every worker and removes the mesh directory', async () => {
    const all = pids() as number[];
    await pool.stop();
    assert.equal(existsSync(mesh), false);
    assert.equal(pool.meshDirectory, undefined);
    await until('workers gone', () => all.every((p) => !alive(p)), 3000);
  });
});

describe('worker from config', () => {
  const config = (workers: number) =>
    configSchema.parse({
      node: { id: 'a', priority: 100, state_dir: '/tmp/unused' },
      sip: { listen: ['udp://127.0.0.1:5060'], workers },
      vip: { address: '198.51.100.10/24', interface: 'eth0' },
      ha: { listen: ['127.0.0.1:7001'], peer: ['127.0.0.1:7002'], key_file: 'unused' },
    });
  const events = new Heard();
  const spec = { modulePath: MODULE, args: [] };

  it('supervises one worker as before with sip.workers: 1, a pool with 2', () => {
    const one = workerFromConfig({ ...config(1), ha: config(1).ha! }, spec, events, log, systemClock, 16);
    assert.ok(one instanceof WorkerSupervisor);
    assert.equal(one.status().workers, undefined);
    const two = workerFromConfig({ ...config(2), ha: config(2).ha! }, spec, events, log, systemClock, 16);
    assert.ok(two instanceof WorkerPool);
    assert.equal(two.status().workers?.length, 2);
  });
});
