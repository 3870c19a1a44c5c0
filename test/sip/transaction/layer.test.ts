import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Headers } from '../../../src/sip/headers.js';
import { SipRequest } from '../../../src/sip/message.js';
import { newBranch } from '../../../src/sip/transaction/branch.js';
import {
  assertEmpty,
  deliver,
  makeRequest,
  makeResponse,
  NEXT_HOP_SOURCE,
  receive,
  receiveNew,
  setup,
  startClient,
  UDP_NEXT_HOP,
} from './helpers.js';

describe('TransactionLayer', () => {
  it('hands responses that match no client transaction to the core as stray (§18.1.2, §16.7)', () => {
    const { layer, clientTU, serverTU } = setup();
    const request = makeRequest({ method: 'OPTIONS', branch: 'z9hG4bKmine' });
    layer.createClientTransaction(request, UDP_NEXT_HOP, clientTU);
    // Started before a takeover by the other node: same Call-ID even, but another branch.
    const foreign = makeResponse(makeRequest({ method: 'OPTIONS', branch: 'z9hG4bKpeer' }), 200, 'OK', 't');
    layer.receiveResponse(foreign, NEXT_HOP_SOURCE);
    // Right branch, wrong CSeq method.
    const wrongMethod = makeResponse(
      makeRequest({ method: 'INVITE', branch: 'z9hG4bKmine' }),
      200,
      'OK',
      't',
    );
    layer.receiveResponse(wrongMethod, NEXT_HOP_SOURCE);
    assert.deepEqual(serverTU.handed, [
      { kind: 'stray', response: foreign },
      { kind: 'stray', response: wrongMethod },
    ]);
    assert.equal(layer.stats.strayResponses, 2);
    assert.equal(clientTU.responses.length, 0);
    deliver(layer, makeResponse(request, 200, 'OK', 't'));
    assert.equal(clientTU.responses.length, 1, 'matched: the transaction passed it up');
    assert.equal(serverTU.handed.length, 2);
  });

  it('drops what cannot be matched, hands up a lone ACK, and never starts a duplicate', () => {
    const env = setup();
    const { layer, serverTU, clientTU } = env;
    const noVia = new SipRequest('OPTIONS', 'sip:example.test', new Headers());
    assert.equal(receive(env, noVia), 'dropped');
    assert.equal(layer.size, 0, 'no server transaction for it');
    const ack = makeRequest({ method: 'ACK' });
    assert.equal(receive(env, ack), 'ack');
    assert.deepEqual(serverTU.handed.at(-1), { kind: 'ack', ack, accepted: undefined });
    assert.equal(layer.size, 0, 'an ACK never creates a server transaction (§17.2.3)');
    assert.throws(() => layer.createClientTransaction(ack, UDP_NEXT_HOP, clientTU));
    const options = makeRequest({ method: 'OPTIONS' });
    const tx = receiveNew(env, options);
    assert.equal(receive(env, makeRequest({ method: 'OPTIONS' })), 'absorbed');
    assert.equal(layer.findServerTransaction(options), tx);
    const first = startClient(layer, options, UDP_NEXT_HOP, clientTU);
    const again = layer.createClientTransaction(options, UDP_NEXT_HOP, clientTU);
    assert.deepEqual(again, { kind: 'duplicate', existing: first });
  });

  it('empties its maps and counters after a mixed workload terminates', () => {
    const env = setup();
    const { layer, clock, clientTU } = env;
    for (let i = 0; i < 50; i++) {
      const spec = { branch: newBranch(), callId: `c${i}`, cseq: i + 1 };
      const invite = makeRequest({ ...spec, method: 'INVITE' });
      const stx = receiveNew(env, invite);
      const ctx = startClient(layer, makeRequest({ ...spec, method: 'INVITE' }), UDP_NEXT_HOP, clientTU);
      const reg = makeRequest({ ...spec, method: 'REGISTER' });
      const rtx = receiveNew(env, reg);
      layer.createClientTransaction(makeRequest({ ...spec, method: 'OPTIONS' }), UDP_NEXT_HOP, clientTU);
      if (i % 3 === 0) stx.respond(makeResponse(invite, 200, 'OK', 'a'));
      if (i % 3 === 1) stx.respond(makeResponse(invite, 486, 'Busy Here', 'a'));
      if (i % 2 === 0) rtx.respond(makeResponse(reg, 200, 'OK', 'a'));
      if (i % 5 === 0) deliver(layer, makeResponse(ctx.request, 500, 'Server Error', 'b'));
    }
    assert.equal(layer.stats.activeServerInvite, 50);
    assert.equal(layer.stats.activeClientNonInvite, 50);
    clock.advance(100_000);
    // Unanswered server transactions wait for their TU (the proxy's Timer C, RFC 4320 §4.1).
    assert.equal(layer.stats.activeServerInvite, 16);
    assert.equal(layer.stats.activeServerNonInvite, 25);
    assert.equal(layer.stats.activeClientInvite, 0);
    assert.equal(layer.stats.activeClientNonInvite, 0);
    layer.close();
    assertEmpty(layer, clock);
  });

  it('generates unique RFC 3261 branches that are tokens', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 10_000; i++) {
      const b = newBranch();
      assert.match(b, /^z9hG4bK[A-Za-z0-9_-]{16}$/);
      seen.add(b);
    }
    assert.equal(seen.size, 10_000);
  });
});
