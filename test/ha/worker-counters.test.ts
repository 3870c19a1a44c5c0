import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mergeWorkerCounters } from '../../src/ha/worker-counters.js';
import type { SipCounters } from '../../src/ha/worker-ipc.js';

const counters = (index: number, messagesIn: number, bindings: number, fraction = 0): SipCounters => ({
  requestsByMethod: { INVITE: messagesIn },
  responsesByStatus: { '200': 1 },
  parseErrors: {},
  messagesIn,
  messagesOut: 1,
  transactionTimeouts: 0,
  retransmissionsAbsorbed: 0,
  transportErrors: 0,
  unreachable: 0,
  sendErrors: 0,
  activeTransactions: 2,
  bindings,
  dialogs: bindings,
  overloadRejectedByMethod: {},
  overloadAcksDropped: 0,
  overloadActive: fraction > 0,
  overloadFraction: fraction,
  workers: [
    {
      index,
      count: 2,
      siblingsUp: 1,
      steeredOut: 1,
      steeredIn: 1,
      steerDropped: 0,
      messagesIn,
      bindings,
      dialogs: bindings,
      state: { role: index === 0 ? 'keeper' : 'member', synced: true, seq: 3 },
    },
  ],
});

describe('the counters of several SIP workers as one', () => {
  it('sums what each counted, takes the shared state from the keeper, the worst overload, each worker listed', () => {
    const m = mergeWorkerCounters([counters(0, 10, 7), counters(1, 5, 6, 0.5)]);
    assert.equal(m?.messagesIn, 15);
    assert.deepEqual(m?.requestsByMethod, { INVITE: 15 });
    assert.equal(m?.activeTransactions, 4);
    assert.equal(m?.bindings, 7);
    assert.equal(m?.dialogs, 7);
    assert.equal(m?.overloadActive, true);
    assert.equal(m?.overloadFraction, 0.5);
    assert.deepEqual(
      m?.workers?.map((w) => w.index),
      [0, 1],
    );
  });

  it('without the keeper, the largest view; nobody answered: undefined', () => {
    assert.equal(mergeWorkerCounters([undefined, counters(1, 5, 6)])?.bindings, 6);
    assert.equal(mergeWorkerCounters([undefined, undefined]), undefined);
  });
});
