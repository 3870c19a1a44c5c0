import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LagHistogram, LagWindow } from '../../../src/ha/replication/lag-histogram.js';
import { ReplicationSource } from '../../../src/ha/replication/source.js';

function clock(start = 1000) {
  const c = { t: start, now: () => c.t };
  return c;
}
const rm = (i: number) => ({ k: 'u' as const, aor: `sip:u${i}@x`, contact: `sip:u${i}@h` });

describe('ReplicationSource', () => {
  it('numbers every change and queues only for a connected backup', () => {
    const c = clock();
    const s = new ReplicationSource({ now: c.now });
    assert.equal(s.record(rm(1)), 1);
    assert.equal(s.record(rm(2)), 2);
    assert.equal(s.pendingCount, 0);
    assert.equal(s.beginSession(), 2, 'snapshot covers 1..2');
    let woken = 0;
    s.onPending = () => woken++;
    s.record(rm(3));
    s.record(rm(4));
    assert.equal(woken, 1, 'woken once per empty → non-empty');
    assert.deepEqual(
      s.takePending().map((p) => p.seq),
      [3, 4],
    );
    assert.equal(s.pendingCount, 0);
  });

  it('is synced only after the snapshot is acknowledged and while acks keep up', () => {
    const c = clock();
    const s = new ReplicationSource({ now: c.now, syncedLagMs: 500 });
    s.record(rm(1));
    assert.equal(s.synced, false, 'no backup');
    s.beginSession();
    assert.equal(s.synced, false, 'snapshot not acknowledged');
    assert.equal(s.drained, false);
    assert.deepEqual(s.ack(1), { ok: true });
    assert.equal(s.synced, true);
    assert.equal(s.drained, true);
    s.record(rm(2));
    assert.equal(s.drained, false);
    assert.equal(s.synced, true, 'in flight for 0 ms');
    c.t += 501;
    assert.equal(s.synced, false, 'oldest unacknowledged change too old');
    s.ack(2);
    assert.equal(s.synced, true);
    s.endSession();
    assert.equal(s.synced, false);
    assert.equal(s.connected, false);
  });

  it('measures lag per stream change as ack time − change time, not for the snapshot', () => {
    const c = clock();
    const s = new ReplicationSource({ now: c.now });
    s.record(rm(1));
    s.beginSession();
    c.t += 100;
    s.ack(1);
    assert.equal(s.lagTotal.count, 0, 'the snapshot is not a lag sample');
    s.record(rm(2)); // t=1100
    c.t += 2;
    s.record(rm(3)); // t=1102
    c.t += 2;
    s.ack(3); // t=1104: lags 4 and 2
    assert.equal(s.lagTotal.count, 2);
    assert.ok(Math.abs((s.lagTotal.percentile(1) ?? 0) - 4) < 0.01);
    const p50 = s.lagTotal.percentile(0.5) ?? 0;
    assert.ok(p50 >= 2 && p50 <= 2.2, `p50 ${p50}`);
  });

  it('refuses acks beyond the last seq, before the snapshot or going backwards', () => {
    const s = new ReplicationSource({ now: clock().now });
    assert.equal(s.ack(0).ok, false, 'no session');
    s.record(rm(1));
    s.record(rm(2));
    s.beginSession();
    assert.equal(s.ack(3).ok, false);
    assert.equal(s.ack(1).ok, false);
    assert.equal(s.ack(2).ok, true);
    s.record(rm(3));
    s.record(rm(4));
    assert.equal(s.ack(4).ok, true);
    assert.equal(s.ack(3).ok, false);
    assert.equal(s.ackedSeq, 4);
  });

  it('overflows, rather than grow without bound, for a stuck backup', () => {
    const s = new ReplicationSource({ now: clock().now, maxPending: 3 });
    s.beginSession();
    for (let i = 0; i < 5; i++) s.record(rm(i));
    assert.equal(s.overflowed, true);
    assert.equal(s.pendingCount, 0);
    assert.equal(s.synced, false);
    s.beginSession();
    assert.equal(s.overflowed, false, 'a new session starts clean');
  });

  it('a lagging backup (a missed acknowledgement bound) is unsynced until it has acknowledged what it fell behind on', () => {
    const c = clock();
    const s = new ReplicationSource({ now: c.now });
    s.markLagging();
    assert.equal(s.isLagging, false, 'no backup: nothing to lag');
    s.beginSession();
    s.ack(0);
    s.markLagging();
    assert.equal(s.isLagging, false, 'a backup that holds everything does not lag');
    s.record(rm(1));
    s.record(rm(2));
    s.markLagging();
    assert.equal(s.synced, false, 'lagging, though its lag is young');
    s.record(rm(3));
    s.ack(1);
    assert.equal(s.synced, false, '1 of the 2 it fell behind on');
    s.ack(2);
    assert.equal(s.synced, true, 'caught up with those; 3 is a young change like any other');
    s.record(rm(3));
    s.markLagging();
    s.beginSession();
    assert.equal(s.isLagging, false, 'a new session starts clean');
  });
});

describe('LagHistogram', () => {
  it('gives percentiles within the bucket resolution', () => {
    const h = new LagHistogram();
    assert.equal(h.percentile(0.5), null);
    for (let i = 1; i <= 1000; i++) h.record(i / 100); // 0.01 .. 10 ms
    const p50 = h.percentile(0.5) ?? 0;
    const p99 = h.percentile(0.99) ?? 0;
    assert.ok(p50 >= 5 && p50 <= 5 * 1.1, `p50 ${p50}`);
    assert.ok(p99 >= 9.9 && p99 <= 10, `p99 ${p99}`);
    assert.equal(h.max, 10);
  });

  it('forgets old samples in a window', () => {
    const w = new LagWindow(1000, 0);
    w.record(100, 0);
    assert.equal(w.percentiles(400).count, 1);
    assert.equal(w.percentiles(600).count, 1, 'previous half still counts');
    assert.equal(w.percentiles(1200).count, 0);
  });
});
