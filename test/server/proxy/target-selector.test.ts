// Route preprocessing and target determination (§16.4, §16.5) as one pure selection.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LocationService } from '../../../src/server/location-service.js';
import { Myself } from '../../../src/server/myself.js';
import type { NatMode } from '../../../src/server/nat.js';
import { TargetSelector } from '../../../src/server/proxy/target-selector.js';
import { compileRoutes } from '../../../src/server/static-routes.js';
import { makeRequest } from '../../sip/transaction/helpers.js';
import { bobBehindEdge } from './harness.js';

/** The fixtures' contacts are private addresses registered from public ones: NAT handling is off unless asked. */
function selector(nat: NatMode = 'never') {
  const location = new LocationService();
  const s = new TargetSelector({
    myself: new Myself('example.test', [{ address: '198.51.100.10', port: 5060 }]),
    location,
    routes: compileRoutes([{ match: '^\\+?[0-9]+$', to: 'sip:203.0.113.50:5080;transport=tcp' }]),
    now: () => 0,
    nat,
  });
  return { s, location };
}

const GATEWAY = { transport: 'tcp', address: '203.0.113.50', port: 5080 };

describe('target selection (§16.4, §16.5)', () => {
  it('consumes our own Route and sends to the next Route value, keeping the Request-URI', () => {
    const { s } = selector();
    const bye = makeRequest({
      method: 'BYE',
      uri: 'sip:bob@10.0.0.7:5062',
      routes: ['<sip:198.51.100.10;lr>', '<sip:203.0.113.20:5070;lr>'],
    });
    const { kind, fwd, groups } = s.select(bye);
    assert.equal(kind, 'route');
    assert.deepEqual(fwd.headers.values('route'), ['<sip:203.0.113.20:5070;lr>']);
    assert.deepEqual(groups, [
      [
        {
          uri: 'sip:bob@10.0.0.7:5062',
          to: { transport: 'udp', address: '203.0.113.20', port: 5070 },
          routes: [],
        },
      ],
    ]);
    assert.equal(bye.headers.values('route').length, 2, 'the received request is left alone');
  });

  it('restores a Request-URI a strict router replaced with our Record-Route value', () => {
    const { s } = selector();
    const bye = makeRequest({
      method: 'BYE',
      uri: 'sip:198.51.100.10;lr',
      routes: ['<sip:203.0.113.20:5070;lr>', '<sip:bob@10.0.0.7:5062>'],
    });
    const { fwd, groups } = s.select(bye);
    assert.equal(fwd.uri, 'sip:bob@10.0.0.7:5062');
    assert.deepEqual(fwd.headers.values('route'), ['<sip:203.0.113.20:5070;lr>']);
    assert.equal(groups[0]?.[0]?.to.address, '203.0.113.20');
  });

  it('groups the bindings of an AOR by q-value, highest first, each with its Path', () => {
    const { s, location } = selector();
    location.put(bobBehindEdge());
    location.put({ ...bobBehindEdge(), contact: 'sip:bob@10.0.0.8', q: 1000, path: [], updatedAt: 1 });
    location.put({ ...bobBehindEdge(), contact: 'sip:bob@10.0.0.9;transport=tcp', q: 500, path: [] });
    const { kind, aor, groups } = s.select(makeRequest({ method: 'INVITE', uri: 'sip:bob@example.test' }));
    assert.equal(kind, 'domain');
    assert.equal(aor, 'bob@example.test');
    assert.deepEqual(
      groups.map((g) =>
        g.map((t) => [t.uri, `${t.to.transport}:${t.to.address}:${t.to.port}`, t.routes.length]),
      ),
      [
        [
          ['sip:bob@10.0.0.8', 'udp:10.0.0.8:5060', 0],
          ['sip:bob@10.0.0.7:5062', 'udp:203.0.113.20:5070', 1],
        ],
        [['sip:bob@10.0.0.9;transport=tcp', 'tcp:10.0.0.9:5060', 0]],
      ],
    );
  });

  it('goes where a binding registered from when its contact names no address', () => {
    const { s, location } = selector();
    location.put({ ...bobBehindEdge(), contact: 'sip:bob@phone.invalid', path: [] });
    const { groups } = s.select(makeRequest({ method: 'INVITE', uri: 'sip:bob@example.test' }));
    assert.deepEqual(groups[0]?.[0]?.to, { transport: 'udp', address: '203.0.113.20', port: 5070 });
  });

  it('falls back to a static route for a number of our domain, and to nothing for an unknown user', () => {
    const { s } = selector();
    const number = s.select(makeRequest({ method: 'INVITE', uri: 'sip:+15551234@example.test' }));
    assert.deepEqual(number.groups[0]?.[0]?.to, GATEWAY);
    const nobody = s.select(makeRequest({ method: 'INVITE', uri: 'sip:nobody@example.test' }));
    assert.equal(nobody.kind, 'domain');
    assert.deepEqual(nobody.groups, []);
  });

  it('sends elsewhere by static route, else to the Request-URI, and sees requests to the server itself', () => {
    const { s } = selector();
    assert.deepEqual(
      s.select(makeRequest({ method: 'INVITE', uri: 'tel:+15551234' })).groups[0]?.[0]?.to,
      GATEWAY,
    );
    const remote = s.select(makeRequest({ method: 'INVITE', uri: 'sip:carol@203.0.113.77:5090' }));
    assert.equal(remote.kind, 'remote');
    assert.deepEqual(remote.groups[0]?.[0]?.to, { transport: 'udp', address: '203.0.113.77', port: 5090 });
    assert.equal(s.select(makeRequest({ method: 'OPTIONS', uri: 'sip:example.test' })).kind, 'server');
  });

  it('NAT (auto): a phone with a private Contact is reached where it registered from; its dialog requests too', () => {
    const { s, location } = selector('auto');
    location.put({
      aor: 'carol@example.test',
      contact: 'sip:carol@192.168.51.10:5060;transport=udp',
      q: 1000,
      expiresAt: 60_000,
      callId: 'c',
      cseq: 1,
      path: [],
      received: { transport: 'udp', address: '198.51.100.254', port: 40000 },
      updatedAt: 0,
    });
    const flow = { transport: 'udp', address: '198.51.100.254', port: 40000 };
    const call = s.select(makeRequest({ method: 'INVITE', uri: 'sip:carol@example.test' }));
    assert.deepEqual(call.groups[0]?.[0]?.to, flow);
    assert.equal(call.groups[0]?.[0]?.uri, 'sip:carol@192.168.51.10:5060;transport=udp', 'the Contact stays');
    // The far end's BYE: Route through us, Request-URI the phone's Contact (written without the parameter).
    const bye = s.select(
      makeRequest({ method: 'BYE', uri: 'sip:carol@192.168.51.10:5060', routes: ['<sip:198.51.100.10;lr>'] }),
    );
    assert.equal(bye.kind, 'domain');
    assert.equal(bye.leaves, false);
    assert.deepEqual(bye.groups[0]?.[0]?.to, flow);
    assert.equal(bye.fwd.uri, 'sip:carol@192.168.51.10:5060');
  });

  it('NAT: a public Contact is used as written (auto); never uses the Contact, always the flow', () => {
    const put = (location: LocationService, contact: string) =>
      location.put({
        aor: 'dave@example.test',
        contact,
        q: 1000,
        expiresAt: 60_000,
        callId: 'd',
        cseq: 1,
        path: [],
        received: { transport: 'tcp', address: '203.0.113.9', port: 50123 },
        updatedAt: 0,
      });
    const invite = () => makeRequest({ method: 'INVITE', uri: 'sip:dave@example.test' });
    const auto = selector('auto');
    put(auto.location, 'sip:dave@203.0.113.77:5060');
    assert.deepEqual(auto.s.select(invite()).groups[0]?.[0]?.to, {
      transport: 'udp',
      address: '203.0.113.77',
      port: 5060,
    });
    const always = selector('always');
    put(always.location, 'sip:dave@203.0.113.77:5060');
    assert.deepEqual(always.s.select(invite()).groups[0]?.[0]?.to, {
      transport: 'tcp',
      address: '203.0.113.9',
      port: 50123,
    });
    const never = selector('never');
    put(never.location, 'sip:dave@10.1.2.3:5060');
    assert.deepEqual(never.s.select(invite()).groups[0]?.[0]?.to, {
      transport: 'udp',
      address: '10.1.2.3',
      port: 5060,
    });
  });
});
