import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DirectoryPublisher } from '../../src/cluster/directory-publisher.js';

/** A manual timer: what is scheduled runs when the test says. */
function manual() {
  const queued: Array<{ fn: () => void; ms: number; cancelled: boolean }> = [];
  const schedule = (fn: () => void, ms: number) => {
    const t = { fn, ms, cancelled: false };
    queued.push(t);
    return () => {
      t.cancelled = true;
    };
  };
  const fire = () => {
    for (const t of queued.splice(0)) if (!t.cancelled) t.fn();
  };
  return { schedule, fire, queued };
}

describe('directory publisher', () => {
  it('gathers changes into one batch after batch_ms, the latest wish per AoR', () => {
    const t = manual();
    let due = 0;
    const p = new DirectoryPublisher(50, t.schedule, () => due++);
    p.put('a', 1);
    p.put('b', 2);
    p.delete('a');
    assert.equal(t.queued.length, 1, 'one timer for the batch');
    assert.equal(t.queued[0]?.ms, 50);
    assert.equal(due, 0);
    t.fire();
    assert.equal(due, 1);
    assert.deepEqual(p.take(), [
      { op: 'delete', aor: 'a' },
      { op: 'put', aor: 'b', at: 2 },
    ]);
    assert.equal(p.size, 0);
  });

  it('splits what is pending into transactions of at most max operations', () => {
    const t = manual();
    const p = new DirectoryPublisher(0, t.schedule, () => {});
    for (let i = 0; i < 250; i++) p.put(`u${i}@d`, i);
    assert.equal(p.take(100).length, 100);
    assert.equal(p.take(100).length, 100);
    assert.equal(p.take(100).length, 50);
    assert.equal(p.take(100).length, 0);
  });

  it('a failed batch comes back for a retry, unless a newer wish replaced it', () => {
    const t = manual();
    const p = new DirectoryPublisher(10, t.schedule, () => {});
    p.put('a', 1);
    p.put('b', 1);
    t.fire();
    const batch = p.take();
    p.delete('a');
    p.giveBack(batch, 1000);
    assert.deepEqual(
      p.take().sort((x, y) => x.aor.localeCompare(y.aor)),
      [
        { op: 'delete', aor: 'a' },
        { op: 'put', aor: 'b', at: 1 },
      ],
    );
  });

  it('clear drops what is pending and its timer', () => {
    const t = manual();
    let due = 0;
    const p = new DirectoryPublisher(10, t.schedule, () => due++);
    p.put('a', 1);
    p.clear();
    t.fire();
    assert.equal(due, 0);
    assert.equal(p.size, 0);
  });
});

describe('directory publisher forget', () => {
  it('forgets what is pending for an AoR that moved away', () => {
    const p = new DirectoryPublisher(
      10,
      () => () => {},
      () => {},
    );
    p.put('a', 1);
    p.put('b', 1);
    p.forget('a');
    assert.deepEqual(p.take(), [{ op: 'put', aor: 'b', at: 1 }]);
  });
});
