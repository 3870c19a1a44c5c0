import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SipResponse } from '../../../src/sip/message.js';
import type { ServerInviteTransaction } from '../../../src/sip/transaction/server-invite.js';
import {
  assertEmpty,
  makeRequest,
  makeResponse,
  type RequestSpec,
  receive,
  receiveNew,
  setup,
  TCP_SOURCE,
  UDP_SOURCE,
} from './helpers.js';

const INVITE = { method: 'INVITE', branch: 'z9hG4bKsi1' };
const ACK = { ...INVITE, method: 'ACK', cseqMethod: 'ACK', toTag: 'uas' };

function createInvite(env: ReturnType<typeof setup>, spec: RequestSpec = INVITE, source = UDP_SOURCE) {
  const invite = makeRequest(spec);
  const tx = receiveNew(env, invite, source) as ServerInviteTransaction;
  assert.equal(tx.kind, 'server-invite');
  return { invite, tx };
}

describe('INVITE server transaction (§17.2.1, RFC 6026)', () => {
  it('sends 100 Trying at once and re-sends the latest provisional response on retransmissions', () => {
    const env = setup();
    const { sender, layer, clock } = env;
    const { invite, tx } = createInvite(env);
    assert.equal(tx.state, 'Proceeding');
    const trying = sender.responses(100);
    assert.deepEqual(sender.times(trying), [0]);
    assert.deepEqual(trying[0]!.to, UDP_SOURCE);
    const t = trying[0]!.message as SipResponse;
    assert.deepEqual(t.headers.values('via'), invite.headers.values('via'));
    assert.equal(t.to?.tag, undefined, '100 Trying carries no To tag');

    clock.advance(500);
    assert.equal(receive(env, makeRequest(INVITE)), 'absorbed');
    assert.deepEqual(sender.times(sender.responses(100)), [0, 500]);
    tx.respond(makeResponse(invite, 180, 'Ringing', 'uas'));
    clock.advance(500);
    receive(env, makeRequest(INVITE));
    assert.deepEqual(sender.times(sender.responses(180)), [500, 1000]);
    assert.equal(layer.stats.retransmissionsAbsorbed, 2);
    assert.equal(layer.stats.responsesRetransmitted, 2);
  });

  it('retransmits a 486 with timer G until the ACK, then absorbs ACKs for T4 (timer I)', () => {
    const env = setup();
    const { sender, layer, clock, serverTU } = env;
    const { invite, tx } = createInvite(env);
    clock.advance(1000);
    assert.equal(tx.respond(makeResponse(invite, 486, 'Busy Here', 'uas')), true);
    assert.equal(tx.state, 'Completed');
    assert.equal(
      tx.respond(makeResponse(invite, 500, 'Server Error', 'uas')),
      false,
      'one final response only',
    );
    clock.advance(12_000);
    // 1000 + 0, 500, 1500, 3500, 7500, 11500: G doubles from T1 up to T2.
    assert.deepEqual(sender.times(sender.responses(486)), [1000, 1500, 2500, 4500, 8500, 12500]);
    // An INVITE retransmission also gets the 486 again.
    receive(env, makeRequest(INVITE));
    assert.equal(sender.responses(486).length, 7);

    assert.equal(receive(env, makeRequest(ACK)), 'absorbed');
    assert.equal(tx.state, 'Confirmed');
    clock.advance(1000);
    assert.equal(receive(env, makeRequest(ACK)), 'absorbed'); // ACK retransmission
    assert.equal(sender.responses(486).length, 7, 'no more retransmissions once confirmed');
    clock.advance(3999);
    assert.equal(tx.state, 'Confirmed');
    clock.advance(1);
    assert.equal(tx.state, 'Terminated');
    assert.deepEqual(serverTU.events, ['terminated@18000']);
    assertEmpty(layer, clock);
  });

  it('gives up at 64*T1 without an ACK (timer H) and tells the TU', () => {
    const env = setup();
    const { sender, layer, clock, serverTU } = env;
    const { invite, tx } = createInvite(env);
    tx.respond(makeResponse(invite, 404, 'Not Found', 'uas'));
    clock.advance(40_000);
    assert.deepEqual(
      sender.times(sender.responses(404)),
      [0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500],
    );
    assert.deepEqual(serverTU.events, ['timeout@32000', 'terminated@32000']);
    assert.equal(layer.stats.timeouts, 1);
    assertEmpty(layer, clock);
  });

  it('in Accepted absorbs INVITE retransmissions silently, sends further 2xx, hands the ACK up, ends with timer L', () => {
    const env = setup();
    const { sender, layer, clock, serverTU } = env;
    const { invite, tx } = createInvite(env);
    const ok = makeResponse(invite, 200, 'OK', 'uas');
    tx.respond(ok);
    assert.equal(tx.state, 'Accepted');
    clock.advance(500);
    const sentBefore = sender.sent.length;
    assert.equal(receive(env, makeRequest(INVITE)), 'absorbed');
    assert.equal(sender.sent.length, sentBefore, 'nothing re-sent: 2xx reliability is the TU’s');
    assert.equal(tx.respond(ok), true, 'the TU retransmits its 2xx through the transaction');
    assert.equal(tx.respond(makeResponse(invite, 486, 'Busy Here', 'uas')), false);
    assert.deepEqual(sender.times(sender.responses(200)), [0, 500]);

    // An ACK with the INVITE's branch (a 2xx ACK forwarded by a stateless element) goes to the TU.
    const ack = makeRequest(ACK);
    assert.equal(receive(env, ack), 'ack');
    assert.deepEqual(env.serverTU.handed.at(-1), { kind: 'ack', ack, accepted: tx });
    // The usual end-to-end ACK has a branch of its own and matches nothing.
    const e2e = makeRequest({ ...ACK, branch: 'z9hG4bKack2xx' });
    assert.equal(receive(env, e2e), 'ack');
    assert.deepEqual(env.serverTU.handed.at(-1), { kind: 'ack', ack: e2e, accepted: undefined });

    clock.advance(31_499);
    assert.equal(tx.state, 'Accepted');
    clock.advance(1);
    assert.deepEqual(serverTU.events, ['terminated@32000']);
    assertEmpty(layer, clock);
  });

  it('over TCP does not retransmit, and ends as soon as the ACK arrives (timer I = 0)', () => {
    const env = setup();
    const { sender, layer, clock, serverTU } = env;
    const { invite, tx } = createInvite(env, { ...INVITE, transport: 'TCP' }, TCP_SOURCE);
    tx.respond(makeResponse(invite, 486, 'Busy Here', 'uas'));
    clock.advance(10_000);
    assert.deepEqual(sender.times(sender.responses(486)), [0]);
    receive(env, makeRequest({ ...ACK, transport: 'TCP' }), TCP_SOURCE);
    assert.equal(tx.state, 'Terminated');
    assert.deepEqual(serverTU.events, ['terminated@10000']);
    assertEmpty(layer, clock);
  });

  it('sends 100 Trying after 200 ms with `delayed` unless the TU answers first, and never with `never`', () => {
    const delayed = setup({ trying: 'delayed' });
    createInvite(delayed);
    delayed.clock.advance(199);
    assert.equal(delayed.sender.responses(100).length, 0);
    delayed.clock.advance(1);
    assert.deepEqual(delayed.sender.times(delayed.sender.responses(100)), [200]);

    const quick = setup({ trying: 'delayed' });
    const { invite, tx } = createInvite(quick);
    quick.clock.advance(50);
    tx.respond(makeResponse(invite, 180, 'Ringing', 'uas'));
    quick.clock.advance(1000);
    assert.equal(quick.sender.responses(100).length, 0);

    const never = setup({ trying: 'never' });
    createInvite(never);
    never.clock.advance(1000);
    assert.equal(never.sender.sent.length, 0);
  });

  it('matches an RFC 2543 ACK (no magic cookie) by the To tag of the response it sent', () => {
    const env = setup();
    const { layer, clock, sender } = env;
    const legacy = { method: 'INVITE', branch: '' };
    const { invite, tx } = createInvite(env, legacy);
    assert.equal(receive(env, makeRequest(legacy)), 'absorbed');
    tx.respond(makeResponse(invite, 486, 'Busy Here', 'legacy-tag'));
    const wrongTag = makeRequest({ ...legacy, method: 'ACK', cseqMethod: 'ACK', toTag: 'other' });
    assert.equal(receive(env, wrongTag), 'ack');
    assert.equal(tx.state, 'Completed');
    const ack = makeRequest({ ...legacy, method: 'ACK', cseqMethod: 'ACK', toTag: 'legacy-tag' });
    assert.equal(receive(env, ack), 'absorbed');
    assert.equal(tx.state, 'Confirmed');
    clock.advance(5000);
    assert.equal(sender.responses(486).length, 1);
    assertEmpty(layer, clock);
  });

  it('reports a transport error on sending a response and terminates (§17.2.4)', () => {
    const env = setup();
    const { layer, clock, sender, serverTU } = env;
    const { invite, tx } = createInvite(env, INVITE, TCP_SOURCE);
    sender.failWith = new Error('connection reset');
    tx.respond(makeResponse(invite, 486, 'Busy Here', 'uas'));
    assert.equal(tx.state, 'Terminated');
    assert.deepEqual(serverTU.events, ['transport-error connection reset@0', 'terminated@0']);
    assertEmpty(layer, clock);
  });
});

