// The three ways a request leaves the proxy — a stateful branch, a CANCEL without a response context, an ACK no
// transaction took — share one target selection (§16.4-16.5) and one outbound preparation (§16.6 steps 1-8).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SipRequest, SipResponse } from '../../../src/sip/message.js';
import { makeRequest, makeResponse, UDP_SOURCE } from '../../sip/transaction/helpers.js';
import { bobBehindEdge, proxyHarness } from './harness.js';

const INVITE = { method: 'INVITE', uri: 'sip:bob@example.test', branch: 'z9hG4bKcaller1' };
const EDGE = { transport: 'udp', address: '203.0.113.20', port: 5070 };
const VIA = /^SIP\/2\.0\/UDP 198\.51\.100\.10:5060;branch=z9hG4bK[^;]+;rport$/;

describe('forwarding to a binding registered through a Path (RFC 3327)', () => {
  it('sends the INVITE to the first Path hop, with the Path as Route and the contact as Request-URI', () => {
    const h = proxyHarness();
    h.location.put(bobBehindEdge());
    h.receive(makeRequest(INVITE));
    const [invite] = h.sent('INVITE');
    assert.ok(invite);
    assert.deepEqual(invite.to, EDGE);
    assert.equal(invite.request.uri, 'sip:bob@10.0.0.7:5062');
    assert.deepEqual(invite.request.headers.values('route'), ['<sip:203.0.113.20:5070;lr>']);
    assert.deepEqual(invite.request.headers.values('record-route'), ['<sip:198.51.100.10:5060;lr>']);
    assert.equal(invite.request.maxForwards, 68);
    assert.match(invite.request.headers.first('via') ?? '', VIA);
  });

  it('sends the ACK for a 2xx through the same Path: same next hop, Route and Request-URI as its INVITE', () => {
    const h = proxyHarness();
    h.location.put(bobBehindEdge());
    h.receive(makeRequest(INVITE));
    const [invite] = h.sent('INVITE');
    assert.ok(invite);
    // The end-to-end ACK, sent to the AOR (no Record-Route was used): no transaction takes it.
    h.receive(
      makeRequest({ ...INVITE, method: 'ACK', cseqMethod: 'ACK', branch: 'z9hG4bKack1', toTag: 'bob' }),
    );
    const [ack] = h.sent('ACK');
    assert.ok(ack, 'forwarded statelessly');
    assert.deepEqual(ack.to, invite.to, 'through the edge proxy, not straight to the contact');
    assert.equal(ack.request.uri, invite.request.uri);
    assert.deepEqual(ack.request.headers.values('route'), ['<sip:203.0.113.20:5070;lr>']);
    assert.deepEqual(ack.request.headers.values('record-route'), [], 'an ACK creates no dialog');
    assert.equal(ack.request.maxForwards, 68);
    assert.match(ack.request.headers.first('via') ?? '', VIA);
    assert.equal(h.proxy.stats.acksForwarded, 1);
  });

  it('sends a CANCEL with no response context (the INVITE went through the other node) the INVITE’s way', () => {
    // Node A forwarded the INVITE; node B, after a takeover, gets the CANCEL and knows nothing of it.
    const a = proxyHarness();
    const b = proxyHarness();
    a.location.put(bobBehindEdge());
    b.location.put(bobBehindEdge());
    a.receive(makeRequest(INVITE));
    b.receive(makeRequest({ ...INVITE, method: 'CANCEL' }));
    const [invite] = a.sent('INVITE');
    const [cancel] = b.sent('CANCEL');
    assert.ok(invite && cancel);
    assert.deepEqual(b.answered(), [200], 'answered hop by hop (§9.2)');
    assert.equal(b.proxy.stats.statelessCancels, 1);
    assert.deepEqual(cancel.to, invite.to);
    assert.equal(cancel.request.uri, invite.request.uri);
    assert.deepEqual(cancel.request.headers.values('route'), invite.request.headers.values('route'));
    assert.equal(cancel.request.via?.branch, invite.request.via?.branch, 'it matches the INVITE downstream');
    assert.equal(cancel.request.maxForwards, invite.request.maxForwards);
  });

  it('cancels the branches of a response context it has, and answers the CANCEL itself', () => {
    const h = proxyHarness();
    h.location.put(bobBehindEdge());
    h.receive(makeRequest(INVITE));
    const [invite] = h.sent('INVITE');
    assert.ok(invite);
    h.layer.receiveResponse(makeResponse(invite.request, 180, 'Ringing', 'bob'), {
      ...UDP_SOURCE,
      ...invite.to,
    });
    h.receive(makeRequest({ ...INVITE, method: 'CANCEL' }));
    const [cancel] = h.sent('CANCEL');
    assert.ok(cancel);
    assert.equal(h.proxy.stats.statelessCancels, 0);
    assert.deepEqual(cancel.to, invite.to);
    assert.equal(cancel.request.via?.branch, invite.request.via?.branch);
  });
});

