// RFC 3263's pure part: what a URI asks to be looked up, NAPTR filtering and order, SRV order (RFC 2782).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { orderNaptr, orderSrv, planFor, type SrvRecord } from '../../../src/server/resolver/rfc3263.js';
import { parseSipUri } from '../../../src/sip/uri.js';

function plan(uri: string) {
  const u = parseSipUri(uri);
  assert.ok(u, uri);
  return planFor(u);
}

describe('RFC 3263 §4.1/§4.2: what a URI asks to be looked up', () => {
  const rows: Array<[string, unknown]> = [
    ['sip:192.0.2.1', { kind: 'literal', endpoint: { transport: 'udp', address: '192.0.2.1', port: 5060 } }],
    [
      'sips:[2001:db8::1]',
      { kind: 'literal', endpoint: { transport: 'tls', address: '2001:db8::1', port: 5061 } },
    ],
    [
      'sip:gw.test;maddr=192.0.2.9',
      { kind: 'literal', endpoint: { transport: 'udp', address: '192.0.2.9', port: 5060 } },
    ],
    ['sip:gw.test:5080', { kind: 'address', host: 'gw.test', port: 5080, transport: 'udp' }],
    ['sips:gw.test:5081', { kind: 'address', host: 'gw.test', port: 5081, transport: 'tls' }],
    ['sip:gw.test:5080;transport=tcp', { kind: 'address', host: 'gw.test', port: 5080, transport: 'tcp' }],
    ['sip:gw.test:5081;transport=tls', { kind: 'address', host: 'gw.test', port: 5081, transport: 'tls' }],
    [
      'sip:192.0.2.7:8443;transport=wss',
      { kind: 'literal', endpoint: { transport: 'wss', address: '192.0.2.7', port: 8443 } },
    ],
    [
      'sip:gw.test;transport=tcp',
      {
        kind: 'srv',
        host: 'gw.test',
        secure: false,
        naptr: false,
        srv: [{ name: '_sip._tcp.gw.test', transport: 'tcp' }],
        fallback: { port: 5060, transport: 'tcp' },
      },
    ],
    [
      'sip:+1555@carrier.test',
      {
        kind: 'srv',
        host: 'carrier.test',
        secure: false,
        naptr: true,
        srv: [
          { name: '_sip._udp.carrier.test', transport: 'udp' },
          { name: '_sip._tcp.carrier.test', transport: 'tcp' },
        ],
        fallback: { port: 5060, transport: 'udp' },
      },
    ],
    [
      'sips:carrier.test',
      {
        kind: 'srv',
        host: 'carrier.test',
        secure: true,
        naptr: true,
        srv: [{ name: '_sips._tcp.carrier.test', transport: 'tls' }],
        fallback: { port: 5061, transport: 'tls' },
      },
    ],
  ];
  for (const [uri, want] of rows) it(uri, () => assert.deepEqual(plan(uri), want));
});

describe('NAPTR (§4.1): flag "s", supported services, order then preference', () => {
  const r = (order: number, preference: number, service: string, replacement: string, flags = 's') => ({
    flags,
    service,
    regexp: '',
    replacement,
    order,
    preference,
  });
  const records = [
    r(20, 10, 'SIP+D2U', '_sip._udp.c.test'),
    r(10, 20, 'SIP+D2T', '_sip._tcp.c.test'),
    r(10, 10, 'SIPS+D2T', '_sips._tcp.c.test'),
    r(5, 10, 'SIP+D2S', '_sip._sctp.c.test'),
    r(1, 1, 'SIP+D2U', 'c.test', 'a'),
    r(1, 1, 'E2U+sip', 'x.test'),
  ];
  it('a SIP URI: UDP and TCP, by order', () =>
    assert.deepEqual(orderNaptr(records, false), [
      { name: '_sip._tcp.c.test', transport: 'tcp' },
      { name: '_sip._udp.c.test', transport: 'udp' },
    ]));
  it('a SIPS URI: SIPS+D2T only', () =>
    assert.deepEqual(orderNaptr(records, true), [{ name: '_sips._tcp.c.test', transport: 'tls' }]));
});

describe('SRV order (RFC 2782)', () => {
  const s = (name: string, priority: number, weight: number): SrvRecord => ({
    name,
    port: 5060,
    priority,
    weight,
  });
  const names = (rs: SrvRecord[]) => rs.map((r) => r.name);
  it('lowest priority first, whatever the weights', () =>
    assert.deepEqual(names(orderSrv([s('b', 20, 100), s('a', 10, 0)], () => 0.99)), ['a', 'b']));
  it('within a priority, the weighted draw: a low draw picks the weight-0 record placed first', () => {
    const rs = [s('heavy', 10, 90), s('zero', 10, 0), s('light', 10, 10)];
    assert.deepEqual(names(orderSrv(rs, () => 0)), ['zero', 'heavy', 'light']);
  });
  it('a high draw picks the record whose running sum reaches it', () => {
    const rs = [s('heavy', 10, 90), s('light', 10, 10)];
    // sum 100: pick floor(0.95 * 101) = 95 > 90: light; then heavy alone.
    assert.deepEqual(names(orderSrv(rs, () => 0.95)), ['light', 'heavy']);
    assert.deepEqual(names(orderSrv(rs, () => 0.5)), ['heavy', 'light']);
  });
  it('weights share the load about as they say', () => {
    let seed = 1;
    const random = () => {
      seed = (seed * 16807) % 2147483647;
      return seed / 2147483647;
    };
    let heavy = 0;
    for (let i = 0; i < 2000; i++)
      if (orderSrv([s('heavy', 1, 75), s('light', 1, 25)], random)[0]!.name === 'heavy') heavy++;
    assert.ok(heavy > 1350 && heavy < 1650, `${heavy} of 2000`);
  });
  it('"." alone: the service is decidedly not available', () =>
    assert.deepEqual(orderSrv([s('.', 0, 0)]), []));
});