describe('CANCEL matching (§9.2, §16.10)', () => {
  for (const [name, branch] of [
    ['RFC 3261', 'z9hG4bKcancel'],
    ['RFC 2543', ''],
  ] as const) {
    it(`${name}: a CANCEL is a transaction of its own that finds the INVITE transaction`, () => {
      const env = setup();
      const { layer, clock } = env;
      const spec = { method: 'INVITE', branch };
      const { invite, tx } = createInvite(env, spec);
      const cancel = makeRequest({ ...spec, method: 'CANCEL' });
      assert.equal(receive(env, cancel), 'cancel');
      const handed = env.serverTU.handed.at(-1);
      assert.ok(handed?.kind === 'cancel');
      assert.equal(handed.invite, tx, 'the core is handed the INVITE transaction it cancels');
      assert.equal(layer.findInviteForCancel(cancel), tx);
      const cancelTx = handed.tx;
      assert.equal(cancelTx.kind, 'server-non-invite');
      assert.equal(layer.findServerTransaction(cancel), cancelTx);
      cancelTx.respond(makeResponse(cancel, 200, 'OK', 'uas'));
      tx.respond(makeResponse(invite, 487, 'Request Terminated', 'uas'));
      // A CANCEL for a different INVITE (another branch; without the cookie, another CSeq) finds nothing.
      const other = makeRequest({ method: 'CANCEL', branch: branch === '' ? '' : 'z9hG4bKother', cseq: 9 });
      assert.equal(layer.findInviteForCancel(other), undefined);
      receive(env, makeRequest({ ...spec, method: 'ACK', cseqMethod: 'ACK', toTag: 'uas' }));
      clock.advance(40_000);
      assertEmpty(layer, clock);
    });
  }
});
