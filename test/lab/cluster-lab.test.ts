// The cluster lab: two pairs and a three-member etcd cluster in namespaces, reached from the pairs' hosts, and
// each cluster fault doing what it says (and undone); the pairs also run as plain HA pairs side by side.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import {
  cutFromEtcd,
  cutHaLink,
  healEtcdCut,
  healHaLink,
  killPair,
  restartEtcd,
  stopEtcdMajority,
  stopEtcdMember,
} from '../../src/lab/cluster-faults.js';
import { ClusterLab } from '../../src/lab/cluster-lab.js';
import { holdsVip, REPLICATION_PORT } from '../../src/lab/pair.js';
import { namespacesOf } from '../../src/lab/topology.js';
import { eventually, NEEDS_ROOT } from './helpers.js';

function namespaces(): string[] {
  return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n !== '');
}

/** A one-line Node script run in a host: exits 0 if a TCP connection to addr:port opens within 1 s. */
const connectScript = (addr: string, port: number) =>
  `const s=require('net').connect(${port},${JSON.stringify(addr)},()=>process.exit(0));s.on('error',()=>process.exit(1));setTimeout(()=>process.exit(1),1000)`;

describe('cluster lab: two pairs and etcd', { skip: NEEDS_ROOT, timeout: 360_000 }, () => {
  let cl: ClusterLab;

  before(async () => {
    cl = await ClusterLab.open({ pairs: 2, etcd: 3 });
  });

  after(async () => {
    if (cl === undefined) return;
    const mine = namespacesOf(cl.lab.topology);
    await cl.close();
    assert.deepEqual(
      namespaces().filter((n) => mine.includes(n)),
      [],
      'no namespace of the cluster lab is left',
    );
  });

  const put = (host: Parameters<ClusterLab['etcdctl']>[0], key: string, value: string) =>
    cl.etcdctl(host, ['put', key, value]);
  const get = async (host: Parameters<ClusterLab['etcdctl']>[0], key: string) =>
    (await cl.etcdctl(host, ['get', '--print-value-only', key])).stdout.trim();

  it('has the hosts of both pairs and the etcd members in namespaces, each pair with its VIP', () => {
    const names = namespaces();
    for (const h of ['a', 'b', 'a2', 'b2', 'c', 'g', 'e1', 'e2', 'e3'] as const)
      assert.ok(names.includes(cl.lab.netns(h)), `namespace of ${h}`);
    assert.deepEqual(
      cl.pairs.map((p) => [p.index, p.hosts, p.vip.ipv4]),
      [
        [1, ['a', 'b'], '198.51.100.10'],
        [2, ['a2', 'b2'], '198.51.100.20'],
      ],
    );
    assert.deepEqual(cl.endpoints(), [
      'http://203.0.113.201:2379',
      'http://203.0.113.202:2379',
      'http://203.0.113.203:2379',
    ]);
  });

  it('etcd is healthy and a put/get works from the pairs’ hosts', async () => {
    for (const h of ['a', 'a2', 'b2'] as const) {
      const health = await cl.etcdctl(h, ['endpoint', 'health']);
      assert.equal(health.exitCode, 0, `health from ${h}: ${health.stderr}`);
    }
    assert.equal((await put('a2', '/lab/k', 'v1')).exitCode, 0);
    assert.equal(await get('b', '/lab/k'), 'v1');
  });

  it('cuts a host off from etcd only, and heals', async () => {
    await cutFromEtcd(cl, 'a2');
    const cut = await put('a2', '/lab/cut', 'x');
    assert.notEqual(cut.exitCode, 0, 'a put from a2 fails while it is cut');
    assert.equal(cut.timedOut, false, 'etcdctl gives up on its own timeouts');
    assert.equal((await put('b2', '/lab/cut', 'from-b2')).exitCode, 0, 'b2 still reaches etcd');
    const ping = await cl.lab.exec('a2', ['ping', '-c', '1', '-W', '1', cl.lab.nic('b2').ipv4], {
      allowFailure: true,
    });
    assert.equal(ping.exitCode, 0, 'a2 still reaches b2');
    await healEtcdCut(cl, 'a2');
    await healEtcdCut(cl, 'a2'); // idempotent
    assert.ok(
      await eventually(async () => (await put('a2', '/lab/cut', 'from-a2')).exitCode === 0, 10_000, 200),
    );
    assert.equal(await get('b2', '/lab/cut'), 'from-a2');
  });

  it("cuts a pair's HA link only: the nodes cannot reach each other's HA ports, still reach etcd", async () => {
    const p2 = cl.pair(2);
    // A stand-in for b2's replication listener on each HA path (no node runs yet).
    const addrs = p2.haAddresses('b2');
    const listeners = addrs.map((addr) =>
      cl.lab.spawn('b2', [
        process.execPath,
        '-e',
        `require('net').createServer(s=>s.end()).listen(${REPLICATION_PORT},${JSON.stringify(addr)})`,
      ]),
    );
    try {
      const reach = async (addr: string) =>
        (
          await cl.lab.exec('a2', [process.execPath, '-e', connectScript(addr, REPLICATION_PORT)], {
            allowFailure: true,
          })
        ).exitCode === 0;
      for (const addr of addrs)
        assert.ok(await eventually(() => reach(addr), 5000, 100), `a2 reaches ${addr}`);
      await cutHaLink(p2);
      for (const addr of addrs)
        assert.equal(await reach(addr), false, `a2 cannot reach ${addr}:${REPLICATION_PORT}`);
      for (const h of p2.hosts)
        assert.equal((await put(h, `/lab/ha/${h}`, 'x')).exitCode, 0, `${h} reaches etcd`);
      await healHaLink(p2);
      for (const addr of addrs) assert.ok(await reach(addr), `a2 reaches ${addr} again`);
    } finally {
      for (const l of listeners) l.kill('SIGKILL');
    }
  });

  it('loses one etcd member and keeps working; loses the majority and refuses writes; comes back', async () => {
    await stopEtcdMember(cl, 'e3', 'SIGKILL');
    assert.ok(await eventually(async () => (await put('a', '/lab/one', 'x')).exitCode === 0, 10_000, 200));
    await restartEtcd(cl);
    await stopEtcdMajority(cl, 'SIGKILL');
    const refused = await put('a', '/lab/majority', 'x');
    assert.notEqual(refused.exitCode, 0, 'no quorum: the put fails');
    assert.equal(refused.timedOut, false);
    await restartEtcd(cl);
    assert.ok(
      await eventually(async () => (await put('a2', '/lab/majority', 'back')).exitCode === 0, 10_000, 200),
    );
    assert.equal(await get('a', '/lab/one'), 'x', 'what was written with one member down is kept');
  });

  it('runs both pairs as plain HA pairs: each settles with one VIP holder, on different hosts', async () => {
    await cl.guard(async () => {
      await cl.startSettled({ timeoutMs: 90_000, anyPrimary: true });
      // Both settled at once: a loaded machine can make a node fault (and its pair move) while the next starts.
      const settled = await cl.settleAll({ timeoutMs: 60_000, anyPrimary: true });
      const [p1, p2] = [cl.pair(1), cl.pair(2)];
      assert.deepEqual(await p1.holders(), [settled[0]?.primary]);
      assert.deepEqual(await p2.holders(), [settled[1]?.primary]);
      // Each VIP is on its own pair's primary only.
      for (const h of p2.hosts)
        assert.equal(await holdsVip(cl.lab, h, p1.vip), false, `${h} holds pair 1's VIP`);
      for (const h of p1.hosts)
        assert.equal(await holdsVip(cl.lab, h, p2.vip), false, `${h} holds pair 2's VIP`);
    });
  });

  it('kills a whole pair: its nodes are gone and its VIP with them; the other pair keeps its VIP', async () => {
    await cl.guard(async () => {
      const [p1, p2] = [cl.pair(1), cl.pair(2)];
      const holder = (await p1.holders())[0];
      assert.ok(holder !== undefined, 'pair 1 holds its VIP');
      await killPair(p2);
      assert.deepEqual(
        p2.hosts.map((h) => p2.pid(h)),
        [undefined, undefined],
      );
      assert.ok(
        await eventually(async () => (await p2.holders()).length === 0, 5000, 100),
        'the VIP of the dead pair goes (its orphaned worker removes it)',
      );
      assert.deepEqual(await p1.holders(), [holder]);
      assert.equal((await p1.status(holder))?.role, 'primary');
    });
  });
});
