// §17.1.4 for failures the transport learns after a send has returned (an ICMP error on the socket connected to the
// next hop, a refused or reset TCP connection): every client transaction still waiting on that next hop fails at
// once, as if its own send had failed; the others are left alone.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
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

const REFUSED = Object.assign(new Error('recvmsg ECONNREFUSED'), { code: 'ECONNREFUSED' });

describe('a next hop found unreachable after the send (§17.1.4)', () => {
  it('fails an INVITE in Calling and a non-INVITE in Proceeding to that hop, at once', () => {
    const env = setup();
    const { clock, layer, clientTU } = env;
    startClient(layer, makeRequest({ method: 'INVITE', branch: 'z9hG4bKi1' }), UDP_NEXT_HOP, clientTU);
    const options = makeRequest({ method: 'OPTIONS', branch: 'z9hG4bKo1' });
    startClient(layer, options, UDP_NEXT_HOP, clientTU);
    deliver(layer, makeResponse(options, 100, 'Trying'));
    clock.advance(3);
    assert.equal(layer.transportFailed(UDP_NEXT_HOP, REFUSED), 2);
    assert.deepEqual(clientTU.events, [
      'response 100@0',
      'transport-error recvmsg ECONNREFUSED@3',
      'terminated@3',
      'transport-error recvmsg ECONNREFUSED@3',
      'terminated@3',
    ]);
    assert.equal(layer.stats.transportErrors, 2);
    assert.equal(layer.stats.timeouts, 0);
    assertEmpty(layer, clock);
  });

  it('leaves alone a transaction that has its final response, and those to another hop or transport', () => {
    const env = setup();
    const { layer, clientTU } = env;
    const done = makeRequest({ method: 'OPTIONS', branch: 'z9hG4bKdone' });
    startClient(layer, done, UDP_NEXT_HOP, clientTU);
    deliver(layer, makeResponse(done, 200, 'OK'));
    startClient(layer, makeRequest({ method: 'INVITE', branch: 'z9hG4bKtcp' }), TCP_NEXT_HOP, clientTU);
    const elsewhere = { ...UDP_NEXT_HOP, port: 5070 };
    startClient(layer, makeRequest({ method: 'INVITE', branch: 'z9hG4bKelse' }), elsewhere, clientTU);
    assert.equal(layer.transportFailed(UDP_NEXT_HOP, REFUSED), 1, 'only the completed one matched');
    assert.deepEqual(clientTU.events, ['response 200@0']);
    assert.equal(layer.stats.transportErrors, 0);
    // Timer K still runs its course for the completed one; the TCP one fails on its own connection's failure.
    assert.equal(layer.transportFailed({ ...TCP_NEXT_HOP, address: '192.0.2.10' }, REFUSED), 1);
    assert.equal(layer.stats.transportErrors, 1);
  });
});
