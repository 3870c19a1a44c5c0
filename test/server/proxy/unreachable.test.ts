// What the proxy answers when a next hop cannot be reached (§16.9, §18.4), how a large request moves to TCP
// (§18.1.1), and the two Record-Route values of a request that changes transport or address family (RFC 5658).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LocationService } from '../../../src/server/location-service.js';
import { Myself } from '../../../src/server/myself.js';
import { TargetSelector } from '../../../src/server/proxy/target-selector.js';
import { compileRoutes } from '../../../src/server/static-routes.js';
import type { SipRequest, SipResponse } from '../../../src/sip/message.js';
import {
  makeRequest,
  makeResponse,
  NEXT_HOP_SOURCE,
  TCP_SOURCE,
  UDP_SOURCE,
} from '../../sip/transaction/helpers.js';
import { bobBehindEdge, proxyHarness } from './harness.js';

const REFUSED = Object.assign(new Error('recvmsg ECONNREFUSED'), { code: 'ECONNREFUSED' });
/** Numbers starting with 9 go to the gateway at 192.0.2.50. */
const ROUTES = compileRoutes([{ match: '^9', to: 'sip:192.0.2.50:5060' }]);
const GATEWAY = { transport: 'udp', address: '192.0.2.50', port: 5060 } as const;
const OURS = { host: '198.51.100.10', port: 5060 };
const UDP_AND_TCP = {
  udp: OURS,
  tcp: OURS,
  all: [
    { ...OURS, transport: 'udp' as const },
    { ...OURS, transport: 'tcp' as const },
  ],
};

function finals(h: ReturnType<typeof proxyHarness>): Array<{ status: number; reason: string }> {
  return h.sender
    .responses()
    .map((s) => s.message as SipResponse)
    .filter((r) => r.status >= 200)
    .map((r) => ({ status: r.status, reason: r.reason }));
}

/** An INVITE of `size` bytes on the wire or more: an SDP-like body fills it up. */
function largeInvite(uri: string, size: number): SipRequest {
  const invite = makeRequest({ method: 'INVITE', uri, branch: 'z9hG4bKlarge' });
  invite.headers.append('Content-Type', 'application/sdp');
  invite.body = Buffer.alloc(Math.max(0, size - 400), 'a');
  return invite;
}

describe('a next hop the transport cannot reach (§16.9)', () => {
  it('answers 503 at once, naming the failure, when the socket reports it after the send (not 500, not 408)', () => {
    for (const method of ['INVITE', 'MESSAGE']) {
      const h = proxyHarness({ routes: ROUTES });
      h.receive(makeRequest({ method, uri: 'sip:9000@example.test', branch: `z9hG4bK${method}` }));
      const [out] = h.sent(method);
      assert.deepEqual(out?.to, GATEWAY);
      h.clock.advance(2);
      assert.equal(h.layer.transportFailed(GATEWAY, REFUSED), 1);
      assert.deepEqual(finals(h), [{ status: 503, reason: 'Next Hop Unreachable (ECONNREFUSED)' }], method);
      assert.equal(h.sender.responses().at(-1)?.at, 2, 'at once');
      assert.equal(h.layer.stats.transportErrors, 1);
      assert.equal(h.proxy.activeContexts, 0);
    }
  });

  it('answers 503 when the send itself fails, even inside the send call', () => {
    const h = proxyHarness({ routes: ROUTES });
    const record = h.sender.sendRequest.bind(h.sender);
    h.sender.sendRequest = (request, to, onError) => {
      record(request, to);
      onError?.(new Error('no UDP listener for 192.0.2.50'));
    };
    h.receive(makeRequest({ method: 'INVITE', uri: 'sip:9000@example.test', branch: 'z9hG4bKsync' }));
    assert.deepEqual(finals(h), [{ status: 503, reason: 'Next Hop Unreachable' }]);
    assert.equal(h.proxy.activeContexts, 0);
  });

  it('still turns a 503 received from the next hop into a 500 (§16.7 step 6)', () => {
    const h = proxyHarness({ routes: ROUTES });
    h.receive(makeRequest({ method: 'INVITE', uri: 'sip:9000@example.test', branch: 'z9hG4bKgot503' }));
    const [out] = h.sent('INVITE');
    assert.ok(out);
    h.layer.receiveResponse(makeResponse(out.request, 503, 'Overloaded', 'gw'), NEXT_HOP_SOURCE);
    assert.deepEqual(
      finals(h).map((r) => r.status),
      [500],
    );
  });

  it('answers 480 when every registered contact of the callee is unreachable, and a real answer beats it', () => {
    const h = proxyHarness();
    h.location.put(bobBehindEdge());
    h.receive(makeRequest({ method: 'INVITE', uri: 'sip:bob@example.test', branch: 'z9hG4bKbob' }));
    const [out] = h.sent('INVITE');
    assert.ok(out);
    h.layer.transportFailed(out.to, REFUSED);
    assert.deepEqual(finals(h), [{ status: 480, reason: 'Contact Unreachable (ECONNREFUSED)' }]);

    const two = proxyHarness();
    two.location.put(bobBehindEdge());
    two.location.put({ ...bobBehindEdge(), contact: 'sip:bob@10.0.0.8:5062', path: [] });
    two.receive(makeRequest({ method: 'INVITE', uri: 'sip:bob@example.test', branch: 'z9hG4bKbob2' }));
    const sent = two.sent('INVITE');
    assert.equal(sent.length, 2);
    two.layer.transportFailed(sent[0]!.to, REFUSED);
    two.layer.receiveResponse(makeResponse(sent[1]!.request, 486, 'Busy Here', 'b'), {
      ...UDP_SOURCE,
      ...sent[1]!.to,
    });
    assert.deepEqual(
      finals(two).map((r) => r.status),
      [486],
    );
  });
});

