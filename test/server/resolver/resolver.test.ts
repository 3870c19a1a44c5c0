// RFC 3263 resolution over a fake DNS: the NAPTR → SRV → A/AAAA chain, the TTL cache, not found versus failed.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DnsCache } from '../../../src/server/resolver/dns-cache.js';
import { type DnsBackend, SipResolver } from '../../../src/server/resolver/resolver.js';
import type { NaptrRecord, SrvRecord } from '../../../src/server/resolver/rfc3263.js';
import { compileRoutes } from '../../../src/server/static-routes.js';
import { parseSipUri } from '../../../src/sip/uri.js';

const fail = (code: string) => Object.assign(new Error(code), { code });

interface Zone {
  naptr?: Record<string, NaptrRecord[]>;
  srv?: Record<string, SrvRecord[]>;
  a?: Record<string, Array<{ address: string; ttl: number }>>;
  aaaa?: Record<string, Array<{ address: string; ttl: number }>>;
  /** Names whose queries fail with SERVFAIL. */
  broken?: string[];
}

function fakeDns(zone: Zone): DnsBackend & { asked: string[] } {
  const asked: string[] = [];
  const answer = <T>(type: string, table: Record<string, T[]> | undefined, name: string): Promise<T[]> => {
    asked.push(`${type} ${name}`);
    if (zone.broken?.includes(name)) return Promise.reject(fail('ESERVFAIL'));
    const rs = table?.[name];
    return rs === undefined ? Promise.reject(fail('ENOTFOUND')) : Promise.resolve(rs);
  };
  return {
    asked,
    resolveNaptr: (n) => answer('NAPTR', zone.naptr, n),
    resolveSrv: (n) => answer('SRV', zone.srv, n),
    resolve4: (n) => answer('A', zone.a, n),
    resolve6: (n) => answer('AAAA', zone.aaaa, n),
  };
}

function resolver(zone: Zone) {
  let now = 0;
  const backend = fakeDns(zone);
  const r = new SipResolver({
    timeoutMs: 100,
    tries: 1,
    negativeTtlMs: 30_000,
    recordTtlMs: 60_000,
    now: () => now,
    random: () => 0,
    backend,
  });
  return { r, backend, advance: (ms: number) => (now += ms) };
}

const uri = (s: string) => parseSipUri(s)!;
const CARRIER: Zone = {
  srv: {
    '_sip._udp.carrier.test': [
      { name: 'gw2.carrier.test', port: 5070, priority: 20, weight: 0 },
      { name: 'gw1.carrier.test', port: 5060, priority: 10, weight: 0 },
    ],
  },
  a: {
    'gw1.carrier.test': [{ address: '192.0.2.1', ttl: 300 }],
    'gw2.carrier.test': [{ address: '192.0.2.2', ttl: 300 }],
    'plain.test': [{ address: '192.0.2.3', ttl: 5 }],
  },
  aaaa: { 'gw2.carrier.test': [{ address: '2001:db8::2', ttl: 300 }] },
};

