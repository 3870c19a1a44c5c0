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

const OPTIONS = { method: 'OPTIONS', branch: 'z9hG4bKcn1' };

describe('non-INVITE client transaction (§17.1.2)', () => {
  it('over UDP retransmits with timer E at 500, 1000, 2000, 4000, 4000… ms and times out at 32 s (timer F)', () => {
    const { clock, sender, layer, clientTU } = setup();
    const tx = startClient(layer, makeRequest(OPTIONS), UDP_NEXT_HOP, clientTU);
    assert.equal(tx.state, 'Trying');
    clock.advance(40_000);
    assert.deepEqual(
      sender.times(sender.requests('OPTIONS')),
      [0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500],
    );
    assert.deepEqual(clientTU.events, ['timeout@32000', 'terminated@32000']);
    assert.equal(tx.state, 'Terminated');
    assert.equal(layer.stats.requestsRetransmitted, 10);
    assert.equal(layer.stats.timeouts, 1);
    assertEmpty(layer, clock);
  });

  it('in Proceeding retransmits every T2, then completes on a final response and absorbs its retransmissions for T4', () => {
    const { clock, sender, layer, clientTU, serverTU } = setup();
    const request = makeRequest(OPTIONS);
    const tx = startClient(layer, request, UDP_NEXT_HOP, clientTU);
    clock.advance(600); // E fired at 500, next at 1500
    deliver(layer, makeResponse(request, 100, 'Trying'));
    assert.equal(tx.state, 'Proceeding');
    clock.advance(10_000 - 600);
    // 1500 (the Trying-state interval already armed), then T2 each time.
    assert.deepEqual(sender.times(sender.requests()), [0, 500, 1500, 5500, 9500]);
    const ok = makeResponse(request, 200, 'OK', 'uas');
    deliver(layer, ok);
    assert.equal(tx.state, 'Completed');
    deliver(layer, ok); // a retransmission of the 200
    assert.equal(layer.stats.retransmissionsAbsorbed, 1);
    clock.advance(4999);
    assert.equal(tx.state, 'Completed');
    clock.advance(1); // timer K = T4
    assert.deepEqual(clientTU.events, ['response 100@600', 'response 200@10000', 'terminated@15000']);
    assert.equal(sender.requests().length, 5, 'no retransmission after the final response');
    assert.deepEqual(serverTU.handed, [], 'both copies of the 200 matched the transaction');
    // Once the transaction is gone the same response is stray: the core gets it.
    deliver(layer, ok);
    assert.deepEqual(serverTU.handed, [{ kind: 'stray', response: ok }]);
    assertEmpty(layer, clock);
  });

  it('over TCP never retransmits, still times out with F, and ends at once on a final response (K = 0)', () => {
    const { clock, sender, layer, clientTU } = setup();
    layer.createClientTransaction(makeRequest(OPTIONS), TCP_NEXT_HOP, clientTU);
    clock.advance(40_000);
    assert.deepEqual(sender.times(sender.requests()), [0]);
    assert.deepEqual(clientTU.events, ['timeout@32000', 'terminated@32000']);

    const request = makeRequest({ ...OPTIONS, branch: 'z9hG4bKcn2' });
    const tx = startClient(layer, request, TCP_NEXT_HOP, clientTU);
    deliver(layer, makeResponse(request, 404, 'Not Found', 'x'));
    assert.equal(tx.state, 'Terminated');
    assertEmpty(layer, clock);
  });

  it('reports a transport error and terminates (§17.1.4)', () => {
    const { clock, sender, layer, clientTU } = setup();
    sender.failWith = new Error('ECONNREFUSED');
    const tx = startClient(layer, makeRequest(OPTIONS), TCP_NEXT_HOP, clientTU);
    assert.equal(tx.state, 'Terminated');
    assert.deepEqual(clientTU.events, ['transport-error ECONNREFUSED@0', 'terminated@0']);
    assert.equal(layer.stats.transportErrors, 1);
    assertEmpty(layer, clock);
  });

  it('honours a configured T1/T2', () => {
    const { clock, sender, layer, clientTU } = setup({ timers: { t1: 100, t2: 300 } });
    layer.createClientTransaction(makeRequest(OPTIONS), UDP_NEXT_HOP, clientTU);
    clock.advance(10_000);
    const times = sender.times(sender.requests());
    assert.deepEqual(times.slice(0, 5), [0, 100, 300, 600, 900]);
    assert.deepEqual(clientTU.events, ['timeout@6400', 'terminated@6400']);
  });
});
