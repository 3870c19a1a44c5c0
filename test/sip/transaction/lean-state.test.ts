// What a transaction keeps once it only absorbs retransmissions (§17.1.1.2, §17.1.2.2, §17.2.1, §17.2.2, RFC 6026):
// its key, where to answer, and a server transaction's last response as the bytes it sent — never the request.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { serializeMessage } from '../../../src/sip/serializer.js';
import {
  deliver,
  makeRequest,
  makeResponse,
  receive,
  receiveNew,
  setup,
  startClient,
  UDP_NEXT_HOP,
} from './helpers.js';

describe('lean transaction state', () => {
  it('a completed non-INVITE server transaction re-sends the very bytes of its final response, without its request', () => {
    const env = setup();
    const { sender } = env;
    const spec = { method: 'BYE', branch: 'z9hG4bKlean1', toTag: 'uas' };
    const request = makeRequest(spec);
    const tx = receiveNew(env, request);
    assert.equal(tx.holdsRequest, true);
    const ok = makeResponse(request, 200, 'OK', 'uas');
    tx.respond(ok);
    assert.equal(tx.state, 'Completed');
    assert.equal(tx.holdsRequest, false, 'the request is let go in Completed');
    assert.throws(() => tx.request, /the request is gone/);
    assert.equal(tx.method, 'BYE', 'the method outlives the request');
    assert.equal(receive(env, makeRequest(spec)), 'absorbed');
    assert.equal(receive(env, makeRequest(spec)), 'absorbed');
    assert.equal(sender.resent.length, 2);
    for (const bytes of sender.resent) assert.deepEqual(bytes, serializeMessage(ok));
  });

  it('an INVITE server transaction keeps the bytes of its non-2xx until the ACK, and nothing in Accepted', () => {
    const env = setup();
    const { sender, clock } = env;
    const spec = { method: 'INVITE', branch: 'z9hG4bKlean2' };
    const request = makeRequest(spec);
    const tx = receiveNew(env, request);
    assert.equal(tx.kind, 'server-invite');
    const busy = makeResponse(request, 486, 'Busy Here', 'uas');
    tx.respond(busy);
    assert.equal(tx.holdsRequest, false);
    assert.equal(receive(env, makeRequest(spec)), 'absorbed');
    clock.advance(500); // Timer G
    assert.deepEqual(sender.resent, [serializeMessage(busy), serializeMessage(busy)]);
    assert.equal(receive(env, makeRequest({ ...spec, method: 'ACK', toTag: 'uas' })), 'absorbed');
    assert.equal(tx.state, 'Confirmed');
    if (tx.kind === 'server-invite')
      assert.equal(tx.lastResponse, undefined, 'Confirmed absorbs ACKs by key alone');

    const spec2 = { method: 'INVITE', branch: 'z9hG4bKlean3', callId: 'call-2' };
    const invite = makeRequest(spec2);
    const accepted = receiveNew(env, invite);
    accepted.respond(makeResponse(invite, 200, 'OK', 'uas'));
    assert.equal(accepted.state, 'Accepted');
    assert.equal(accepted.holdsRequest, false);
    if (accepted.kind === 'server-invite') assert.equal(accepted.lastResponse, undefined);
    const before = sender.sent.length;
    assert.equal(receive(env, makeRequest(spec2)), 'absorbed');
    assert.equal(sender.sent.length, before, 'RFC 6026: Accepted absorbs INVITE retransmissions entirely');
    // The TU's retransmitted 2xx still goes out.
    assert.equal(accepted.respond(makeResponse(invite, 200, 'OK', 'uas')), true);
    assert.equal(sender.sent.length, before + 1);
  });

  it('client transactions let the request go once they have a final response; the ACK for a non-2xx stays', () => {
    const env = setup();
    const { layer, sender, clientTU } = env;
    const register = makeRequest({ method: 'REGISTER', branch: 'z9hG4bKlean4' });
    const nonInvite = startClient(layer, register, UDP_NEXT_HOP, clientTU);
    deliver(layer, makeResponse(register, 200, 'OK', 'r'));
    assert.equal(nonInvite.state, 'Completed');
    assert.equal(nonInvite.holdsRequest, false);

    const invite = makeRequest({ method: 'INVITE', branch: 'z9hG4bKlean5', callId: 'call-3' });
    const inviteTx = startClient(layer, invite, UDP_NEXT_HOP, clientTU);
    deliver(layer, makeResponse(invite, 486, 'Busy Here', 'uas'));
    assert.equal(inviteTx.state, 'Completed');
    assert.equal(inviteTx.holdsRequest, false);
    const acks = sender.requests('ACK').length;
    deliver(layer, makeResponse(invite, 486, 'Busy Here', 'uas'));
    assert.equal(
      sender.requests('ACK').length,
      acks + 1,
      'a retransmitted 486 still gets its ACK (§17.1.1.2)',
    );

    const invite2 = makeRequest({ method: 'INVITE', branch: 'z9hG4bKlean6', callId: 'call-4' });
    const accepted = startClient(layer, invite2, UDP_NEXT_HOP, clientTU);
    deliver(layer, makeResponse(invite2, 200, 'OK', 'uas'));
    assert.equal(accepted.state, 'Accepted');
    assert.equal(accepted.holdsRequest, false);
    const passed = clientTU.responses.length;
    deliver(layer, makeResponse(invite2, 200, 'OK', 'uas'));
    assert.equal(clientTU.responses.length, passed + 1, 'RFC 6026: a 2xx in Accepted still reaches the TU');
  });
});
