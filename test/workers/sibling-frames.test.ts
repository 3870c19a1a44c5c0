import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeFrame, FrameDecoder, FrameError, FrameKind } from '../../src/workers/sibling-frames.js';

describe('sibling frames', () => {
  it('a frame comes back whole however the stream cuts it, several per chunk too', () => {
    const body = Buffer.from('INVITE sip:bob@example.test SIP/2.0\r\n\r\n');
    const a = encodeFrame(FrameKind.message, { s: { transport: 'udp', port: 5060 }, f: 'datagram' }, body);
    const b = encodeFrame(FrameKind.state, { t: 'up', c: [] });
    const stream = Buffer.concat([a, b]);
    for (let cut = 1; cut < stream.length; cut++) {
      const d = new FrameDecoder();
      const frames = [...d.push(stream.subarray(0, cut)), ...d.push(stream.subarray(cut))];
      assert.equal(frames.length, 2, `cut at ${cut}`);
      assert.equal(frames[0]?.kind, FrameKind.message);
      assert.deepEqual(frames[0]?.body, body);
      assert.deepEqual(frames[0]?.head, { s: { transport: 'udp', port: 5060 }, f: 'datagram' });
      assert.deepEqual(frames[1]?.head, { t: 'up', c: [] });
      assert.equal(frames[1]?.body.length, 0);
    }
  });

  it('a malformed frame is an error, not a crash', () => {
    const bad = Buffer.alloc(9);
    bad.writeUInt32BE(2, 0);
    assert.throws(() => new FrameDecoder().push(bad), FrameError);
    const notJson = Buffer.alloc(12);
    notJson.writeUInt32BE(8, 0);
    notJson.writeUInt8(FrameKind.state, 4);
    notJson.writeUInt32BE(3, 5);
    notJson.write('{{{', 9);
    assert.throws(() => new FrameDecoder().push(notJson), FrameError);
  });
});
