// A pool's SIP counters as one node's: traffic adds up key by key, worker 0's bindings and dialogs stand for all
// (it holds every worker's), a fraction is the worst, each worker's copy of the cluster directory counts once, and
// etcd is reachable only when every worker says so. Cluster's own IPC messages are never taken for a worker's.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sumCounters } from '../../src/ha/counters-sum.js';
import { isWorkerToNode, type SipCounters } from '../../src/ha/worker-ipc.js';
import type { DirectoryCounters } from '../../src/server/remote-directory.js';
import { COUNTERS } from '../mgmt/fake-node.js';

const directory = (entries: number, reachable: boolean, writes: number): DirectoryCounters => ({
  pair: 'p1',
  entries,
  pairs: 2,
  etcdReachable: reachable,
  lastError: reachable ? undefined : 'timeout',
  writes,
  txns: writes,
  etcdSeconds: 0.5,
  moves: 0,
  lookups: { local: writes },
});

describe('a pool’s counters', () => {
  it('adds traffic, keeps the keeper’s state, the worst fraction, one directory copy', () => {
    const keeper: SipCounters = {
      ...COUNTERS,
      bindings: 9,
      overloadFraction: 0.1,
      cluster: directory(40, true, 3),
    };
    const other: SipCounters = {
      ...COUNTERS,
      bindings: 2,
      overloadActive: false,
      overloadFraction: 0.4,
      cluster: directory(38, false, 1),
    };
    const sum = sumCounters([other, keeper], keeper);
    assert.equal(sum?.messagesIn, 2 * COUNTERS.messagesIn);
    assert.deepEqual(sum?.requestsByMethod, { REGISTER: 14, INVITE: 4, BYE: 2 });
    assert.equal(sum?.bindings, 9);
    assert.equal(sum?.overloadFraction, 0.4);
    assert.equal(sum?.overloadActive, true);
    assert.equal(sum?.cluster?.entries, 40);
    assert.equal(sum?.cluster?.writes, 4);
    assert.deepEqual(sum?.cluster?.lookups, { local: 4 });
    assert.equal(sum?.cluster?.etcdReachable, false);
    assert.equal(sum?.cluster?.pair, 'p1');
    // The inputs are left as they were.
    assert.equal(keeper.messagesIn, COUNTERS.messagesIn);
  });

  it('without the keeper’s answer takes the largest view of the state; undefined without any answer', () => {
    assert.equal(
      sumCounters([
        { ...COUNTERS, bindings: 2 },
        { ...COUNTERS, bindings: 3 },
      ])?.bindings,
      3,
    );
    assert.equal(sumCounters([]), undefined);
  });

  it('lists each worker’s own figures side by side, by index', () => {
    const own = (index: number) => ({
      index,
      count: 2,
      siblingsUp: 1,
      steeredOut: index + 1,
      steeredIn: 1,
      steerDropped: 0,
      messagesIn: 5,
      bindings: 9,
      dialogs: 0,
      state: { role: index === 0 ? ('keeper' as const) : ('member' as const), synced: true, seq: 3 },
    });
    const keeper = { ...COUNTERS, workers: [own(0)] };
    const sum = sumCounters([{ ...COUNTERS, workers: [own(1)] }, keeper], keeper);
    assert.deepEqual(
      sum?.workers?.map((w) => [w.index, w.steeredOut]),
      [
        [0, 1],
        [1, 2],
      ],
    );
  });

  it('never takes a cluster message for a worker’s', () => {
    assert.equal(isWorkerToNode({ cmd: 'NODE_CLUSTER', act: 'online' }), false);
  });
});
