import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertEmpty, makeRequest, makeResponse, receive, receiveNew, setup, TCP_SOURCE } from './helpers.js';

const REGISTER = { method: 'REGISTER', uri: 'sip:example.test', branch: 'z9hG4bKsn1' };

describe('non-INVITE server transaction (§17.2.2)', () => {
  it('discards retransmissions in Trying, re-sends the provisional in Proceeding and the final in Completed', () => {
    const env = setup();
    const { layer, clock, sender, serverTU } = env;
    const request = makeRequest(REGISTER);
    const tx = receiveNew(env, request);
    assert.equal(tx.state, 'Trying');
    assert.equal(sender.sent.length, 0, 'no 100 Trying for non-INVITE');
    assert.equal(receive(env, makeRequest(REGISTER)), 'absorbed');
    assert.equal(sender.sent.length, 0);

    tx.respond(makeResponse(request, 100, 'Trying'));
    assert.equal(tx.state, 'Proceeding');
    clock.advance(500);
    receive(env, makeRequest(REGISTER));
    assert.deepEqual(sender.times(sender.responses(100)), [0, 500]);

    assert.equal(tx.respond(makeResponse(request, 200, 'OK', 'uas')), true);
    assert.equal(tx.state, 'Completed');
    assert.equal(tx.respond(makeResponse(request, 500, 'Server Error', 'uas')), false);
    clock.advance(1000);
    receive(env, makeRequest(REGISTER));
    assert.deepEqual(sender.times(sender.responses(200)), [500, 1500]);
    assert.equal(sender.responses(500).length, 0);
    assert.equal(layer.stats.retransmissionsAbsorbed, 3);

    // Timer J: 64*T1 after the final response.
    clock.advance(32_000 - 1000 - 1);
    assert.equal(tx.state, 'Completed');
    clock.advance(1);
    assert.deepEqual(serverTU.events, ['terminated@32500']);
    assertEmpty(layer, clock);
  });

  it('over TCP ends as soon as the final response is sent (timer J = 0)', () => {
    const env = setup();
    const { layer, clock, serverTU } = env;
    const request = makeRequest({ ...REGISTER, transport: 'TCP' });
    const tx = receiveNew(env, request, TCP_SOURCE);
    tx.respond(makeResponse(request, 200, 'OK', 'uas'));
    assert.equal(tx.state, 'Terminated');
    assert.deepEqual(serverTU.events, ['terminated@0']);
    assertEmpty(layer, clock);
  });

  it('answers a retransmission on the connection it arrived on', () => {
    const env = setup();
    const { sender } = env;
    const request = makeRequest({ ...REGISTER, transport: 'TCP' });
    const tx = receiveNew(env, request, TCP_SOURCE);
    tx.respond(makeResponse(request, 100, 'Trying'));
    const reconnected = { ...TCP_SOURCE, port: 40000, connectionId: 8 };
    receive(env, makeRequest({ ...REGISTER, transport: 'TCP' }), reconnected);
    assert.deepEqual(sender.sent.at(-1)?.to, reconnected);
  });

  it('can be ended by the TU without a response (RFC 4320: no 408 to a non-INVITE)', () => {
    const env = setup();
    const { layer, clock, sender, serverTU } = env;
    const request = makeRequest(REGISTER);
    const tx = receiveNew(env, request);
    tx.terminate();
    assert.equal(tx.respond(makeResponse(request, 200, 'OK', 'uas')), false);
    assert.equal(sender.sent.length, 0);
    assert.deepEqual(serverTU.events, ['terminated@0']);
    assertEmpty(layer, clock);
  });
});
