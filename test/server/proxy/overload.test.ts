// The proxy core's admission under overload (src/server/overload/shed.ts), on a fake clock through a real
// transaction layer: which requests may be shed, what the stateless 503 looks like and where it goes, and that a
// partly overloaded governor sheds exactly its fraction of new requests.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OverloadGovernor } from '../../../src/server/overload/governor.js';
import { SHED_TAG_PREFIX } from '../../../src/server/overload/shed.js';
import type { SipResponse } from '../../../src/sip/message.js';
import { makeRequest, TCP_SOURCE } from '../../sip/transaction/helpers.js';
import { bobBehindEdge, proxyHarness } from './harness.js';

function overloaded(fraction: number, random = () => 0) {
  const governor = new OverloadGovernor({ maxLoopDelayMs: 40 });
  governor.force(fraction, 0);
  const h = proxyHarness({ overload: { governor, retryAfterS: 10, random } });
  h.location.put(bobBehindEdge());
  return { h, governor };
}

let n = 0;
const fresh = (method: string, extra: { toTag?: string } = {}) =>
  makeRequest({ method, branch: `z9hG4bKovl${++n}`, callId: `ovl-${n}`, ...extra });

describe('proxy core under overload', () => {
  // [method, To tag, shed]
  const rows: Array<[string, string | undefined, boolean]> = [
    ['INVITE', undefined, true],
    ['REGISTER', undefined, true],
    ['SUBSCRIBE', undefined, true],
    ['MESSAGE', undefined, true],
    ['OPTIONS', undefined, true],
    ['PUBLISH', undefined, true],
    ['INVITE', 'bob', false],
    ['BYE', 'bob', false],
    ['NOTIFY', 'bob', false],
    ['CANCEL', undefined, false],
  ];
  for (const [method, toTag, shed] of rows) {
    it(`${method}${toTag === undefined ? '' : ' with a To tag'}: ${shed ? 'shed' : 'served'}`, () => {
      const { h } = overloaded(1);
      h.receive(fresh(method, toTag === undefined ? {} : { toTag }));
      const shed503 = h.sender.responses(503).length === 1 && h.layer.size === 0;
      assert.equal(shed503, shed);
      assert.equal(h.proxy.stats.overloadRejectedByMethod[method] ?? 0, shed ? 1 : 0);
    });
  }

  it('answers statelessly where the request came from: Retry-After, a marked To tag, the TCP connection', () => {
    const { h } = overloaded(1, () => 0.99);
    h.receive(fresh('INVITE'), TCP_SOURCE);
    const [sent] = h.sender.responses();
    assert.ok(sent);
    const r = sent.message as SipResponse;
    assert.equal(r.status, 503);
    assert.equal(r.headers.get('retry-after'), '20', 'N..2N, here the top of the spread');
    assert.ok(r.to?.tag?.startsWith(SHED_TAG_PREFIX));
    assert.deepEqual(sent.to, TCP_SOURCE, 'back on the connection it came on (§18.2.2)');
    assert.equal(h.sender.responses(100).length, 0, 'no 100 Trying: no transaction');
    assert.deepEqual(h.proxy.stats.responsesSentByStatus, { '503': 1 });
  });

  it('drops the ACK for a shed 503, even after the overload is over, and forwards other ACKs', () => {
    const { h, governor } = overloaded(1);
    h.receive(fresh('INVITE'));
    const [shed] = h.sender.responses(503);
    assert.ok(shed);
    const tag = (shed.message as SipResponse).to?.tag;
    governor.force(0, 1);
    h.receive(makeRequest({ method: 'ACK', branch: `z9hG4bKovl${n}`, callId: `ovl-${n}`, toTag: tag }));
    assert.equal(h.sent('ACK').length, 0);
    assert.equal(h.proxy.stats.overloadAcksDropped, 1);
    h.receive(makeRequest({ method: 'ACK', branch: 'z9hG4bKe2e', toTag: 'bob' }));
    assert.equal(h.sent('ACK').length, 1, 'the end-to-end ACK of a real call');
  });

  it('at 0.5 sheds every other new INVITE and forwards the rest', () => {
    const { h } = overloaded(0.5);
    for (let i = 0; i < 10; i++) h.receive(fresh('INVITE'));
    assert.equal(h.sender.responses(503).length, 5);
    assert.equal(h.sent('INVITE').length, 5);
  });

  it('sheds nothing while the governor is idle', () => {
    const { h } = overloaded(0);
    for (let i = 0; i < 10; i++) h.receive(fresh('INVITE'));
    assert.equal(h.sender.responses(503).length, 0);
    assert.equal(h.sent('INVITE').length, 10);
  });
});
