// The lab's topology as data: the single-pair lab unchanged, the cluster hosts and VIPs, and the namespace names
// that `sipha lab down` and the stale-lab sweep recognise. Pure: no root needed.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  etcdHosts,
  labHosts,
  labPairs,
  namespacesOf,
  PAIR_HOSTS,
  pairVip,
  parseLabNetns,
  planTopology,
} from '../../src/lab/topology.js';

describe('lab topology', () => {
  it('keeps the single-pair lab as it was', () => {
    const t = planTopology('sipha-1-abc', { twoNic: true });
    assert.equal(t.cluster, undefined);
    assert.deepEqual(labHosts(t), ['a', 'b', 'c', 'g']);
    assert.deepEqual(namespacesOf(t), [
      'sipha-1-abc-a',
      'sipha-1-abc-b',
      'sipha-1-abc-c',
      'sipha-1-abc-g',
      'sipha-1-abc-sw',
    ]);
    assert.deepEqual(
      [t.hosts.a.sip, t.hosts.a.mgmt].map((n) => [n?.ipv4, n?.ipv6, n?.mac]),
      [
        ['198.51.100.11', '2001:db8:51::11', '02:51:00:00:01:00'],
        ['203.0.113.11', '2001:db8:113::11', '02:51:00:00:01:01'],
      ],
    );
    assert.equal(t.hosts.g.mgmt?.ipv4, '203.0.113.1');
    assert.equal(t.hosts.c.mgmt, undefined);
    assert.equal(t.hosts.p.sip.mac, '02:51:00:00:06:00');
    assert.deepEqual(t.vip, {
      ipv4: '198.51.100.10',
      ipv4Cidr: '198.51.100.10/24',
      ipv6: '2001:db8:51::10',
      ipv6Cidr: '2001:db8:51::10/64',
      ifname: 'eth0',
    });
    assert.deepEqual(labPairs(t), [1]);
    assert.deepEqual(etcdHosts(t), []);
    assert.throws(() => pairVip(t, 2), /no pair 2/);
    assert.deepEqual(labHosts(planTopology('sipha-1-abc', { nat: true })), ['a', 'b', 'c', 'g', 'n', 'p']);
  });

  it('adds the second pair and three etcd hosts by default in cluster mode', () => {
    const t = planTopology('sipha-1-abc', { twoNic: true, cluster: {} });
    assert.deepEqual(t.cluster, { pairs: 2, etcd: 3 });
    assert.deepEqual(labHosts(t), ['a', 'b', 'c', 'g', 'a2', 'b2', 'e1', 'e2', 'e3']);
    assert.deepEqual(labPairs(t), [1, 2]);
    assert.deepEqual(PAIR_HOSTS[2], ['a2', 'b2']);
    assert.equal(pairVip(t, 1), t.vip);
    assert.deepEqual([pairVip(t, 2).ipv4Cidr, pairVip(t, 2).ipv6], ['198.51.100.20/24', '2001:db8:51::20']);
    assert.deepEqual(
      [t.hosts.a2.sip.ipv4, t.hosts.b2.sip.ipv4, t.hosts.e1.sip.ipv4, t.hosts.e3.mgmt?.ipv4],
      ['198.51.100.21', '198.51.100.22', '198.51.100.201', '203.0.113.203'],
    );
    assert.deepEqual([t.hosts.a2.sip.mac, t.hosts.e2.mgmt?.mac], ['02:51:00:00:21:00', '02:51:00:00:e2:01']);
    // Every address and MAC of the lab's hosts is unique.
    const nics = labHosts(t).flatMap((h) => [t.hosts[h].sip, t.hosts[h].mgmt].filter((n) => n !== undefined));
    for (const key of ['ipv4', 'mac'] as const)
      assert.equal(new Set(nics.map((n) => n[key])).size, nics.length, `unique ${key}`);
  });

  it('has three pairs on demand, and refuses sizes it cannot build', () => {
    const t = planTopology('sipha-1-abc', { cluster: { pairs: 3, etcd: 1 } });
    assert.deepEqual(labHosts(t), ['a', 'b', 'c', 'g', 'a2', 'b2', 'a3', 'b3', 'e1']);
    assert.equal(pairVip(t, 3).ipv4, '198.51.100.30');
    assert.equal(t.hosts.a3.mgmt, undefined, 'no management NIC without twoNic');
    assert.throws(() => planTopology('x', { cluster: { pairs: 4 } }), RangeError);
    assert.throws(() => planTopology('x', { cluster: { etcd: 0 } }), RangeError);
  });

  it('recognises the namespaces of every host, cluster ones included', () => {
    const t = planTopology('sipha-42-0a1b2c', { cluster: { pairs: 3 }, nat: true });
    for (const ns of namespacesOf(t))
      assert.deepEqual(parseLabNetns(ns), { prefix: 'sipha-42-0a1b2c', owner: 42 }, ns);
    assert.deepEqual(parseLabNetns('sipha-up-ff-e2'), { prefix: 'sipha-up-ff', owner: 'up' });
    for (const other of ['sipha-42-0a1b2c-a4', 'sipha-42-0a1b2c-e4', 'sipha-42-0a1b2c-x', 'other-a2'])
      assert.equal(parseLabNetns(other), undefined, other);
  });
});
