// Two HA node supervisors with the pair's permit in a real three-member etcd (on loopback): each node reaches
// etcd through gates of its own (so one node can be cut off from etcd) and its peer through UDP relays (so the
// HA link can be cut). The in-memory VIP counts its holders at every step: never more than one.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Etcd3 } from 'etcd3';
import { pino } from 'pino';
import { PairPermit, permitClientOptions } from '../../src/cluster/pair-permit.js';
import { configSchema } from '../../src/config/schema.js';
import { HaNode } from '../../src/ha/node.js';
import { TermStore } from '../../src/ha/term-store.js';
import type { EtcdCluster } from '../../src/lab/etcd-cluster.js';
import { freePorts, UdpRelay } from '../ha/udp-relay.js';
import { startLoopbackEtcd } from '../helpers/etcd.js';
import { TcpGate } from '../helpers/tcp-gate.js';
import { fakeVip, World } from '../helpers/vip-world.js';
import { eventually } from '../lab/helpers.js';

const KEY = Buffer.from('f3a9c0d2e4b61788a9b0c1d2e3f40516273849aabbccddeeff00112233445566', 'latin1');
const HB = 20;
const DEAD = 150;
const TTL_S = 1;
const workerPath = fileURLToPath(new URL('../ha/fake-worker.js', import.meta.url));