describe('Max-Forwards (§16.3 step 3, §16.6 step 3), the same for every way out', () => {
  function withMaxForwards(request: SipRequest, value: string | undefined): SipRequest {
    if (value === undefined) request.headers.remove('max-forwards');
    else request.headers.set('Max-Forwards', value);
    return request;
  }

  it('adds 70 when absent, on a branch, a stateless CANCEL and a stateless ACK alike', () => {
    const h = proxyHarness();
    h.location.put(bobBehindEdge());
    h.receive(withMaxForwards(makeRequest(INVITE), undefined));
    const b = proxyHarness();
    b.location.put(bobBehindEdge());
    b.receive(withMaxForwards(makeRequest({ ...INVITE, method: 'CANCEL' }), undefined));
    h.receive(
      withMaxForwards(
        makeRequest({ ...INVITE, method: 'ACK', branch: 'z9hG4bKa2', toTag: 'bob' }),
        undefined,
      ),
    );
    assert.equal(h.sent('INVITE')[0]?.request.maxForwards, 70);
    assert.equal(b.sent('CANCEL')[0]?.request.maxForwards, 70);
    assert.equal(h.sent('ACK')[0]?.request.maxForwards, 70);
  });

  it('forwards nothing with Max-Forwards 0: 483 for the INVITE and the CANCEL, the ACK dropped', () => {
    const h = proxyHarness();
    h.location.put(bobBehindEdge());
    h.receive(withMaxForwards(makeRequest(INVITE), '0'));
    h.receive(withMaxForwards(makeRequest({ ...INVITE, method: 'CANCEL', branch: 'z9hG4bKother' }), '0'));
    h.receive(
      withMaxForwards(makeRequest({ ...INVITE, method: 'ACK', branch: 'z9hG4bKa3', toTag: 'bob' }), '0'),
    );
    assert.equal(h.sender.requests().length, 0);
    assert.deepEqual(
      h.answered().filter((s) => s !== 100),
      [483, 483],
    );
    assert.equal(h.proxy.stats.acksForwarded, 0);
  });
});

describe('our address in Via and Record-Route (§16.6 steps 4 and 8)', () => {
  it('falls back to the address of another transport when none is advertised for the target’s, for every way out', () => {
    // Only TCP is advertised; bob's contact is UDP.
    const tcpOnly = { tcp: { host: '198.51.100.10', port: 5080 } };
    const h = proxyHarness({ advertise: tcpOnly });
    h.location.put({ ...bobBehindEdge(), path: [] });
    h.receive(makeRequest(INVITE));
    h.receive(makeRequest({ ...INVITE, method: 'ACK', branch: 'z9hG4bKa4', toTag: 'bob' }));
    const c = proxyHarness({ advertise: tcpOnly });
    c.location.put({ ...bobBehindEdge(), path: [] });
    c.receive(makeRequest({ ...INVITE, method: 'CANCEL' }));
    for (const sent of [h.sent('INVITE')[0], h.sent('ACK')[0], c.sent('CANCEL')[0]]) {
      assert.ok(sent);
      assert.deepEqual(sent.to, { transport: 'udp', address: '10.0.0.7', port: 5062 });
      assert.match(sent.request.headers.first('via') ?? '', /^SIP\/2\.0\/UDP 198\.51\.100\.10:5080;branch=/);
    }
    assert.deepEqual(h.sent('INVITE')[0]?.request.headers.values('record-route'), [
      '<sip:198.51.100.10:5080;lr>',
    ]);
  });
});

