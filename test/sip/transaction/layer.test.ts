import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Headers } from '../../../src/sip/headers.js';
import { SipRequest } from '../../../src/sip/message.js';
import { newBranch } from '../../../src/sip/transaction/branch.js';
import { assertEmpty, makeRequest, makeResponse, setup, UDP_NEXT_HOP, UDP_SOURCE } from './helpers.js';

describe('TransactionLayer', () => {
  it('reports responses that match no client transaction as stray (§16.7 step 2)', () => {
    const { layer, clientTU } = setup();
    const request = makeRequest({ method: 'OPTIONS', branch: 'z9hG4bKmine' });
    layer.createClientTransaction(request, UDP_NEXT_HOP, clientTU);
    // Started before a takeover by the other node: same Call-ID even, but another branch.
    const foreign = makeResponse(makeRequest({ method: 'OPTIONS', branch: 'z9hG4bKpeer' }), 200, 'OK', 't');
    assert.deepEqual(layer.receiveResponse(foreign), { kind: 'stray' });
    // Right branch, wrong CSeq method.
    const wrongMethod = makeResponse(
      makeRequest({ method: 'INVITE', branch: 'z9hG4bKmine' }),
      200,
      'OK',
      't',
    );
    assert.equal(layer.receiveResponse(wrongMethod).kind, 'stray');
    assert.equal(layer.stats.strayResponses, 2);
    assert.equal(clientTU.responses.length, 0);
    assert.equal(layer.receiveResponse(makeResponse(request, 200, 'OK', 't')).kind, 'matched');
  });

  it('rejects what cannot be matched or must not create a transaction', () => {
    const { layer, serverTU, clientTU } = setup();
    const noVia = new SipRequest('OPTIONS', 'sip:example.test', new Headers());
    assert.deepEqual(layer.receiveRequest(noVia, UDP_SOURCE), { kind: 'invalid' });
    assert.throws(() => layer.createServerTransaction(noVia, UDP_SOURCE, serverTU));
    const ack = makeRequest({ method: 'ACK' });
    assert.deepEqual(layer.receiveRequest(ack, UDP_SOURCE), { kind: 'ack', transaction: undefined });
    assert.throws(() => layer.createServerTransaction(ack, UDP_SOURCE, serverTU));
    assert.throws(() => layer.createClientTransaction(ack, UDP_NEXT_HOP, clientTU));
    const options = makeRequest({ method: 'OPTIONS' });
    layer.createServerTransaction(options, UDP_SOURCE, serverTU);
    assert.throws(() => layer.createServerTransaction(options, UDP_SOURCE, serverTU), /already exists/);
    layer.createClientTransaction(options, UDP_NEXT_HOP, clientTU);
    assert.throws(() => layer.createClientTransaction(options, UDP_NEXT_HOP, clientTU), /already exists/);
  });

  it('empties its maps and counters after a mixed workload terminates', () => {
    const { layer, clock, clientTU, serverTU } = setup();
    for (let i = 0; i < 50; i++) {
      const spec = { branch: newBranch(), callId: `c${i}`, cseq: i + 1 };
      const invite = makeRequest({ ...spec, method: 'INVITE' });
      const stx = layer.createServerTransaction(invite, UDP_SOURCE, serverTU);
      const ctx = layer.createClientTransaction(
        makeRequest({ ...spec, method: 'INVITE' }),
        UDP_NEXT_HOP,
        clientTU,
      );
      const reg = makeRequest({ ...spec, method: 'REGISTER' });
      const rtx = layer.createServerTransaction(reg, UDP_SOURCE, serverTU);
      layer.createClientTransaction(makeRequest({ ...spec, method: 'OPTIONS' }), UDP_NEXT_HOP, clientTU);
      if (i % 3 === 0) stx.respond(makeResponse(invite, 200, 'OK', 'a'));
      if (i % 3 === 1) stx.respond(makeResponse(invite, 486, 'Busy Here', 'a'));
      if (i % 2 === 0) rtx.respond(makeResponse(reg, 200, 'OK', 'a'));
      if (i % 5 === 0) layer.receiveResponse(makeResponse(ctx.request, 500, 'Server Error', 'b'));
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