describe('an HA pair whose promotions need the permit in etcd', () => {
  const world = new World();
  const relays: UdpRelay[] = [];
  const gates: Record<string, TcpGate[]> = { a: [], b: [] };
  const clients: Etcd3[] = [];
  const nodes: Record<string, HaNode> = {};
  let etcd: EtcdCluster;
  let dir: string;

  const node = (id: string) => nodes[id] as HaNode;
  const primaries = () => Object.entries(nodes).filter(([, n]) => n.role === 'primary');
  const primaryId = () => primaries()[0]?.[0] ?? '';
  const other = (id: string) => (id === 'a' ? 'b' : 'a');
  const cutEtcd = (id: string) => {
    for (const g of gates[id] ?? []) g.cut();
  };
  const healEtcd = (id: string) => {
    for (const g of gates[id] ?? []) g.heal();
  };
  const cutLink = (cut: boolean) => {
    for (const r of relays) r.cut = cut;
  };
  /** Holds for ms while checking, every few ms, that the VIP never had two holders. */
  const hold = async (ms: number) => {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      assert.ok(world.holders.size <= 1, `VIP on ${[...world.holders].join(' and ')}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };

  before(async () => {
    etcd = await startLoopbackEtcd(3);
    dir = await mkdtemp(join(tmpdir(), 'sipha-node-permit-'));
    const [pa, pb] = (await freePorts(2)) as [number, number];
    const ab = await UdpRelay.open(pb);
    const ba = await UdpRelay.open(pa);
    relays.push(ab, ba);
    for (const id of ['a', 'b'])
      for (const e of etcd.endpoints()) gates[id]?.push(await TcpGate.open(Number(new URL(e).port)));
    const make = (id: 'a' | 'b', priority: number, listen: number, peer: number) => {
      const config = configSchema.parse({
        node: { id, priority, state_dir: join(dir, id) },
        sip: { listen: ['udp://127.0.0.1:5060'], domain: 'example.test' },
        vip: { address: '198.51.100.10/24', interface: 'eth0' },
        ha: {
          listen: [`127.0.0.1:${listen}`],
          peer: [`127.0.0.1:${peer}`],
          key_file: 'unused',
          heartbeat_ms: HB,
          dead_after_ms: DEAD,
          worker_dead_after_ms: 300,
          worker_restart_ms: 50,
        },
        cluster: { etcd: etcd.endpoints(), pair_id: 'p1', lease_ttl_s: TTL_S, request_timeout_ms: 300 },
      });
      const log = pino({ level: process.env.HA_TEST_LOG ?? 'silent', base: { node: id } });
      return new HaNode({
        config,
        key: KEY,
        vip: fakeVip(world, id),
        terms: new TermStore(join(dir, id), id),
        log,
        worker: { modulePath: workerPath, args: [] },
        permit: (events) => {
          const client = new Etcd3(
            permitClientOptions({
              hosts: (gates[id] ?? []).map((g) => `127.0.0.1:${g.port}`),
              dialTimeout: 300,
            }),
          );
          clients.push(client);
          return new PairPermit(
            {
              client,
              key: '/sipha/example.test/pair/p1/permit',
              nodeId: id,
              ttlS: TTL_S,
              requestTimeoutMs: 300,
              log,
            },
            events,
          );
        },
      });
    };
    nodes.a = make('a', 150, pa, ab.port);
    nodes.b = make('b', 100, pb, ba.port);
    await Promise.all([nodes.a.start(), nodes.b.start()]);
  });

  after(async () => {
    await Promise.all(Object.values(nodes).map((n) => n.stop()));
    for (const c of clients) c.close();
    for (const r of relays) await r.close();
    for (const g of [...(gates.a ?? []), ...(gates.b ?? [])]) await g.close();
    await etcd?.destroy();
    await rm(dir, { recursive: true, force: true });
  });

  it('elects one primary, which holds the permit; its revision is the fencing token both nodes see', async () => {
    assert.ok(await eventually(async () => primaries().length === 1 && world.holders.size === 1, 10_000));
    const p = primaryId();
    const st = node(p).status();
    assert.equal(st.cluster?.quorum.permit, 'held');
    assert.ok((st.cluster?.quorum.fence ?? 0) > 0);
    assert.equal(st.cluster?.etcd.holder, p);
    assert.ok(
      await eventually(async () => node(other(p)).status().peer.fence === st.cluster?.quorum.fence, 2000),
    );
    assert.equal(node(other(p)).status().cluster?.quorum.permit, 'none');
    assert.equal(world.maxHolders, 1);
  });

  it('HA link cut while both reach etcd: the backup asks for the permit but never gets the VIP', async () => {
    world.resetMax();
    const p = primaryId();
    cutLink(true);
    assert.ok(
      await eventually(async () => node(other(p)).status().cluster?.quorum.permit === 'campaigning', 3000),
      'the backup, hearing nothing, asks etcd',
    );
    await hold(3 * TTL_S * 1000);
    assert.deepEqual([...world.holders], [p], 'the primary keeps the VIP: etcd renews its lease');
    assert.equal(node(other(p)).role, 'backup');
    cutLink(false);
    assert.ok(
      await eventually(async () => node(other(p)).status().cluster?.quorum.permit === 'none', 3000),
      'the peer heard again: the backup gives its campaign up',
    );
    assert.equal(world.maxHolders, 1);
  });

  it('switchover: the permit goes back with the VIP and the backup wins it at once, with a higher fence', async () => {
    world.resetMax();
    const p = primaryId();
    const before = node(p).status().cluster?.quorum.fence ?? 0;
    const reply = await node(other(p)).switchover();
    assert.equal(reply.ok, true, reply.detail);
    assert.equal(reply.primary, other(p));
    const after = node(other(p)).status().cluster?.quorum.fence ?? 0;
    assert.ok(after > before, `fence ${after} > ${before}`);
    assert.equal(world.maxHolders, 1);
  });

  it('the primary cut off from etcd (its peer not): it releases before its lease can expire; the peer takes over', async () => {
    world.resetMax();
    const p = primaryId();
    const q = other(p);
    cutEtcd(p);
    assert.ok(await eventually(async () => node(q).role === 'primary' && world.holders.has(q), 10_000));
    assert.equal(node(p).role, 'backup');
    const demote = node(p)
      .status()
      .timelines.filter((t) => t.kind === 'demote')
      .at(-1);
    assert.equal(demote?.cause, 'quorum-lost');
    assert.ok(
      node(p)
        .status()
        .activeAlarms.some((a) => a.alarm === 'etcd-unreachable'),
    );
    assert.equal(world.maxHolders, 1);
    healEtcd(p);
    assert.ok(
      await eventually(async () => node(p).status().cluster?.quorum.etcd === 'reachable', 15_000),
      'renewing again once healed',
    );
    assert.ok(
      !node(p)
        .status()
        .activeAlarms.some((a) => a.alarm === 'etcd-unreachable'),
    );
  });

  it('etcd majority lost (failsafe): the primary keeps the VIP, nobody promotes; back, it renews its permit', async () => {
    world.resetMax();
    const p = primaryId();
    await etcd.stopMember('m2', 'SIGKILL');
    await etcd.stopMember('m3', 'SIGKILL');
    assert.ok(
      await eventually(
        async () =>
          node(p).status().cluster?.quorum.etcd === 'unreachable' &&
          node(other(p)).status().cluster?.quorum.etcd === 'unreachable',
        10_000,
      ),
    );
    await hold(2 * TTL_S * 1000);
    assert.deepEqual([...world.holders], [p], 'failsafe: the primary serves on');
    // (Lapsed, or asked for again after a renewal answered late: either way not held.)
    assert.notEqual(node(p).status().cluster?.quorum.permit, 'held');
    etcd.startMember('m2');
    etcd.startMember('m3');
    await etcd.waitHealthy(3, 20_000);
    assert.ok(
      await eventually(async () => node(p).status().cluster?.quorum.permit === 'held', 20_000),
      'the permit renewed',
    );
    assert.equal(node(p).role, 'primary');
    assert.equal(world.maxHolders, 1);
  });
});
