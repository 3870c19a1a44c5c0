// What Pair writes for each node, for pair 1 (as ever) and for another pair of a cluster lab with its own
// `cluster` section, checked with the config loader. Pure: the lab is only planned (Lab.attach), never built.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import { Lab } from '../../src/lab/lab.js';
import { type AnyPair, Pair } from '../../src/lab/pair.js';
import { planTopology } from '../../src/lab/topology.js';

const ETCD = ['http://203.0.113.201:2379', 'http://203.0.113.202:2379', 'http://203.0.113.203:2379'];

describe('pair configs', () => {
  const lab = Lab.attach(planTopology('sipha-1-abcdef', { twoNic: true, ipv6: false, cluster: {} }));
  const made: AnyPair[] = [];
  after(async () => {
    for (const p of made) await p.cleanup(false);
  });

  it('pair 1 is A and B on the lab VIP, with no cluster section unless given', async () => {
    const pair = await Pair.create(lab);
    made.push(pair);
    assert.deepEqual(
      [pair.index, pair.hosts, pair.other('a'), pair.vip],
      [1, ['a', 'b'], 'b', lab.topology.vip],
    );
    const { config } = await loadConfig(pair.config('a'));
    assert.equal(config.node.id, 'a');
    assert.equal(config.vip?.address, '198.51.100.10/24');
    assert.equal(config.cluster, undefined);
  });

  it('pair 2 is A2 and B2 on its own VIP, with its cluster section (pair_id p2 unless given)', async () => {
    const pair = await Pair.create(lab, { index: 2, cluster: { etcd: ETCD, lease_ttl_s: 3 } });
    made.push(pair);
    assert.deepEqual([pair.hosts, pair.other('b2'), pair.vip.ipv4], [['a2', 'b2'], 'a2', '198.51.100.20']);
    const [a2, b2] = [
      (await loadConfig(pair.config('a2'))).config,
      (await loadConfig(pair.config('b2'))).config,
    ];
    assert.deepEqual([a2.node.id, a2.node.priority, b2.node.id, b2.node.priority], ['a2', 150, 'b2', 100]);
    assert.equal(a2.vip?.address, '198.51.100.20/24');
    assert.deepEqual(a2.sip.listen, ['udp://198.51.100.20:5060']);
    assert.deepEqual(a2.ha?.listen, ['203.0.113.21:7400', '198.51.100.21:7400']);
    assert.deepEqual(a2.ha?.peer, ['203.0.113.22:7400', '198.51.100.22:7400']);
    for (const c of [a2, b2]) {
      assert.deepEqual(c.cluster?.etcd, ETCD);
      assert.equal(c.cluster?.pair_id, 'p2');
      assert.equal(c.cluster?.lease_ttl_s, 3);
    }
    const named = await Pair.create(lab, { index: 3, cluster: { etcd: ETCD, pair_id: 'west' } }).catch(
      (e) => e,
    );
    assert.match(String(named), /no pair 3/, 'a two-pair lab has no pair 3');
    const p1 = await Pair.create(lab, { index: 1, cluster: { etcd: ETCD, pair_id: 'east' } });
    made.push(p1);
    assert.equal((await loadConfig(p1.config('b'))).config.cluster?.pair_id, 'east');
  });
});
