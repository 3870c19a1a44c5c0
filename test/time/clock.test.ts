import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_TIMER_CONFIG, resolveTimerConfig, timerValues } from '../../src/sip/transaction/timers.js';
import { FakeClock, systemClock } from '../../src/time/clock.js';

describe('FakeClock', () => {
  it('fires due timers in time order, each at its own time, and stops at the target', () => {
    const clock = new FakeClock();
    const fired: string[] = [];
    clock.setTimeout(() => fired.push(`b@${clock.now()}`), 200);
    clock.setTimeout(() => fired.push(`a@${clock.now()}`), 100);
    clock.setTimeout(() => fired.push(`c@${clock.now()}`), 300);
    clock.advance(250);
    assert.deepEqual(fired, ['a@100', 'b@200']);
    assert.equal(clock.now(), 250);
    assert.equal(clock.pendingTimers, 1);
  });

  it('fires timers set by fired callbacks within the same advance', () => {
    const clock = new FakeClock();
    const fired: number[] = [];
    const tick = (n: number) => {
      fired.push(clock.now());
      if (n > 0) clock.setTimeout(tick, 100, n - 1);
    };
    clock.setTimeout(tick, 100, 3);
    clock.advance(1000);
    assert.deepEqual(fired, [100, 200, 300, 400]);
  });

  it('keeps creation order for equal due times, passes the argument, and honours clearTimeout', () => {
    const clock = new FakeClock(1000);
    const fired: string[] = [];
    clock.setTimeout((s: string) => fired.push(s), 0, 'first');
    const cleared = clock.setTimeout((s: string) => fired.push(s), 0, 'cleared');
    clock.setTimeout((s: string) => fired.push(s), 0, 'second');
    clock.clearTimeout(cleared);
    clock.advance(0);
    assert.deepEqual(fired, ['first', 'second']);
    assert.equal(clock.now(), 1000);
    assert.equal(clock.runNext(), false);
  });
});

describe('systemClock', () => {
  it('runs a real timer with its argument and can cancel one', async () => {
    const start = systemClock.now();
    const cancelled = systemClock.setTimeout(() => assert.fail('cancelled timer fired'), 5);
    systemClock.clearTimeout(cancelled);
    const value = await new Promise<string>((resolve) => systemClock.setTimeout(resolve, 10, 'done'));
    assert.equal(value, 'done');
    assert.ok(systemClock.now() - start >= 9);
  });
});

describe('timer values', () => {
  it('derives RFC 3261 Table 4 and RFC 6026 values from the defaults', () => {
    const udp = timerValues(resolveTimerConfig(), false);
    assert.deepEqual(DEFAULT_TIMER_CONFIG, { t1: 500, t2: 4000, t4: 5000, d: 32000 });
    assert.deepEqual(
      [udp.a, udp.b, udp.d, udp.e, udp.f, udp.g, udp.h, udp.i, udp.j, udp.k, udp.l, udp.m],
      [500, 32000, 32000, 500, 32000, 500, 32000, 5000, 32000, 5000, 32000, 32000],
    );
  });

  it('uses no retransmit timers and zero waits over reliable transports', () => {
    const tcp = timerValues(resolveTimerConfig({ t1: 100 }), true);
    assert.deepEqual(
      [tcp.a, tcp.b, tcp.d, tcp.e, tcp.f, tcp.g, tcp.h, tcp.i, tcp.j, tcp.k, tcp.l, tcp.m],
      [0, 6400, 0, 0, 6400, 0, 6400, 0, 0, 0, 6400, 6400],
    );
  });

  it('rejects nonsensical configurations', () => {
    assert.throws(() => resolveTimerConfig({ t1: 0 }), RangeError);
    assert.throws(() => resolveTimerConfig({ t1: 500, t2: 100 }), RangeError);
    assert.throws(() => resolveTimerConfig({ t4: -1 }), RangeError);
  });
});