describe('a request larger than 1300 bytes (§18.1.1)', () => {
  it('goes over TCP to the same address and port when we listen on TCP, with a TCP Via', () => {
    const h = proxyHarness({ routes: ROUTES, advertise: UDP_AND_TCP });
    h.receive(largeInvite('sip:9000@example.test', 1896));
    const [out] = h.sent('INVITE');
    assert.ok(out);
    assert.deepEqual(out.to, { ...GATEWAY, transport: 'tcp' });
    assert.match(out.request.headers.first('via') ?? '', /^SIP\/2\.0\/TCP 198\.51\.100\.10:5060;branch=/);
    // UDP in, TCP out: two Record-Route values (RFC 5658), ours towards the gateway on top.
    assert.deepEqual(out.request.headers.values('record-route'), [
      '<sip:198.51.100.10:5060;transport=tcp;lr>',
      '<sip:198.51.100.10:5060;lr>',
    ]);
  });

  it('falls back to UDP when the TCP connection fails, and completes there', () => {
    const h = proxyHarness({ routes: ROUTES, advertise: UDP_AND_TCP });
    h.receive(largeInvite('sip:9000@example.test', 1896));
    const [tcp] = h.sent('INVITE');
    assert.ok(tcp);
    h.layer.transportFailed(tcp.to, REFUSED);
    const [, udp] = h.sent('INVITE');
    assert.ok(udp, 'sent again');
    assert.deepEqual(udp.to, GATEWAY);
    assert.match(udp.request.headers.first('via') ?? '', /^SIP\/2\.0\/UDP 198\.51\.100\.10:5060;branch=/);
    assert.equal(udp.request.via?.branch, tcp.request.via?.branch);
    assert.deepEqual(udp.request.headers.values('record-route'), ['<sip:198.51.100.10:5060;lr>']);
    assert.deepEqual(finals(h), []);
    h.layer.receiveResponse(makeResponse(udp.request, 200, 'OK', 'gw'), NEXT_HOP_SOURCE);
    assert.deepEqual(
      finals(h).map((r) => r.status),
      [200],
    );
  });

  it('answers 503 when UDP fails too, and stays on UDP when small or when we have no TCP', () => {
    const h = proxyHarness({ routes: ROUTES, advertise: UDP_AND_TCP });
    h.receive(largeInvite('sip:9000@example.test', 1896));
    h.layer.transportFailed({ ...GATEWAY, transport: 'tcp' }, REFUSED);
    h.layer.transportFailed(GATEWAY, REFUSED);
    assert.deepEqual(finals(h), [{ status: 503, reason: 'Next Hop Unreachable (ECONNREFUSED)' }]);

    const small = proxyHarness({ routes: ROUTES, advertise: UDP_AND_TCP });
    small.receive(largeInvite('sip:9000@example.test', 1200));
    assert.deepEqual(small.sent('INVITE')[0]?.to, GATEWAY);
    const udpOnly = proxyHarness({ routes: ROUTES });
    udpOnly.receive(largeInvite('sip:9000@example.test', 1896));
    assert.deepEqual(udpOnly.sent('INVITE')[0]?.to, GATEWAY);
  });
});