describe('SipResolver', () => {
  it('SRV targets by priority, each with its A then AAAA addresses, on the SRV port', async () => {
    const { r } = resolver(CARRIER);
    assert.deepEqual(await r.resolve(uri('sip:+15551234@carrier.test')), {
      kind: 'ok',
      endpoints: [
        { transport: 'udp', address: '192.0.2.1', port: 5060 },
        { transport: 'udp', address: '192.0.2.2', port: 5070 },
        { transport: 'udp', address: '2001:db8::2', port: 5070 },
      ],
    });
  });

  it('NAPTR first: its replacement names the SRV owner and the transport', async () => {
    const { r, backend } = resolver({
      naptr: {
        'n.test': [
          {
            flags: 's',
            service: 'SIP+D2T',
            regexp: '',
            replacement: '_sip._tcp.n.test',
            order: 1,
            preference: 1,
          },
        ],
      },
      srv: { '_sip._tcp.n.test': [{ name: 'gw1.carrier.test', port: 5090, priority: 1, weight: 1 }] },
      a: CARRIER.a,
    });
    assert.deepEqual(await r.resolve(uri('sip:n.test')), {
      kind: 'ok',
      endpoints: [{ transport: 'tcp', address: '192.0.2.1', port: 5090 }],
    });
    assert.deepEqual(backend.asked.slice(0, 2), ['NAPTR n.test', 'SRV _sip._tcp.n.test']);
  });

  it('no SRV: A/AAAA of the name on the default port; an explicit port: A/AAAA only', async () => {
    const { r, backend } = resolver(CARRIER);
    assert.deepEqual(await r.resolve(uri('sip:plain.test')), {
      kind: 'ok',
      endpoints: [{ transport: 'udp', address: '192.0.2.3', port: 5060 }],
    });
    backend.asked.length = 0;
    assert.deepEqual(await r.resolve(uri('sip:gw1.carrier.test:5099;transport=tcp')), {
      kind: 'ok',
      endpoints: [{ transport: 'tcp', address: '192.0.2.1', port: 5099 }],
    });
    assert.deepEqual(backend.asked, ['A gw1.carrier.test', 'AAAA gw1.carrier.test']);
  });

  it('a numeric host asks nothing', async () => {
    const { r } = resolver(CARRIER);
    assert.deepEqual(await r.resolve(uri('sip:192.0.2.77:5080')), {
      kind: 'ok',
      endpoints: [{ transport: 'udp', address: '192.0.2.77', port: 5080 }],
    });
    assert.equal(r.queries, 0);
  });

  it('answers are cached for their TTL, negative ones too; the last resolution serves ACK and CANCEL', async () => {
    const { r, advance } = resolver(CARRIER);
    await r.resolve(uri('sip:plain.test'));
    const first = r.queries;
    await r.resolve(uri('sip:plain.test'));
    assert.equal(r.queries, first, 'all from the cache');
    assert.deepEqual(r.cached(uri('sip:plain.test')), [
      { transport: 'udp', address: '192.0.2.3', port: 5060 },
    ]);
    advance(5_001);
    assert.equal(
      r.cached(uri('sip:plain.test')),
      undefined,
      'the resolution lives as long as its shortest TTL',
    );
    await r.resolve(uri('sip:plain.test'));
    assert.equal(r.queries, first + 1, 'the A record (TTL 5 s) again, the rest still cached');
    advance(60_000);
    await r.resolve(uri('sip:plain.test'));
    assert.equal(r.queries, 2 * first + 1);
  });

  it('a burst of calls to a cold name asks each record once', async () => {
    const { r, backend } = resolver(CARRIER);
    await Promise.all([1, 2, 3].map(() => r.resolve(uri('sip:+1@carrier.test'))));
    assert.equal(backend.asked.filter((q) => q === 'SRV _sip._udp.carrier.test').length, 1);
    assert.equal(r.queries, backend.asked.length);
  });

  it('a static route to a name compiles (resolved per request) and keeps no address', () => {
    const [route] = compileRoutes([{ match: '^9', to: 'sip:localhost:5070' }]);
    assert.equal(route?.to, undefined);
    assert.equal(route?.uri.host, 'localhost');
    assert.throws(() => compileRoutes([{ match: '^9', to: 'tel:+1555' }]), /sip: or sips: URI/);
  });

  it('a name with no records: not found; a DNS that fails: failed', async () => {
    const { r } = resolver({
      ...CARRIER,
      broken: ['down.test', '_sip._udp.down.test', '_sip._tcp.down.test'],
    });
    assert.deepEqual(await r.resolve(uri('sip:nowhere.test')), { kind: 'not-found' });
    const down = await r.resolve(uri('sip:down.test'));
    assert.equal(down.kind, 'failed');
  });
});

describe('DnsCache', () => {
  it('forgets at the TTL, keeps nothing for TTL 0, and stays within its size', () => {
    let now = 0;
    const c = new DnsCache<number>(() => now, 2);
    c.set('a', 1, 1000);
    c.set('z', 0, 0);
    assert.equal(c.get('a'), 1);
    assert.equal(c.get('z'), undefined);
    now = 1000;
    assert.equal(c.get('a'), undefined);
    c.set('b', 2, 10);
    c.set('c', 3, 10);
    c.set('d', 4, 10);
    assert.equal(c.size, 2);
    assert.equal(c.get('b'), undefined);
  });
});
