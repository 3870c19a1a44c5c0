// Two node supervisors on loopback with real processes: the UDP peer link through relays, and a forked stand-in
// worker, with an in-memory VIP shared by both "hosts", so that "exactly one VIP holder" is checked at every
// step. Timing and role decisions (silence, split brain, isolation) are checked exactly on a fake clock in
// node-fake-clock.test.ts; this file checks that the real link and worker processes carry them out.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { configSchema } from '../../src/config/schema.js';
import { HaNode } from '../../src/ha/node.js';
import { TermStore } from '../../src/ha/term-store.js';
import { fakeVip, World } from '../helpers/vip-world.js';
import { eventually } from '../lab/helpers.js';
import { freePorts, UdpRelay } from './udp-relay.js';

const KEY = Buffer.from('f3a9c0d2e4b61788a9b0c1d2e3f40516273849aabbccddeeff00112233445566', 'latin1');
const HB = 20;
const DEAD = 150;

const workerPath = fileURLToPath(new URL('./fake-worker.js', import.meta.url));

describe('two HA node supervisors on loopback', () => {
  const world = new World();
  const relays: UdpRelay[] = [];
  const witnessOk: Record<string, boolean> = { a: true, b: true };
  const nodes: Record<string, HaNode> = {};
  /** Each worker's environment, read at every (re)start: a test can change how the next worker behaves. */
  const workerEnv: Record<string, NodeJS.ProcessEnv> = { a: { ...process.env }, b: { ...process.env } };
  let dir: string;

  const primaries = () => Object.entries(nodes).filter(([, n]) => n.role === 'primary');

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sipha-node-'));
    const [pa, pb] = (await freePorts(2)) as [number, number];
    const ab = await UdpRelay.open(pb);
    const ba = await UdpRelay.open(pa);
    relays.push(ab, ba);
    const make = (id: 'a' | 'b', priority: number, listen: number, peer: number) => {
      const config = configSchema.parse({
        node: { id, priority, state_dir: join(dir, id) },
        // One worker whatever the host's cores: its crash is the node's fault (a pool restarts one worker
        // instead, node-pool-pair.test.ts).
        sip: { listen: ['udp://127.0.0.1:5060'], workers: 1 },
        vip: { address: '198.51.100.10/24', interface: 'eth0' },
        ha: {
          listen: [`127.0.0.1:${listen}`],
          peer: [`127.0.0.1:${peer}`],
          key_file: 'unused',
          heartbeat_ms: HB,
          dead_after_ms: DEAD,
          witnesses: ['192.0.2.1'],
          witness_interval_ms: 30,
          witness_fail_rounds: 1,
          worker_dead_after_ms: 300,
          worker_restart_ms: 50,
        },
      });
      return new HaNode({
        config,
        key: KEY,
        vip: fakeVip(world, id),
        terms: new TermStore(join(dir, id), id),
        log: pino({ level: process.env.HA_TEST_LOG ?? 'silent', base: { node: id } }),
        worker: { modulePath: workerPath, args: [], env: workerEnv[id] },
        probe: async () => witnessOk[id] ?? false,
      });
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

  it('elects exactly one primary (the higher priority), which alone holds the VIP', async () => {
    assert.ok(await eventually(async () => primaries().length === 1 && world.holders.size === 1, 3000));
    await new Promise((r) => setTimeout(r, 5 * HB));
    assert.equal(nodes.a?.role, 'primary');
    assert.equal(nodes.b?.role, 'backup');
    assert.deepEqual([...world.holders], ['a']);
    assert.equal(world.maxHolders, 1);
    assert.equal(nodes.a?.term, 1);
    assert.equal(await new TermStore(join(dir, 'a'), 'a').load(), 1, 'the term is on disk');
    const st = nodes.b?.status();
    assert.equal(st?.peer.role, 'primary');
    assert.equal(st?.peer.id, 'a');
    assert.equal(st?.ready, true);
  });

  it('manual switchover asked on the backup: the primary resigns, no timeout, never two holders', async () => {
    world.resetMax();
    const t0 = Date.now();
    const reply = await (nodes.b as HaNode).switchover();
    const took = Date.now() - t0;
    assert.equal(reply.ok, true, reply.detail);
    assert.equal(reply.primary, 'b');
    assert.equal(reply.term, 2);
    assert.ok(took < DEAD, `switchover took ${took} ms, less than dead_after_ms`);
    assert.deepEqual([...world.holders], ['b']);
    assert.equal(world.maxHolders, 1, 'the VIP was never on both');
    const tl = reply.timeline;
    assert.equal(tl?.kind, 'promote');
    assert.equal(tl?.cause, 'switchover');
    assert.equal(tl?.oldTerm, 1);
    assert.equal(tl?.newTerm, 2);
    assert.ok(tl?.vipRemovedAt !== null && tl?.vipAddedAt !== null);
    assert.ok((tl?.vipRemovedAt ?? 0) <= (tl?.vipAddedAt ?? 0), 'removed on A before added on B');
    assert.ok(await eventually(async () => nodes.b?.status().timelines.at(-1)?.firstServedAt !== null, 1000));
    const demote = nodes.a?.status().timelines.at(-1);
    assert.equal(demote?.kind, 'demote');
    assert.equal(demote?.cause, 'switchover');
    // The old primary stays backup (no preemption) although its priority is higher.
    await new Promise((r) => setTimeout(r, 3 * DEAD));
    assert.equal(nodes.a?.role, 'backup');
    assert.equal(nodes.b?.role, 'primary');
  });

  it('manual switchover asked on the primary goes back the same way', async () => {
    world.resetMax();
    const reply = await (nodes.b as HaNode).switchover();
    assert.equal(reply.ok, true, reply.detail);
    assert.equal(reply.primary, 'a');
    assert.equal(reply.term, 3);
    // The reply comes when A is seen as primary; its VIP command may still be running.
    assert.ok(await eventually(async () => world.holders.has('a'), 1000, 1));
    assert.deepEqual([...world.holders], ['a']);
    assert.equal(world.maxHolders, 1);
  });

  it('worker crash on the primary: it releases and reports fault, the backup takes over without waiting', async () => {
    world.resetMax();
    const restarts = nodes.a?.status().worker.restarts ?? 0;
    const pid = nodes.a?.status().worker.pid;
    assert.ok(typeof pid === 'number');
    const t0 = Date.now();
    process.kill(pid, 'SIGKILL');
    assert.ok(await eventually(async () => nodes.b?.role === 'primary' && world.holders.has('b'), 2000, 2));
    const took = Date.now() - t0;
    assert.ok(took < DEAD, `takeover after a worker crash took ${took} ms (peer fault, not silence)`);
    assert.equal(nodes.b?.status().timelines.at(-1)?.cause, 'peer-fault');
    assert.equal(world.maxHolders, 1);
    // The worker is restarted and the node rejoins as backup.
    assert.ok(await eventually(async () => nodes.a?.role === 'backup', 3000));
    assert.equal(nodes.a?.status().worker.restarts, restarts + 1);
    assert.deepEqual([...world.holders], ['b']);
  });

  it('refuses a switchover to a backup whose replica is not synced, unless forced', async () => {
    const backup = nodes.a?.role === 'backup' ? 'a' : 'b';
    const node = nodes[backup] as HaNode;
    workerEnv[backup]!.FAKE_WORKER_SYNCED = '0';
    const pid = node.status().worker.pid;
    assert.ok(pid !== null);
    process.kill(pid, 'SIGKILL');
    assert.ok(
      await eventually(
        async () => node.status().worker.ready && node.status().replication?.synced === false,
        5000,
      ),
      'the restarted worker reports an unsynced replica',
    );
    const holders = [...world.holders];
    const refused = await node.switchover();
    assert.equal(refused.ok, false);
    assert.match(refused.detail, /not synced.*--force/);
    assert.deepEqual([...world.holders], holders, 'nothing moved');
    world.resetMax();
    const forced = await node.switchover(true);
    assert.equal(forced.ok, true, forced.detail);
    assert.ok(await eventually(async () => world.holders.has(backup), 1000, 1));
    assert.equal(world.maxHolders, 1);
    delete workerEnv[backup]!.FAKE_WORKER_SYNCED;
  });
});
