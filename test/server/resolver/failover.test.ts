// The proxy with a resolver (RFC 3263): a next hop by name is resolved before forwarding, the next address is
// tried when one fails (§4.3: 503, timeout, transport error), a name that does not resolve gets 404, a failed DNS
// 503, and a CANCEL during the resolution ends the INVITE with 487.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DialogStore } from '../../../src/server/dialogs.js';
import { LocationService } from '../../../src/server/location-service.js';
import { Myself } from '../../../src/server/myself.js';
import { ProxyCore } from '../../../src/server/proxy/proxy-core.js';
import { type DnsBackend, SipResolver } from '../../../src/server/resolver/resolver.js';
import { compileRoutes } from '../../../src/server/static-routes.js';
import type { SipRequest, SipResponse } from '../../../src/sip/message.js';
import { TransactionLayer } from '../../../src/sip/transaction/transaction-layer.js';
import { FakeClock } from '../../../src/time/clock.js';
import { makeRequest, makeResponse, RecordingSender, UDP_SOURCE } from '../../sip/transaction/helpers.js';

const fail = (code: string) => Object.assign(new Error(code), { code });
const GW1 = { transport: 'udp', address: '192.0.2.1', port: 5060 } as const;
const GW2 = { transport: 'udp', address: '192.0.2.2', port: 5070 } as const;
const GW1_V6 = { ...GW1, address: '2001:db8::1' } as const;

/** carrier.test: SRV to gw1 (priority 10, IPv4 then IPv6) and gw2 (20); broken.test: SERVFAIL, timeouts; the rest: none. */
const DNS: DnsBackend = {
  resolveNaptr: (n) => Promise.reject(fail(n === 'broken.test' ? 'ESERVFAIL' : 'ENOTFOUND')),
  resolveSrv: (n) =>
    n === '_sip._udp.carrier.test'
      ? Promise.resolve([
          { name: 'gw1.carrier.test', port: 5060, priority: 10, weight: 0 },
          { name: 'gw2.carrier.test', port: 5070, priority: 20, weight: 0 },
        ])
      : Promise.reject(fail(n.endsWith('broken.test') ? 'ETIMEOUT' : 'ENOTFOUND')),
  resolve4: (n) =>
    n === 'gw1.carrier.test' || n === 'gw2.carrier.test'
      ? Promise.resolve([{ address: n === 'gw1.carrier.test' ? GW1.address : GW2.address, ttl: 60 }])
      : Promise.reject(fail(n === 'broken.test' ? 'ETIMEOUT' : 'ENOTFOUND')),
  // gw1 has an IPv6 address too, of no use to a proxy that listens on IPv4 only: passed over.
  resolve6: (n) =>
    n === 'gw1.carrier.test'
      ? Promise.resolve([{ address: '2001:db8::1', ttl: 60 }])
      : Promise.reject(fail('ENODATA')),
};

function harness() {
  const clock = new FakeClock();
  const sender = new RecordingSender(clock);
  const layer = new TransactionLayer({ sender, clock });
  const resolver = new SipResolver({
    timeoutMs: 100,
    tries: 1,
    negativeTtlMs: 30_000,
    recordTtlMs: 60_000,
    now: () => clock.now(),
    backend: DNS,
  });
  const proxy = new ProxyCore(sender, layer, {
    myself: new Myself('example.test', [{ address: '198.51.100.10', port: 5060 }]),
    location: new LocationService(),
    dialogs: new DialogStore(),
    registrar: { minExpires: 60, maxExpires: 3600, defaultExpires: 1800 },
    relay: { inbound: 'allow', trusted: [] },
    routes: compileRoutes([{ match: '^9', to: 'sip:carrier.test' }]),
    nat: 'never',
    advertise: { udp: { host: '198.51.100.10', port: 5060 } },
    now: () => clock.now(),
    resolver,
  });
  layer.core = proxy;
  return {
    clock,
    layer,
    proxy,
    resolver,
    receive: (r: SipRequest) => layer.receiveRequest(r, UDP_SOURCE),
    sent: (method: string) =>
      sender.requests(method).map((s) => ({ request: s.message as SipRequest, to: s.to })),
    finals: () =>
      sender
        .responses()
        .map((s) => s.message as SipResponse)
        .filter((r) => r.status >= 200)
        .map((r) => `${r.status} ${r.reason}`),
  };
}

/** Lets the resolver's promises settle. */
const settle = () => new Promise((r) => setImmediate(r));

