import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LocationService } from '../../src/server/location-service.js';
import { Myself } from '../../src/server/myself.js';
import { handleRegister } from '../../src/server/registrar.js';
import type { SipRequest } from '../../src/sip/message.js';
import { parseMessage } from '../../src/sip/parser.js';
import type { Source } from '../../src/sip/transport/types.js';

const myself = new Myself('example.test', [{ address: '198.51.100.10', port: 5060 }]);
const policy = { minExpires: 60, maxExpires: 3600, defaultExpires: 1800 };
const source: Source = {
  transport: 'udp',
  address: '203.0.113.5',
  port: 40000,
  localAddress: '198.51.100.10',
  localPort: 5060,
};

function register(opts: {
  to?: string;
  contacts?: string[];
  expires?: number;
  callId?: string;
  cseq?: number;
  extra?: string[];
}): SipRequest {
  const lines = [
    'REGISTER sip:example.test SIP/2.0',
    'Via: SIP/2.0/UDP 203.0.113.5:5060;branch=z9hG4bKreg',
    `From: <${opts.to ?? 'sip:alice@example.test'}>;tag=1`,
    `To: <${opts.to ?? 'sip:alice@example.test'}>`,
    `Call-ID: ${opts.callId ?? 'reg-1'}`,
    `CSeq: ${opts.cseq ?? 1} REGISTER`,
    ...(opts.contacts ?? []).map((c) => `Contact: ${c}`),
    ...(opts.expires === undefined ? [] : [`Expires: ${opts.expires}`]),
    ...(opts.extra ?? []),
    'Content-Length: 0',
    '',
    '',
  ];
  const r = parseMessage(Buffer.from(lines.join('\r\n')));
  assert.ok(r.ok && r.message.kind === 'request');
  return r.message as SipRequest;
}

