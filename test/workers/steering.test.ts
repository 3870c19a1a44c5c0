import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { callIdSpan, homeOfCallId, homeWorker, liveHome } from '../../src/workers/steering.js';

const callIdOf = (text: string) => {
  const b = Buffer.from(text);
  const span = callIdSpan(b);
  return span === undefined ? undefined : b.toString('utf8', span[0], span[1]);
};

const request = (method: string, callId: string, extra = '') =>
  `${method} sip:bob@example.test SIP/2.0\r\nVia: SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bK1\r\n` +
  `From: <sip:alice@example.test>;tag=a\r\nTo: <sip:bob@example.test>${extra}\r\nCall-ID: ${callId}\r\n` +
  `CSeq: 1 ${method === 'CANCEL' || method === 'ACK' ? method : method}\r\nContent-Length: 0\r\n\r\n`;

describe('steering: the home worker of a message', () => {
  it('reads the Call-ID in its long and compact forms, any case, trimmed', () => {
    assert.equal(callIdOf(request('INVITE', 'abc@host')), 'abc@host');
    assert.equal(callIdOf('OPTIONS sip:x SIP/2.0\r\nv: SIP/2.0/UDP h\r\ni:   xyz  \r\n\r\n'), 'xyz');
    assert.equal(callIdOf('OPTIONS sip:x SIP/2.0\r\nCALL-ID : Q1\r\n\r\n'), 'Q1');
    assert.equal(callIdOf('SIP/2.0 200 OK\ncall-id:lf-only\n\n'), 'lf-only');
  });

  it('does not take a header that only starts like it, nor one in the body; none: undefined', () => {
    assert.equal(callIdOf('OPTIONS sip:x SIP/2.0\r\nCall-Info: <x>\r\nIdentity: y\r\n\r\n'), undefined);
    assert.equal(callIdOf('MESSAGE sip:x SIP/2.0\r\nVia: a\r\n\r\nCall-ID: in-body\r\n'), undefined);
    assert.equal(callIdOf('OPTIONS sip:x SIP/2.0\r\nCall-ID:\r\n\r\n'), undefined);
    assert.equal(homeWorker(Buffer.from('garbage'), 4), undefined);
  });

  it('every message of one Call-ID has the same home: request, retransmission, CANCEL, ACK, BYE, response', () => {
    for (let n = 0; n < 50; n++) {
      const callId = `${randomBytes(8).toString('hex')}@198.51.100.7`;
      const homes = new Set(
        [
          request('INVITE', callId),
          request('CANCEL', callId),
          request('ACK', callId, ';tag=b'),
          request('BYE', callId, ';tag=b'),
          `SIP/2.0 180 Ringing\r\nVia: SIP/2.0/UDP 203.0.113.1;branch=z9hG4bKp\r\ni: ${callId}\r\nCSeq: 1 INVITE\r\n\r\n`,
        ].map((m) => homeWorker(Buffer.from(m), 4)),
      );
      assert.equal(homes.size, 1);
      assert.deepEqual([...homes], [homeOfCallId(callId, 4)]);
    }
  });

  it('spreads random Call-IDs evenly over the workers', () => {
    const counts = [0, 0, 0, 0];
    for (let n = 0; n < 8000; n++) {
      const home = homeWorker(
        Buffer.from(request('REGISTER', randomBytes(12).toString('base64'))),
        4,
      ) as number;
      counts[home] = (counts[home] ?? 0) + 1;
    }
    for (const c of counts) assert.ok(c > 1700 && c < 2300, `uneven: ${counts}`);
    assert.equal(homeWorker(Buffer.from(request('INVITE', 'x')), 1), 0);
  });

  it('a home that is down hands its messages to the next worker up, the same for every receiver', () => {
    const up = new Set([0, 2, 3]);
    assert.equal(
      liveHome(1, 0, 4, (j) => up.has(j)),
      2,
    );
    assert.equal(
      liveHome(1, 3, 4, (j) => up.has(j)),
      2,
    );
    assert.equal(
      liveHome(2, 0, 4, (j) => up.has(j)),
      2,
    );
    // Nobody else up: this worker.
    assert.equal(
      liveHome(1, 3, 4, () => false),
      3,
    );
  });
});