describe('double Record-Route (RFC 5658)', () => {
  it('records both sides when a request comes in over TCP and leaves over UDP', () => {
    const h = proxyHarness({ routes: ROUTES, advertise: UDP_AND_TCP });
    const invite = makeRequest({ method: 'INVITE', uri: 'sip:9000@example.test', transport: 'TCP' });
    h.receive(invite, TCP_SOURCE);
    assert.deepEqual(h.sent('INVITE')[0]?.request.headers.values('record-route'), [
      '<sip:198.51.100.10:5060;lr>',
      '<sip:198.51.100.10:5060;transport=tcp;lr>',
    ]);
  });

  it('records both sides, and our address of each family, when IPv4 comes in and IPv6 goes out', () => {
    const v6 = { host: '2001:db8::10', port: 5060 };
    const h = proxyHarness({
      advertise: {
        udp: OURS,
        all: [
          { ...OURS, transport: 'udp' },
          { ...v6, transport: 'udp' },
        ],
      },
    });
    h.receive(makeRequest({ method: 'INVITE', uri: 'sip:carol@[2001:db8::77]', branch: 'z9hG4bKfam' }));
    const [out] = h.sent('INVITE');
    assert.ok(out);
    assert.match(out.request.headers.first('via') ?? '', /^SIP\/2\.0\/UDP \[2001:db8::10\]:5060;branch=/);
    assert.deepEqual(out.request.headers.values('record-route'), [
      '<sip:[2001:db8::10]:5060;lr>',
      '<sip:198.51.100.10:5060;lr>',
    ]);
  });

  it('records one value when nothing changes', () => {
    const h = proxyHarness({ routes: ROUTES, advertise: UDP_AND_TCP });
    h.receive(makeRequest({ method: 'INVITE', uri: 'sip:9000@example.test' }));
    assert.deepEqual(h.sent('INVITE')[0]?.request.headers.values('record-route'), [
      '<sip:198.51.100.10:5060;lr>',
    ]);
  });

  it('consumes both values when they come back as Route, from either side (§16.4)', () => {
    const h = proxyHarness({ routes: ROUTES, advertise: UDP_AND_TCP });
    const rr = ['<sip:198.51.100.10:5060;lr>', '<sip:198.51.100.10:5060;transport=tcp;lr>'];
    // The callee's BYE over UDP: its route set is the Record-Route as it came; the caller's contact is over TCP.
    const fromCallee = makeRequest({
      method: 'BYE',
      uri: 'sip:alice@198.51.100.100:5060;transport=tcp',
      branch: 'z9hG4bKbye1',
      toTag: 'gw',
      routes: rr,
    });
    h.receive(fromCallee, { ...UDP_SOURCE, address: '192.0.2.50' });
    // The caller's BYE over TCP: its route set is the Record-Route reversed.
    const fromCaller = makeRequest({
      method: 'BYE',
      uri: 'sip:9000@192.0.2.50:5060',
      branch: 'z9hG4bKbye2',
      cseq: 2,
      toTag: 'gw',
      transport: 'TCP',
      routes: [...rr].reverse(),
    });
    h.receive(fromCaller, TCP_SOURCE);
    const [toCaller, toCallee] = h.sent('BYE');
    assert.deepEqual(toCaller?.to, { transport: 'tcp', address: '198.51.100.100', port: 5060 });
    assert.deepEqual(toCallee?.to, GATEWAY);
    assert.deepEqual(toCaller?.request.headers.values('route'), []);
    assert.deepEqual(toCallee?.request.headers.values('route'), []);
  });

  it('consumes an IPv6 and an IPv4 value of ours, and goes on to the next Route value', () => {
    const selector = new TargetSelector({
      myself: new Myself('example.test', [
        { address: '198.51.100.10', port: 5060 },
        { address: '2001:db8::10', port: 5060 },
      ]),
      location: new LocationService(),
      routes: [],
      now: () => 0,
    });
    const bye = makeRequest({
      method: 'BYE',
      uri: 'sip:carol@[2001:db8::77]',
      routes: ['<sip:198.51.100.10:5060;lr>', '<sip:[2001:db8::10]:5060;lr>', '<sip:[2001:db8::20];lr>'],
    });
    const { kind, fwd, groups } = selector.select(bye);
    assert.equal(kind, 'route');
    assert.deepEqual(fwd.headers.values('route'), ['<sip:[2001:db8::20];lr>']);
    assert.deepEqual(groups[0]?.[0]?.to, { transport: 'udp', address: '2001:db8::20', port: 5060 });
  });
});
