import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SipRequest } from '../../../src/sip/message.js';
import {
  assertEmpty,
  deliver,
  makeRequest,
  makeResponse,
  setup,
  startClient,
  TCP_NEXT_HOP,
  UDP_NEXT_HOP,
} from './helpers.js';

const INVITE = {
  method: 'INVITE',
  branch: 'z9hG4bKci1',
  cseq: 314159,
  routes: ['<sip:p1.example.test;lr>', '<sip:p2.example.test;lr>'],
};

describe('INVITE client transaction (§17.1.1, RFC 6026)', () => {
  it('over UDP retransmits with timer A at 500, 1000, 2000… ms and times out at 32 s (timer B)', () => {
    const { clock, sender, layer, clientTU } = setup();
    const tx = startClient(layer, makeRequest(INVITE), UDP_NEXT_HOP, clientTU);
    assert.equal(tx.state, 'Calling');
    clock.advance(60_000);
    assert.deepEqual(sender.times(sender.requests('INVITE')), [0, 500, 1500, 3500, 7500, 15500, 31500]);
    assert.deepEqual(clientTU.events, ['timeout@32000', 'terminated@32000']);
    assertEmpty(layer, clock);
  });

  it('stops retransmitting on a provisional response and waits in Proceeding past timer B', () => {
    const { clock, sender, layer, clientTU } = setup();
    const invite = makeRequest(INVITE);
    const tx = startClient(layer, invite, UDP_NEXT_HOP, clientTU);
    clock.advance(700);
    deliver(layer, makeResponse(invite, 100, 'Trying'));
    deliver(layer, makeResponse(invite, 180, 'Ringing', 'uas'));
    clock.advance(60_000);
    assert.equal(tx.state, 'Proceeding');
    assert.deepEqual(sender.times(sender.requests()), [0, 500]);
    assert.deepEqual(clientTU.events, ['response 100@700', 'response 180@700']);
    tx.terminate();
    assert.deepEqual(clientTU.events.at(-1), 'terminated@60700');
    assertEmpty(layer, clock);
  });

  it('ACKs a 486 itself per §17.1.1.3, passes it up once, and re-sends the ACK for its retransmissions', () => {
    const { clock, sender, layer, clientTU } = setup();
    const invite = makeRequest(INVITE);
    const tx = startClient(layer, invite, UDP_NEXT_HOP, clientTU);
    clock.advance(100);
    const busy = makeResponse(invite, 486, 'Busy Here', 'uas-tag');
    deliver(layer, busy);
    assert.equal(tx.state, 'Completed');

    const acks = sender.requests('ACK');
    assert.equal(acks.length, 1);
    const ack = acks[0]!.message as SipRequest;
    assert.deepEqual(acks[0]!.to, UDP_NEXT_HOP, 'the ACK goes where the INVITE went');
    assert.equal(ack.uri, invite.uri);
    assert.deepEqual(ack.headers.values('via'), [invite.headers.first('via')], 'one Via: the INVITE top Via');
    assert.equal(ack.via?.branch, 'z9hG4bKci1');
    assert.equal(ack.headers.get('from'), invite.headers.get('from'));
    assert.equal(ack.headers.get('to'), busy.headers.get('to'));
    assert.equal(ack.to?.tag, 'uas-tag');
    assert.equal(ack.callId, invite.callId);
    assert.deepEqual(ack.cseq, { seq: 314159, method: 'ACK' });
    assert.deepEqual(ack.headers.values('route'), ['<sip:p1.example.test;lr>', '<sip:p2.example.test;lr>']);
    assert.equal(ack.maxForwards, 69);

    // Retransmissions of the 486 are answered with the ACK and not passed up.
    clock.advance(1000);
    deliver(layer, busy);
    deliver(layer, busy);
    assert.equal(sender.requests('ACK').length, 3);
    assert.equal(layer.stats.retransmissionsAbsorbed, 2);
    assert.deepEqual(clientTU.events, ['response 486@100']);
    assert.deepEqual(sender.times(sender.requests('INVITE')), [0], 'timer A stopped');

    // Timer D: 32 s after entering Completed.
    clock.advance(32_000 - 1000 - 1);
    assert.equal(tx.state, 'Completed');
    clock.advance(1);
    assert.deepEqual(clientTU.events, ['response 486@100', 'terminated@32100']);
    assertEmpty(layer, clock);
  });

  it('passes every 2xx to the TU, never ACKs it, and ends after timer M (Accepted, RFC 6026)', () => {
    const { clock, sender, layer, clientTU } = setup();
    const invite = makeRequest(INVITE);
    const tx = startClient(layer, invite, UDP_NEXT_HOP, clientTU);
    const ok = makeResponse(invite, 200, 'OK', 'uas-1');
    deliver(layer, ok);
    assert.equal(tx.state, 'Accepted');
    clock.advance(2000);
    deliver(layer, ok); // the UAS retransmits its 2xx
    deliver(layer, makeResponse(invite, 200, 'OK', 'uas-2')); // a forked 2xx
    deliver(layer, makeResponse(invite, 486, 'Busy Here', 'uas-3')); // cannot follow a 2xx: dropped
    assert.equal(sender.requests('ACK').length, 0);
    assert.deepEqual(sender.times(sender.requests('INVITE')), [0]);
    clock.advance(30_000);
    assert.deepEqual(clientTU.events, [
      'response 200@0',
      'response 200@2000',
      'response 200@2000',
      'terminated@32000',
    ]);
    assertEmpty(layer, clock);
  });

  it('over TCP never retransmits, and ends right after ACKing a non-2xx (timer D = 0)', () => {
    const { clock, sender, layer, clientTU } = setup();
    const invite = makeRequest({ ...INVITE, transport: 'TCP' });
    const tx = startClient(layer, invite, TCP_NEXT_HOP, clientTU);
    clock.advance(10_000);
    assert.deepEqual(sender.times(sender.requests()), [0]);
    deliver(layer, makeResponse(invite, 603, 'Decline', 'uas'));
    assert.equal(tx.state, 'Terminated');
    assert.equal(sender.requests('ACK').length, 1);
    assert.deepEqual(clientTU.events, ['response 603@10000', 'terminated@10000']);
    assertEmpty(layer, clock);
  });

  it('keeps a CANCEL apart: responses to the CANCEL reach the CANCEL transaction', () => {
    const { clock, layer, clientTU } = setup();
    const invite = makeRequest(INVITE);
    const inviteTx = startClient(layer, invite, UDP_NEXT_HOP, clientTU);
    deliver(layer, makeResponse(invite, 180, 'Ringing', 'uas'));
    const cancel = makeRequest({ ...INVITE, method: 'CANCEL' });
    const cancelTx = startClient(layer, cancel, UDP_NEXT_HOP, clientTU);
    const cancelOk = makeResponse(cancel, 200, 'OK', 'uas');
    assert.equal(layer.findClientTransaction(cancelOk), cancelTx);
    deliver(layer, cancelOk);
    assert.equal(cancelTx.state, 'Completed');
    assert.equal(inviteTx.state, 'Proceeding');
    deliver(layer, makeResponse(invite, 487, 'Request Terminated', 'uas'));
    assert.equal(inviteTx.state, 'Completed');
    clock.advance(40_000);
    assertEmpty(layer, clock);
  });
});
