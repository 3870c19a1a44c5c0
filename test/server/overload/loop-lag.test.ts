// The loop-lag monitor feeds the governor from a real timer: a loop held busy (here, one synchronous 300 ms block)
// is seen as late, and the governor starts shedding. No timing is asserted beyond "it is noticed".
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { GovernorChange } from '../../../src/server/overload/governor.js';
import { OverloadGovernor } from '../../../src/server/overload/governor.js';
import { LoopLagMonitor } from '../../../src/server/overload/loop-lag.js';

describe('loop-lag monitor', () => {
  it('notices a loop held busy and starts the governor shedding', async () => {
    const governor = new OverloadGovernor({ maxLoopDelayMs: 5 });
    const changes: Array<NonNullable<GovernorChange>> = [];
    let started = () => {};
    const seen = new Promise<void>((resolve) => {
      started = resolve;
    });
    const monitor = new LoopLagMonitor(governor, (c) => {
      changes.push(c);
      if (c.type === 'start') started();
    });
    monitor.start();
    try {
      await new Promise((r) => setTimeout(r, 50));
      const until = performance.now() + 300;
      while (performance.now() < until) {
        // The loop is held: no timer can run.
      }
      const timeout = new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error('not noticed')), 5000).unref(),
      );
      await Promise.race([seen, timeout]);
    } finally {
      monitor.stop();
    }
    assert.equal(changes[0]?.type, 'start');
    assert.ok(governor.fraction > 0);
    assert.equal(governor.shedding, true);
  });
});
