import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  FrameOpener,
  FrameSealer,
  FrameSplitter,
  MAX_FRAME_BYTES,
  newNonce,
  peekPayload,
  sessionKey,
} from '../../../src/ha/replication/frame.js';
import { asReplMessage, type ReplMessage } from '../../../src/ha/replication/messages.js';

const key = randomBytes(32);
const body = (f: Buffer) => f.subarray(4);

const change: ReplMessage = {
  t: 'ch',
  head: 7,
  c: [
    {
      s: 5,
      k: 'b',
      b: {
        aor: 'sip:alice@example.test',
        contact: 'sip:alice@192.0.2.1:5060',
        q: 1000,
        ttl: 3_599_000,
        age: 1000,
        callId: 'c1',
        cseq: 2,
        path: ['<sip:edge.example.test;lr>'],
        received: 'udp:192.0.2.1:5060',
      },
    },
    { s: 6, k: 'u', aor: 'sip:bob@example.test', contact: 'sip:bob@192.0.2.2' },
    {
      s: 7,
      k: 'd',
      d: {
        callId: 'x',
        fromTag: 'a',
        toTag: 'b',
        caller: 'sip:alice@example.test',
        callee: 'sip:bob@example.test',
        state: 'confirmed',
        age: 12,
        confirmedAge: 3,
      },
    },
    { s: 8, k: 'e', id: 'x;a;b' },
  ],
};

describe('replication frames', () => {
  it('round-trips every message kind', () => {
    const msgs: ReplMessage[] = [
      { t: 'hello', v: 1, from: 'a', nonce: newNonce(), ok: false, reason: 'not primary' },
      { t: 'start' },
      { t: 'snap-begin', seq: 3, bindings: 1, dialogs: 0 },
      { t: 'snap', b: [], d: [] },
      { t: 'snap-end', seq: 3 },
      change,
      { t: 'tick', head: 9 },
      { t: 'ack', seq: 9 },
    ];
    const sealer = new FrameSealer(key, 'to-backup');
    const opener = new FrameOpener(key, 'to-backup');
    for (const m of msgs) assert.deepEqual(opener.open(body(sealer.seal(m))), { ok: true, msg: m });
  });

  it('splits a stream cut anywhere into the same frames', () => {
    const sealer = new FrameSealer(key, 'to-primary');
    const frames = [
      sealer.seal({ t: 'ack', seq: 1 }),
      sealer.seal(change),
      sealer.seal({ t: 'ack', seq: 2 }),
    ];
    const stream = Buffer.concat(frames);
    for (const cut of [1, 3, 4, 5, 17, stream.length - 1]) {
      const s = new FrameSplitter();
      const got = [...s.push(stream.subarray(0, cut)), ...s.push(stream.subarray(cut))];
      assert.deepEqual(got, frames.map(body), `cut at ${cut}`);
    }
    // Byte by byte.
    const s = new FrameSplitter();
    const got: Buffer[] = [];
    for (const b of stream) got.push(...s.push(Buffer.from([b])));
    assert.equal(got.length, 3);
  });

  it('rejects an absurd length instead of waiting for it', () => {
    const h = Buffer.alloc(4);
    h.writeUInt32BE(MAX_FRAME_BYTES + 1);
    assert.throws(() => new FrameSplitter().push(h), /frame of/);
  });

  it('rejects a frame under another key, or with one byte changed', () => {
    const f = body(new FrameSealer(key, 'to-backup').seal({ t: 'tick', head: 1 }));
    assert.equal(new FrameOpener(randomBytes(32), 'to-backup').open(f).ok, false);
    const tampered = Buffer.from(f);
    tampered[10] = (tampered[10] ?? 0) ^ 1;
    const r = new FrameOpener(key, 'to-backup').open(tampered);
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.reason, 'forged');
  });

  it('rejects a replayed, reordered or reflected frame', () => {
    const sealer = new FrameSealer(key, 'to-primary');
    const f1 = body(sealer.seal({ t: 'ack', seq: 1 }));
    const f2 = body(sealer.seal({ t: 'ack', seq: 2 }));
    const opener = new FrameOpener(key, 'to-primary');
    assert.equal(opener.open(f1).ok, true);
    assert.equal(opener.open(f1).ok, false, 'same frame twice');
    const reorder = new FrameOpener(key, 'to-primary');
    assert.equal(reorder.open(f2).ok, false, 'second frame first');
    assert.equal(new FrameOpener(key, 'to-backup').open(f1).ok, false, 'reflected to its sender');
  });

  it('makes a recorded session worthless on a new connection (fresh nonces, new session key)', () => {
    const backupNonce = newNonce();
    const old = sessionKey(key, backupNonce, newNonce());
    const recorded = body(
      new FrameSealer(old, 'to-backup').seal({ t: 'snap-begin', seq: 1, bindings: 0, dialogs: 0 }),
    );
    // Even a backup that reuses its nonce gets a different key, because the primary's nonce is fresh.
    const fresh = sessionKey(key, backupNonce, newNonce());
    assert.notDeepEqual(fresh, old);
    assert.equal(new FrameOpener(fresh, 'to-backup').open(recorded).ok, false);
    assert.deepEqual(
      sessionKey(key, backupNonce, '00'.repeat(32)),
      sessionKey(key, backupNonce, '00'.repeat(32)),
    );
  });

  it('peeks at the hello before the key that checks it exists', () => {
    const nonce = newNonce();
    const f = body(new FrameSealer(key, 'to-backup').seal({ t: 'hello', v: 1, from: 'b', nonce, ok: true }));
    assert.deepEqual(asReplMessage(peekPayload(f)), { t: 'hello', v: 1, from: 'b', nonce, ok: true });
  });

  it('rejects malformed payloads with a valid MAC', () => {
    const bad: unknown[] = [
      { t: 'ack', seq: -1 },
      { t: 'ack', seq: 1.5 },
      { t: 'hello', v: 1, from: 'a', nonce: 'short' },
      { t: 'ch', head: 1, c: [{ s: 1, k: 'b', b: { aor: 'x' } }] },
      { t: 'ch', head: 1, c: [{ s: 1, k: 'zz' }] },
      {
        t: 'snap',
        b: [],
        d: [{ callId: 'x', fromTag: 'a', toTag: 'b', caller: '', callee: '', state: 'gone', age: 0 }],
      },
      { t: 'nope' },
      [],
    ];
    for (const b of bad) assert.equal(asReplMessage(b), undefined, JSON.stringify(b));
  });
});