describe('forwarding to a next hop given by name (RFC 3263)', () => {
  it('a static route to a name: the first SRV target, then on a transport error the next, with a new branch', async () => {
    const h = harness();
    h.receive(makeRequest({ method: 'INVITE', uri: 'sip:9000@example.test', branch: 'z9hG4bKname1' }));
    await settle();
    const [first] = h.sent('INVITE');
    assert.deepEqual(first?.to, GW1);
    assert.equal(h.layer.transportFailed(GW1, fail('ECONNREFUSED')), 1);
    const [, second] = h.sent('INVITE');
    assert.deepEqual(second?.to, GW1_V6, "gw1's next address");
    assert.notEqual(second?.request.via?.branch, first?.request.via?.branch);
    assert.equal(
      second?.request.via?.branch?.split('.').at(-1),
      first?.request.via?.branch?.split('.').at(-1),
    );
    assert.deepEqual(h.finals(), []);
    h.layer.transportFailed(GW1_V6, fail('ENETUNREACH'));
    const [, , third] = h.sent('INVITE');
    assert.deepEqual(third?.to, GW2);
    h.layer.receiveResponse(makeResponse(third!.request, 200, 'OK', 'gw2'), { ...UDP_SOURCE, ...GW2 });
    assert.deepEqual(h.finals(), ['200 OK']);
  });

  it('a 503 from the first address, after its 100 Trying, also moves on (§4.3); the last failure is the answer', async () => {
    const h = harness();
    h.receive(makeRequest({ method: 'MESSAGE', uri: 'sip:9001@example.test', branch: 'z9hG4bKname2' }));
    await settle();
    const [first] = h.sent('MESSAGE');
    h.layer.receiveResponse(makeResponse(first!.request, 100, 'Trying'), { ...UDP_SOURCE, ...GW1 });
    h.layer.receiveResponse(makeResponse(first!.request, 503, 'Busy'), { ...UDP_SOURCE, ...GW1 });
    h.layer.transportFailed(GW1_V6, fail('ENETUNREACH'));
    const [, , second] = h.sent('MESSAGE');
    assert.deepEqual(second?.to, GW2);
    h.layer.transportFailed(GW2, fail('ECONNREFUSED'));
    assert.deepEqual(h.finals(), ['503 Next Hop Unreachable (ECONNREFUSED)']);
    assert.equal(h.proxy.activeContexts, 0);
  });

  it('a stateless ACK takes the cached resolution; a literal Request-URI asks no DNS', async () => {
    const h = harness();
    h.receive(makeRequest({ method: 'INVITE', uri: 'sip:9002@example.test', branch: 'z9hG4bKname3' }));
    await settle();
    const queries = h.resolver.queries;
    h.proxy.onAck(
      makeRequest({ method: 'ACK', uri: 'sip:9002@example.test', branch: 'z9hG4bKack', toTag: 'x' }),
    );
    assert.deepEqual(h.sent('ACK')[0]?.to, GW1);
    h.receive(makeRequest({ method: 'MESSAGE', uri: 'sip:bob@192.0.2.50', branch: 'z9hG4bKlit' }));
    assert.deepEqual(h.sent('MESSAGE')[0]?.to, { transport: 'udp', address: '192.0.2.50', port: 5060 });
    assert.equal(h.resolver.queries, queries);
  });

  it('a name that does not resolve: 404; a DNS that fails: 503; a Route by name that does not resolve: 404', async () => {
    const h = harness();
    h.receive(makeRequest({ method: 'MESSAGE', uri: 'sip:bob@nowhere.test', branch: 'z9hG4bKnx' }));
    h.receive(makeRequest({ method: 'MESSAGE', uri: 'sip:bob@broken.test', branch: 'z9hG4bKsf' }));
    h.receive(
      makeRequest({
        method: 'MESSAGE',
        uri: 'sip:bob@192.0.2.50',
        routes: ['<sip:nowhere.test;lr>'],
        branch: 'z9hG4bKrt',
      }),
    );
    for (let i = 0; i < 5; i++) await settle();
    assert.deepEqual(h.finals().sort(), ['404 No Route To Next Hop', '404 Not Found', '503 DNS Unavailable']);
  });

  it('a CANCEL while the name is resolved: 200 to it, 487 to the INVITE, nothing forwarded', async () => {
    const h = harness();
    const invite = makeRequest({ method: 'INVITE', uri: 'sip:9003@example.test', branch: 'z9hG4bKcx' });
    h.receive(invite);
    h.receive(makeRequest({ method: 'CANCEL', uri: 'sip:9003@example.test', branch: 'z9hG4bKcx' }));
    await settle();
    assert.deepEqual(h.sent('INVITE'), []);
    assert.deepEqual(h.finals().sort(), ['200 OK', '487 Request Terminated']);
  });
});