describe('registrar (RFC 3261 §10.3)', () => {
  it('adds, refreshes and removes bindings, listing all current ones with remaining expiry', () => {
    const loc = new LocationService();
    let out = handleRegister(
      register({ contacts: ['<sip:alice@203.0.113.5:5060>'], expires: 600 }),
      source,
      loc,
      myself,
      policy,
      0,
    );
    assert.equal(out.response.status, 200);
    assert.equal(out.aor, 'alice@example.test');
    assert.deepEqual(out.response.headers.values('contact'), ['<sip:alice@203.0.113.5:5060>;expires=600']);
    out = handleRegister(
      register({ contacts: ['<sip:alice@203.0.113.6:5062>;q=0.5;expires=120'], cseq: 2 }),
      source,
      loc,
      myself,
      policy,
      10_000,
    );
    assert.deepEqual(out.response.headers.values('contact'), [
      '<sip:alice@203.0.113.5:5060>;expires=590',
      '<sip:alice@203.0.113.6:5062>;expires=120;q=0.5',
    ]);
    out = handleRegister(
      register({ contacts: ['<sip:alice@203.0.113.5:5060>'], expires: 0, cseq: 3 }),
      source,
      loc,
      myself,
      policy,
      20_000,
    );
    assert.deepEqual(out.response.headers.values('contact'), [
      '<sip:alice@203.0.113.6:5062>;expires=110;q=0.5',
    ]);
    assert.equal(loc.size, 1);
  });

  it('folds our own addresses into our domain: sip:alice@198.51.100.10 is alice@example.test', () => {
    const loc = new LocationService();
    const out = handleRegister(
      register({ to: 'sip:alice@198.51.100.10:5060', contacts: ['<sip:a@203.0.113.5>'] }),
      source,
      loc,
      myself,
      policy,
      0,
    );
    assert.equal(out.aor, 'alice@example.test');
    assert.equal(loc.lookup('alice@example.test', 0).length, 1);
  });

  it('answers 423 with Min-Expires for a too-short interval, and caps long ones', () => {
    const loc = new LocationService();
    const brief = handleRegister(
      register({ contacts: ['<sip:a@203.0.113.5>'], expires: 30 }),
      source,
      loc,
      myself,
      policy,
      0,
    );
    assert.equal(brief.response.status, 423);
    assert.equal(brief.response.headers.get('min-expires'), '60');
    assert.equal(loc.size, 0);
    const long = handleRegister(
      register({ contacts: ['<sip:a@203.0.113.5>'], expires: 99999 }),
      source,
      loc,
      myself,
      policy,
      0,
    );
    assert.match(long.response.headers.get('contact') ?? '', /;expires=3600$/);
  });

  it('removes every binding with * and Expires: 0, and rejects * otherwise', () => {
    const loc = new LocationService();
    handleRegister(
      register({ contacts: ['<sip:a@203.0.113.5>', '<sip:b@203.0.113.6>'] }),
      source,
      loc,
      myself,
      policy,
      0,
    );
    assert.equal(loc.size, 2);
    assert.equal(
      handleRegister(register({ contacts: ['*'], expires: 5, cseq: 2 }), source, loc, myself, policy, 0)
        .response.status,
      400,
    );
    assert.equal(
      handleRegister(
        register({ contacts: ['*', '<sip:c@x.test>'], expires: 0, cseq: 2 }),
        source,
        loc,
        myself,
        policy,
        0,
      ).response.status,
      400,
    );
    const ok = handleRegister(
      register({ contacts: ['*'], expires: 0, cseq: 3 }),
      source,
      loc,
      myself,
      policy,
      0,
    );
    assert.equal(ok.response.status, 200);
    assert.equal(loc.size, 0);
    assert.equal(ok.response.headers.has('contact'), false);
  });

  it('applies Call-ID/CSeq ordering: an older CSeq of the same Call-ID is refused, another Call-ID wins', () => {
    const loc = new LocationService();
    handleRegister(register({ contacts: ['<sip:a@203.0.113.5>'], cseq: 5 }), source, loc, myself, policy, 0);
    const stale = handleRegister(
      register({ contacts: ['<sip:a@203.0.113.5>'], expires: 0, cseq: 4 }),
      source,
      loc,
      myself,
      policy,
      0,
    );
    assert.equal(stale.response.status, 500);
    assert.equal(loc.size, 1);
    const other = handleRegister(
      register({ contacts: ['<sip:a@203.0.113.5>'], expires: 0, cseq: 1, callId: 'other' }),
      source,
      loc,
      myself,
      policy,
      0,
    );
    assert.equal(other.response.status, 200);
    assert.equal(loc.size, 0);
  });

  it('answers the same REGISTER again (same Call-ID and CSeq) with 200 and changes nothing', () => {
    const loc = new LocationService();
    const first = handleRegister(
      register({ contacts: ['<sip:a@203.0.113.5>'], expires: 600, cseq: 7 }),
      source,
      loc,
      myself,
      policy,
      0,
    );
    assert.equal(first.response.status, 200);
    const again = handleRegister(
      register({ contacts: ['<sip:a@203.0.113.5>'], expires: 600, cseq: 7 }),
      source,
      loc,
      myself,
      policy,
      5000,
    );
    assert.equal(again.response.status, 200);
    assert.equal(
      loc.find('alice@example.test', 'sip:a@203.0.113.5')?.expiresAt,
      600_000,
      'the binding was not refreshed',
    );
    const unregisterAgain = handleRegister(
      register({ contacts: ['<sip:b@203.0.113.5>'], expires: 0, cseq: 8 }),
      source,
      loc,
      myself,
      policy,
      0,
    );
    assert.equal(unregisterAgain.response.status, 200);
  });

  it('says whether it changed a binding, so that only a changing 200 waits for replication', () => {
    const loc = new LocationService();
    const run = (opts: Parameters<typeof register>[0]) =>
      handleRegister(register(opts), source, loc, myself, policy, 0).changed === true;
    const c = '<sip:alice@203.0.113.5:5060>';
    assert.equal(run({ contacts: [c], expires: 600, cseq: 1 }), true, 'added');
    assert.equal(run({ contacts: [c], expires: 600, cseq: 1 }), false, 'the same request again');
    assert.equal(run({ contacts: [c], expires: 600, cseq: 2 }), true, 'refreshed');
    assert.equal(run({ cseq: 3 }), false, 'a query (no Contact)');
    assert.equal(run({ contacts: [c], expires: 0, cseq: 4 }), true, 'removed');
    assert.equal(
      run({ contacts: ['<sip:bob@203.0.113.5:5060>'], expires: 0, cseq: 5 }),
      false,
      'nothing to remove',
    );
    run({ contacts: [c], expires: 600, cseq: 6 });
    assert.equal(run({ contacts: ['*'], expires: 0, cseq: 7 }), true, 'wildcard removed one');
    assert.equal(run({ contacts: ['*'], expires: 0, cseq: 8 }), false, 'wildcard removed none');
  });

  it('expires bindings on time', () => {
    const loc = new LocationService();
    handleRegister(
      register({ contacts: ['<sip:a@203.0.113.5>'], expires: 60 }),
      source,
      loc,
      myself,
      policy,
      0,
    );
    assert.equal(loc.lookup('alice@example.test', 59_999).length, 1);
    assert.equal(loc.lookup('alice@example.test', 60_000).length, 0);
    assert.equal(loc.expire(59_999), 0);
    assert.equal(loc.expire(60_000), 1);
    assert.equal(loc.size, 0);
  });

  it('orders lookups by q-value', () => {
    const loc = new LocationService();
    handleRegister(
      register({
        contacts: ['<sip:low@203.0.113.5>;q=0.1', '<sip:high@203.0.113.6>;q=0.9', '<sip:mid@203.0.113.7>'],
      }),
      source,
      loc,
      myself,
      policy,
      0,
    );
    assert.deepEqual(
      loc.lookup('alice@example.test', 0).map((b) => b.contact),
      ['sip:mid@203.0.113.7', 'sip:high@203.0.113.6', 'sip:low@203.0.113.5'],
    );
  });

  it('refuses foreign domains, unknown Require options, bad Expires and bad q', () => {
    const loc = new LocationService();
    assert.equal(
      handleRegister(
        register({ to: 'sip:bob@elsewhere.test', contacts: ['<sip:b@203.0.113.5>'] }),
        source,
        loc,
        myself,
        policy,
        0,
      ).response.status,
      403,
    );
    const req = handleRegister(
      register({ contacts: ['<sip:b@203.0.113.5>'], extra: ['Require: foo'] }),
      source,
      loc,
      myself,
      policy,
      0,
    );
    assert.equal(req.response.status, 420);
    assert.equal(req.response.headers.get('unsupported'), 'foo');
    assert.equal(
      handleRegister(
        register({ contacts: ['<sip:b@203.0.113.5>'], extra: ['Expires: soon'] }),
        source,
        loc,
        myself,
        policy,
        0,
      ).response.status,
      400,
    );
    assert.equal(
      handleRegister(register({ contacts: ['<sip:b@203.0.113.5>;q=2'] }), source, loc, myself, policy, 0)
        .response.status,
      400,
    );
    assert.equal(loc.size, 0);
  });

  it('stores and echoes Path (RFC 3327)', () => {
    const loc = new LocationService();
    const out = handleRegister(
      register({
        contacts: ['<sip:a@203.0.113.5>'],
        extra: ['Path: <sip:edge.example.test;lr>', 'Supported: path'],
      }),
      source,
      loc,
      myself,
      policy,
      0,
    );
    assert.deepEqual(out.response.headers.values('path'), ['<sip:edge.example.test;lr>']);
    assert.deepEqual(loc.lookup('alice@example.test', 0)[0]!.path, ['<sip:edge.example.test;lr>']);
  });

  it('records where the REGISTER came from as an endpoint (no local socket, no connection id)', () => {
    const loc = new LocationService();
    const tcp: Source = { ...source, transport: 'tcp', address: '2001:db8::5', connectionId: 3 };
    handleRegister(register({ contacts: ['<sip:a@203.0.113.5>'] }), tcp, loc, myself, policy, 0);
    assert.deepEqual(loc.lookup('alice@example.test', 0)[0]!.received, {
      transport: 'tcp',
      address: '2001:db8::5',
      port: 40000,
    });
  });
});
