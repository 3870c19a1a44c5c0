// Two HA nodes on loopback, each over a pool of two stand-in SIP workers (`sip.workers: 2`, forked through
// node:cluster): every worker hears its node's role, only worker 0's replica report reaches the node (the other's
// is a decoy that never syncs), a switchover drains worker 1 before worker 0, and a worker lost on the primary is
// restarted there under a sip-worker-down alarm, without a failover.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { configSchema } from '../../src/config/schema.js';
import { HaNode, type NodeEvent } from '../../src/ha/node.js';
import { TermStore } from '../../src/ha/term-store.js';
import type { WorkerToNode } from '../../src/ha/worker-ipc.js';
import { eventually } from '../../src/lab/eventually.js';
import { fakeVip, World } from '../helpers/vip-world.js';
import { freePorts, UdpRelay } from './udp-relay.js';

const KEY = Buffer.alloc(32, 7);
const HB = 40;
const DEAD = 400;
const MODULE = fileURLToPath(new URL('../helpers/fake-pool-worker.js', import.meta.url));

describe('two HA nodes over pools of two SIP workers', () => {
  const world = new World();
  const relays: UdpRelay[] = [];
  const nodes: Record<string, HaNode> = {};
  const heard: Record<string, WorkerToNode[]> = { a: [], b: [] };
  const alarms: Record<string, string[]> = { a: [], b: [] };
  let dir: string;
  const served = (id: string, method: string) =>
    heard[id]?.filter((m) => m.type === 'served' && m.method === method).length ?? 0;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sipha-pool-pair-'));
    const [pa, pb] = (await freePorts(2)) as [number, number];
    const ab = await UdpRelay.open(pb);
    const ba = await UdpRelay.open(pa);
    relays.push(ab, ba);
    const make = (id: 'a' | 'b', priority: number, listen: number, peer: number) => {
      const node = new HaNode({
        config: configSchema.parse({
          node: { id, priority, state_dir: join(dir, id) },
          sip: { listen: ['udp://127.0.0.1:5060'], workers: 2 },
          vip: { address: '198.51.100.10/24', interface: 'eth0' },
          ha: {
            listen: [`127.0.0.1:${listen}`],
            peer: [`127.0.0.1:${peer}`],
            key_file: 'unused',
            heartbeat_ms: HB,
            dead_after_ms: DEAD,
            worker_dead_after_ms: 3000,
            worker_restart_ms: 50,
          },
        }),
        key: KEY,
        vip: fakeVip(world, id),
        terms: new TermStore(join(dir, id), id),
        log: pino({ level: process.env.HA_TEST_LOG ?? 'silent', base: { node: id } }),
        worker: { modulePath: MODULE, args: [] },
      });
      node.onEvent((e: NodeEvent) => {
        if (e.type === 'worker') heard[id]?.push(e.message);
        if (e.type === 'alarm') alarms[id]?.push(`${e.alarm.state} ${e.alarm.alarm}: ${e.alarm.detail}`);
      });
      return node;
    };
    nodes.a = make('a', 150, pa, ab.port);
    nodes.b = make('b', 100, pb, ba.port);
    await Promise.all([nodes.a.start(), nodes.b.start()]);
  });

  after(async () => {
    await Promise.all(Object.values(nodes).map((n) => n.stop()));
    for (const r of relays) await r.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('elects a primary whose two workers are primary; the backup’s two are backup', async () => {
    assert.ok(
      await eventually(
        async () =>
          nodes.a?.role === 'primary' &&
          nodes.b?.role === 'backup' &&
          served('a', 'ROLE-0-primary') > 0 &&
          served('a', 'ROLE-1-primary') > 0 &&
          served('b', 'ROLE-0-backup') > 0 &&
          served('b', 'ROLE-1-backup') > 0,
        10_000,
      ),
      JSON.stringify(heard.a?.filter((m) => m.type === 'served')),
    );
    assert.deepEqual([...world.holders], ['a']);
    const w = nodes.a?.status().worker;
    assert.deepEqual(
      w?.workers?.map((x) => [x.index, x.ready]),
      [
        [0, true],
        [1, true],
      ],
    );
    assert.equal(nodes.a?.status().monitoring?.health.worker.reason, '2/2 SIP workers ready');
  });

  it('passes on only worker 0’s replica reports', async () => {
    assert.ok(await eventually(async () => nodes.b?.status().replication?.synced === true, 3000));
    for (const id of ['a', 'b'])
      assert.deepEqual(
        heard[id]?.filter((m) => m.type === 'replication' && !m.synced),
        [],
        `node ${id} heard worker 1's report`,
      );
  });

  it('switches over, draining worker 1 before worker 0 on the old primary', async () => {
    world.resetMax();
    const from = heard.a?.length ?? 0;
    const reply = await (nodes.b as HaNode).switchover();
    assert.equal(reply.ok, true, reply.detail);
    assert.equal(reply.primary, 'b');
    assert.equal(world.maxHolders, 1);
    const drained = (heard.a ?? [])
      .slice(from)
      .flatMap((m) => (m.type === 'drained' ? [m.lastSeq] : []))
      .slice(-2);
    // The final drain, after the handover's: lastSeq is the fake worker's index, and worker 1 answers 150 ms
    // after worker 0 would have.
    assert.deepEqual(drained, [1, 0]);
    assert.ok(
      await eventually(
        async () => served('b', 'ROLE-0-primary') > 0 && served('b', 'ROLE-1-primary') > 0,
        3000,
      ),
    );
  });

  it('restarts a worker lost on the primary under a warning, without a failover', async () => {
    const b = nodes.b as HaNode;
    const term = b.term;
    const before1 = served('b', 'ROLE-1-primary');
    const pid = b.status().worker.workers?.[1]?.pid;
    assert.ok(typeof pid === 'number');
    process.kill(pid, 'SIGKILL');
    assert.ok(
      await eventually(
        async () => alarms.b?.some((a) => /^raised sip-worker-down: SIP worker 1 down/.test(a)) === true,
        3000,
      ),
      `${alarms.b}`,
    );
    assert.ok(
      await eventually(async () => alarms.b?.some((a) => /^cleared sip-worker-down/.test(a)) === true, 5000),
      `${alarms.b}`,
    );
    // The new worker 1 is told it is primary again.
    assert.ok(await eventually(async () => served('b', 'ROLE-1-primary') > before1, 3000));
    assert.equal(b.role, 'primary');
    assert.equal(b.term, term);
    assert.deepEqual([...world.holders], ['b']);
    assert.equal(b.status().worker.restarts, 1);
    assert.equal(b.status().healthy, true);
  });
});
