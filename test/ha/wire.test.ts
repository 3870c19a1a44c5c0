// The wire codec and the anti-replay window, pure.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkFresh, decode, encode, type PeerMessage, type ReplayState, WINDOW } from '../../src/ha/wire.js';

const KEY = Buffer.alloc(32, 7);
const msg: PeerMessage = {
  from: 'a',
  inc: 1000,
  seq: 5,
  ts: 50_000,
  path: 1,
  body: { type: 'resign', term: 4, vipRemovedAt: 49_990 },
};

describe('wire codec', () => {
  it('round-trips every body type', () => {
    const bodies: PeerMessage['body'][] = [
      msg.body,
      { type: 'hb', role: 'fault', term: 2, priority: 10, ready: false, yielding: true },
      { type: 'resign-request', reason: 'preempt' },
    ];
    for (const body of bodies)
      assert.deepEqual(decode(encode({ ...msg, body }, KEY), KEY), { ok: true, msg: { ...msg, body } });
  });

  it('any flipped bit is a forgery, a wrong key too', () => {
    const buf = encode(msg, KEY);
    for (const i of [4, 10, buf.length - 1]) {
      const bad = Buffer.from(buf);
      bad[i] = (bad[i] as number) ^ 1;
      assert.equal((decode(bad, KEY) as { reason: string }).reason, 'forged', `bit flip at ${i}`);
    }
    assert.equal((decode(buf, Buffer.alloc(32, 8)) as { reason: string }).reason, 'forged');
  });

  it('authentic but ill-typed content is malformed', () => {
    const bad = encode({ ...msg, body: { type: 'hb', role: 'king' } } as unknown as PeerMessage, KEY);
    assert.equal((decode(bad, KEY) as { reason: string }).reason, 'malformed');
    assert.equal((decode(Buffer.from('SPH1'), KEY) as { reason: string }).reason, 'malformed');
  });
});

describe('anti-replay window', () => {
  const now = 50_000;
  const ok = (prev: ReplayState | undefined, seq: number, inc = 1000): ReplayState => {
    const r = checkFresh(prev, { inc, seq, ts: now }, now, 500);
    assert.ok(r.ok, `seq ${seq} accepted`);
    return r.next;
  };
  const reason = (prev: ReplayState | undefined, seq: number, inc = 1000, ts = now) => {
    const r = checkFresh(prev, { inc, seq, ts }, now, 500);
    return r.ok ? 'ok' : r.reason;
  };

  it('accepts out-of-order numbers inside the window once each', () => {
    let s = ok(undefined, 10);
    s = ok(s, 12);
    s = ok(s, 11);
    assert.equal(reason(s, 11), 'replayed');
    assert.equal(reason(s, 12), 'replayed');
    s = ok(s, 12 + WINDOW);
    assert.equal(reason(s, 12), 'replayed', 'below the window');
    assert.equal(reason(s, 13), 'ok');
  });

  it('a new incarnation restarts the sequence; an old one is a replay', () => {
    const s = ok(undefined, 500);
    const t = ok(s, 1, 2000);
    assert.equal(reason(t, 600, 1000), 'replayed');
  });

  it('messages outside the clock skew are stale, both ways', () => {
    assert.equal(reason(undefined, 1, 1000, now - 501), 'stale');
    assert.equal(reason(undefined, 1, 1000, now + 501), 'stale');
    assert.equal(reason(undefined, 1, 1000, now - 499), 'ok');
  });
});
