// The admission governor's decision table (src/server/overload/governor.ts), on fed lag samples and a fake time:
// the rejection fraction rises while the loop is late and falls when it is not, shedding is reported with
// hysteresis, and per request exactly that fraction is turned away, deterministically.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  INTERVAL_MS,
  MAX_FRACTION,
  OverloadGovernor,
  QUIET_MS,
} from '../../../src/server/overload/governor.js';

const THRESHOLD = 40;
const SAMPLE = 10;

/** A governor and a fake time fed one lag sample every 10 ms. */
function fed() {
  const g = new OverloadGovernor({ maxLoopDelayMs: THRESHOLD });
  let now = 0;
  const changes: string[] = [];
  // The monitor's first, on-time sample opens the first interval.
  g.sample(0, now);
  /** `ms` of samples all `lagMs` late. */
  const run = (lagMs: number, ms: number) => {
    for (const end = now + ms; now < end; ) {
      now += SAMPLE;
      const c = g.sample(lagMs, now);
      if (c !== undefined) changes.push(c.type);
    }
  };
  return { g, run, changes, at: () => now };
}

/** How many of `n` sheddable requests the governor rejects. */
function rejections(g: OverloadGovernor, n: number): number {
  let r = 0;
  for (let i = 0; i < n; i++) if (!g.admit()) r++;
  return r;
}

describe('overload governor: the rejection fraction per control interval', () => {
  // [row, lag of every sample, how long, fraction after]
  const rows: Array<[string, number, number, number]> = [
    ['a healthy loop sheds nothing', 1, 1000, 0],
    ['at the threshold is not over it', THRESHOLD, 1000, 0],
    ['one late interval: +0.1', 50, INTERVAL_MS, 0.1],
    ['three late intervals: +0.3', 50, 3 * INTERVAL_MS, 0.3],
    ['a late loop for long: capped, a trickle still passes', 200, 5000, MAX_FRACTION],
  ];
  for (const [row, lag, ms, fraction] of rows) {
    it(row, () => {
      const { g, run } = fed();
      run(lag, ms);
      assert.equal(g.fraction, fraction);
      assert.equal(g.shedding, fraction > 0);
    });
  }

  it('falls by 0.05 per interval once the loop is on time again, down to 0', () => {
    const { g, run } = fed();
    run(100, 3 * INTERVAL_MS);
    assert.equal(g.fraction, 0.3);
    run(1, INTERVAL_MS);
    assert.equal(g.fraction, 0.25);
    run(1, 5 * INTERVAL_MS);
    assert.equal(g.fraction, 0);
    run(1, 10 * INTERVAL_MS);
    assert.equal(g.fraction, 0, 'never below 0');
  });

  it('judges an interval by its mean lag: one GC pause among on-time samples is not overload', () => {
    const { g, run } = fed();
    run(1, 50);
    run(150, SAMPLE);
    run(1, 40);
    assert.equal(g.fraction, 0);
    assert.equal(g.counters.lateIntervals, 0);
  });
});

describe('overload governor: shedding starts and stops (hysteresis)', () => {
  it('starts with the first late interval and stops only after a quiet second at 0', () => {
    const { g, run, changes } = fed();
    run(100, INTERVAL_MS);
    assert.deepEqual(changes, ['start']);
    run(1, 2 * INTERVAL_MS);
    assert.equal(g.fraction, 0);
    assert.equal(g.shedding, true, 'still reported: not quiet long enough');
    run(100, INTERVAL_MS);
    run(1, 2 * INTERVAL_MS + QUIET_MS - INTERVAL_MS);
    assert.equal(g.shedding, true, 'a new late interval restarted the quiet spell');
    assert.deepEqual(changes, ['start']);
    run(1, INTERVAL_MS);
    assert.equal(g.shedding, false);
    assert.deepEqual(changes, ['start', 'stop']);
  });

  it('reports what the episode cost when it stops', () => {
    const g = new OverloadGovernor({ maxLoopDelayMs: THRESHOLD });
    g.force(1, 0);
    rejections(g, 7);
    g.force(undefined, 10);
    let stop: unknown;
    for (let t = 20; t <= 10 + QUIET_MS + 2 * INTERVAL_MS; t += SAMPLE) stop ??= g.sample(0, t);
    assert.deepEqual(stop, { type: 'stop', rejected: 7, worstLagMs: 0 });
  });
});

describe('overload governor: per request', () => {
  // [fraction forced, requests, rejected]
  const rows: Array<[number, number, number]> = [
    [0, 100, 0],
    [0.1, 100, 10],
    [0.5, 100, 50],
    [0.98, 100, 98],
    [1, 100, 100],
  ];
  for (const [fraction, n, rejected] of rows) {
    it(`rejects exactly ${rejected} of ${n} at ${fraction}`, () => {
      const g = new OverloadGovernor({ maxLoopDelayMs: THRESHOLD });
      g.force(fraction, 0);
      assert.equal(rejections(g, n), rejected);
      assert.equal(g.counters.rejected, rejected);
    });
  }

  it('spreads the rejections evenly: at 0.5 every other request', () => {
    const g = new OverloadGovernor({ maxLoopDelayMs: THRESHOLD });
    g.force(0.5, 0);
    const seen = Array.from({ length: 6 }, () => g.admit());
    assert.deepEqual(seen, [true, false, true, false, true, false]);
  });

  it('an idle governor admits everything and keeps no credit for later', () => {
    const g = new OverloadGovernor({ maxLoopDelayMs: THRESHOLD });
    g.force(0.5, 0);
    g.admit();
    g.force(0, 1);
    assert.equal(rejections(g, 1000), 0);
    g.force(0.5, 2);
    assert.equal(g.admit(), true, 'the credit started again from 0');
  });

  it('the control loop takes over again when the force is lifted', () => {
    const { g, run } = fed();
    g.force(1, 0);
    run(1, INTERVAL_MS);
    assert.equal(g.fraction, 1, 'forced, whatever the lag');
    g.force(undefined, 0);
    assert.equal(g.fraction, 0);
  });
});
