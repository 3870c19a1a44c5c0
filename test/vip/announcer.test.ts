// The announcement schedule: a burst now, repeats at repeat_after_ms × 1, 2, 4 … within a minute, and every
// refresh_s, until cancel().
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Announcer, RE_ANNOUNCE_WINDOW_MS, repeatTimes } from '../../src/vip/announcer.js';

describe('Announcer', () => {
  it('repeats at repeat_after_ms doubling from the start, within the window', () => {
    assert.deepEqual(repeatTimes(5000), [5000, 10_000, 20_000, 40_000]);
    assert.deepEqual(repeatTimes(1000), [1000, 2000, 4000, 8000, 16_000, 32_000]);
    assert.deepEqual(repeatTimes(0), []);
    assert.deepEqual(repeatTimes(RE_ANNOUNCE_WINDOW_MS * 2), [RE_ANNOUNCE_WINDOW_MS * 2]);
  });

  it('sends the first burst, the repeats and the periodic refresh, and stops at cancel()', async () => {
    const at: number[] = [];
    const t0 = performance.now();
    const errors: unknown[] = [];
    const a = new Announcer({
      count: 3,
      intervalMs: 7,
      // Repeats at 400 and 800 ms (then 1600, after this test's look), the refresh at 1000.
      repeatAfterMs: 400,
      refreshS: 1,
      sendBurst: async (count, intervalMs) => {
        assert.deepEqual([count, intervalMs], [3, 7]);
        at.push(performance.now() - t0);
        return { count, durationMs: 0 };
      },
      onError: (e) => errors.push(e),
    });
    assert.deepEqual(await a.start(), { count: 3, durationMs: 0 });
    await sleep(1150);
    assert.equal(at.length, 4, `first, repeat, repeat, refresh: ${at.map(Math.round)}`);
    assert.ok((at[1] ?? 0) >= 395 && (at[1] ?? 0) < 700, `repeat at ${at[1]}`);
    assert.ok((at[2] ?? 0) >= 795 && (at[2] ?? 0) < 1000, `second repeat at ${at[2]}`);
    assert.ok((at[3] ?? 0) >= 990, `refresh at ${at[3]}`);
    a.cancel();
    assert.equal(a.cancelled, true);
    await sleep(1100);
    assert.equal(at.length, 4, 'nothing after cancel (the repeat at 1600 ms included)');
    assert.deepEqual(errors, []);
  });

  it('the first burst fails the promise; later failures go to onError', async () => {
    let n = 0;
    const errors: unknown[] = [];
    const a = new Announcer({
      count: 1,
      intervalMs: 1,
      repeatAfterMs: 20,
      refreshS: 0,
      sendBurst: async () => {
        n++;
        throw new Error(`burst ${n} failed`);
      },
      onError: (e) => errors.push(e),
    });
    await assert.rejects(a.start(), /burst 1 failed/);
    await sleep(30);
    assert.equal(errors.length, 1);
    assert.match(String(errors[0]), /burst 2 failed/);
    a.cancel();
  });
});
