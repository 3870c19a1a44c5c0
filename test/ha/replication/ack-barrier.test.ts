// Acknowledged means replicated, without sockets: the barrier holds a confirming response until the backup's ack
// covers its change, for at most the bound (then counts a timeout and marks the backup lagging), and makes no
// promise at all when there is nothing to wait for.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AckBarrier } from '../../../src/ha/replication/ack-barrier.js';
import { ReplicationSource } from '../../../src/ha/replication/source.js';
import { FakeClock } from '../../../src/time/clock.js';

const rm = (i: number) => ({ k: 'u' as const, aor: `sip:u${i}@x`, contact: `sip:u${i}@h` });

/** A source with a synced backup (snapshot at seq 0 acknowledged), a barrier on the same fake clock. */
function pair(waitMs = 10, { backup = true, primary = true } = {}) {
  const clock = new FakeClock(1000);
  const source = new ReplicationSource({ now: () => clock.now() });
  if (backup) {
    source.beginSession();
    assert.deepEqual(source.ack(0), { ok: true });
  }
  let lagged = 0;
  const barrier = new AckBarrier({
    source,
    waitMs,
    clock,
    active: () => primary,
    onLagging: () => lagged++,
  });
  return { clock, source, barrier, lagged: () => lagged };
}

/** Whether a promise has settled, after the microtasks queued so far ran. */
async function settled(p: Promise<void>): Promise<boolean> {
  let done = false;
  void p.then(() => {
    done = true;
  });
  await new Promise((r) => setImmediate(r));
  return done;
}

describe('AckBarrier', () => {
  it('holds a change until the ack covers it, then lets it go', async () => {
    const { clock, source, barrier } = pair();
    source.record(rm(1));
    const w1 = barrier.afterChange();
    assert.ok(w1 !== undefined, 'a synced backup has not acknowledged seq 1: wait');
    source.record(rm(2));
    const w2 = barrier.afterChange();
    assert.ok(w2 !== undefined);
    clock.advance(3);
    assert.deepEqual(source.ack(1), { ok: true });
    barrier.onAck();
    assert.equal(await settled(w1), true, 'ack 1 covers the first');
    assert.equal(await settled(w2), false, 'but not the second');
    assert.deepEqual(source.ack(2), { ok: true });
    barrier.onAck();
    assert.equal(await settled(w2), true);
    assert.equal(barrier.stats.waits, 2);
    assert.equal(barrier.stats.acked, 2);
    assert.equal(barrier.stats.timeouts, 0);
    assert.equal(barrier.stats.maxWaitMs, 3);
    assert.equal(source.synced, true);
    assert.equal(clock.pendingTimers, 0, 'nothing waits: no timer left');
  });

  it('times out at the bound, counts it and marks the backup unsynced until it has caught up', async () => {
    const { clock, source, barrier, lagged } = pair(10);
    source.record(rm(1));
    const w1 = barrier.afterChange();
    assert.ok(w1 !== undefined);
    clock.advance(4);
    source.record(rm(2));
    const w2 = barrier.afterChange();
    assert.ok(w2 !== undefined);
    clock.advance(5);
    assert.equal(await settled(w1), false, 'not before the bound');
    clock.advance(1);
    assert.equal(await settled(w1), true, 'at the bound');
    assert.equal(await settled(w2), true, 'a lagging backup holds nothing back');
    assert.equal(barrier.stats.timeouts, 2);
    assert.equal(barrier.stats.maxWaitMs, 10);
    assert.equal(lagged(), 1);
    assert.equal(source.isLagging, true);
    assert.equal(source.synced, false, 'unsynced although its lag is well under syncedLagMs');
    source.record(rm(3));
    assert.equal(barrier.afterChange(), undefined, 'no wait while lagging');
    assert.deepEqual(source.ack(1), { ok: true });
    assert.equal(source.synced, false, 'acknowledged 1 of the 2 it fell behind on: still lagging');
    assert.deepEqual(source.ack(2), { ok: true });
    assert.equal(source.synced, true, 'caught up with what it fell behind on (3 is young)');
    source.record(rm(4));
    assert.ok(barrier.afterChange() !== undefined, 'waits again');
  });

  it('an ack for the head re-arms the bound for the next waiter from its own start', async () => {
    const { clock, source, barrier } = pair(10);
    source.record(rm(1));
    const w1 = barrier.afterChange()!;
    clock.advance(6);
    source.record(rm(2));
    const w2 = barrier.afterChange()!;
    source.ack(1);
    barrier.onAck();
    assert.equal(await settled(w1), true);
    clock.advance(4); // the first one's bound: the second has waited only 4 ms
    assert.equal(await settled(w2), false);
    clock.advance(6);
    assert.equal(await settled(w2), true);
    assert.equal(barrier.stats.timeouts, 1);
  });

  it('returns no promise without a backup, before its snapshot is acknowledged, with 0 ms, on a backup node', () => {
    const alone = pair(10, { backup: false });
    alone.source.record(rm(1));
    assert.equal(alone.barrier.afterChange(), undefined, 'lone primary');

    const snap = pair(10, { backup: false });
    snap.source.beginSession();
    snap.source.record(rm(1));
    assert.equal(snap.barrier.afterChange(), undefined, 'snapshot not acknowledged');

    const off = pair(0);
    off.source.record(rm(1));
    assert.equal(off.barrier.afterChange(), undefined, 'ack_wait_ms 0');

    const backup = pair(10, { primary: false });
    backup.source.record(rm(1));
    assert.equal(backup.barrier.afterChange(), undefined, 'not primary');

    const acked = pair(10);
    acked.source.record(rm(1));
    acked.source.ack(1);
    assert.equal(acked.barrier.afterChange(), undefined, 'already acknowledged');
    for (const p of [alone, snap, off, backup, acked]) {
      assert.equal(p.barrier.stats.waits, 0);
      assert.equal(p.clock.pendingTimers, 0);
    }
  });

  it('lets everything go when the backup goes away', async () => {
    const { source, barrier } = pair(10);
    source.record(rm(1));
    const w = barrier.afterChange()!;
    source.endSession();
    barrier.releaseAll();
    assert.equal(await settled(w), true);
    assert.equal(barrier.stats.released, 1);
    assert.equal(barrier.stats.timeouts, 0);
  });
});
