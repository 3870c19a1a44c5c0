// The announcement schedule: a burst now, one after repeat_after_ms, then every refresh_s, until cancel().
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Announcer } from '../../src/vip/announcer.js';

describe('Announcer', () => {
  it('sends the first burst, the repeat and the periodic refresh, and stops at cancel()', async () => {
    const at: number[] = [];
    const t0 = performance.now();
    const errors: unknown[] = [];
    const a = new Announcer({
      count: 3,
      intervalMs: 7,
      repeatAfterMs: 50,
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
    assert.equal(at.length, 3, `first, repeat, refresh: ${at.map(Math.round)}`);
    assert.ok((at[1] ?? 0) >= 45 && (at[1] ?? 0) < 500, `repeat at ${at[1]}`);
    assert.ok((at[2] ?? 0) >= 990, `refresh at ${at[2]}`);
    a.cancel();
    assert.equal(a.cancelled, true);
    await sleep(1100);
    assert.equal(at.length, 3, 'nothing after cancel');
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
    await sleep(80);
    assert.equal(errors.length, 1);
    assert.match(String(errors[0]), /burst 2 failed/);
    a.cancel();
  });
});