describe('an IPv6 address of ours (§16.6 steps 4 and 8, §16.11)', () => {
  it('goes into Via and Record-Route in brackets, and a stray response through that Via is forwarded', () => {
    const h = proxyHarness({ advertise: { udp: { host: '2001:DB8::10', port: 5060 } } });
    h.receive(makeRequest({ method: 'INVITE', uri: 'sip:carol@203.0.113.77', branch: 'z9hG4bKv6' }));
    const [out] = h.sent('INVITE');
    assert.ok(out);
    assert.match(out.request.headers.first('via') ?? '', /^SIP\/2\.0\/UDP \[2001:DB8::10\]:5060;branch=/);
    assert.deepEqual(out.request.headers.values('record-route'), ['<sip:[2001:DB8::10]:5060;lr>']);
    // A 200 for a branch this node never had (the other node's, after a takeover): ours by its top Via.
    const stray = makeResponse(out.request, 200, 'OK', 'carol');
    stray.headers.set('Via', 'SIP/2.0/UDP [2001:db8::10]:5060;branch=z9hG4bKpeer');
    stray.headers.append('Via', 'SIP/2.0/UDP 198.51.100.100:5060;branch=z9hG4bKcaller');
    h.layer.receiveResponse(stray, { ...UDP_SOURCE, address: '203.0.113.77' });
    const foreign = makeResponse(out.request, 200, 'OK', 'carol');
    foreign.headers.set('Via', 'SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKnotours');
    h.layer.receiveResponse(foreign, { ...UDP_SOURCE, address: '203.0.113.77' });
    assert.equal(h.proxy.stats.strayResponsesForwarded, 1);
    assert.equal(h.proxy.stats.strayResponsesDropped, 1);
    const up = h.sender.responses(200).at(-1)?.message as SipResponse | undefined;
    assert.deepEqual(up?.headers.values('via'), ['SIP/2.0/UDP 198.51.100.100:5060;branch=z9hG4bKcaller']);
  });
});

describe('request validation before forwarding (§16.3)', () => {
  it('answers 482 to a request that comes back unchanged through our own Via, and forwards a spiral', () => {
    const h = proxyHarness();
    h.receive(makeRequest({ method: 'INVITE', uri: 'sip:carol@203.0.113.77', branch: 'z9hG4bKloop' }));
    const [out] = h.sent('INVITE');
    assert.ok(out);
    // Back through a proxy at 203.0.113.77 that sent it to us again, unchanged but for its own Via.
    const back = (request: SipRequest, branch: string) => {
      const again = request.clone();
      again.headers.prepend('Via', `SIP/2.0/UDP 203.0.113.77;branch=${branch}`);
      h.receive(again, { ...UDP_SOURCE, address: '203.0.113.77' });
    };
    back(out.request, 'z9hG4bKmid1');
    assert.equal(h.proxy.stats.loopsDetected, 1);
    assert.ok(h.answered().includes(482));
    // With another Request-URI it is spiralling, not looping.
    const spiral = out.request.clone();
    spiral.uri = 'sip:carol@203.0.113.78';
    back(spiral, 'z9hG4bKmid2');
    assert.equal(h.sent('INVITE').length, 2);
    assert.equal(h.proxy.stats.loopsDetected, 1);
  });

  it('answers 416 to a Request-URI scheme it does not know, and 420 to an unknown Proxy-Require', () => {
    const h = proxyHarness();
    h.receive(makeRequest({ method: 'INVITE', uri: 'mailto:bob@example.test', branch: 'z9hG4bKs1' }));
    const bad = makeRequest({ method: 'INVITE', uri: 'sip:carol@203.0.113.77', branch: 'z9hG4bKs2' });
    bad.headers.append('Proxy-Require', 'foo');
    h.receive(bad);
    assert.deepEqual(
      h.answered().filter((s) => s !== 100),
      [416, 420],
    );
    assert.equal(h.sender.requests().length, 0);
  });
});
