// The proxy is no open relay with authentication on (Kamailio's default config is the model: `is_myself` on the
// From and the Request-URI, `auth_check` for every out-of-dialog request from our domain, relaying out of the
// domain only for authenticated users, `consume_credentials` before forwarding). Through the proxy core on a fake
// clock, as a request from the socket would go.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DigestAuthenticator, digestResponse } from '../../../src/server/digest-auth.js';
import { compileRoutes } from '../../../src/server/static-routes.js';
import type { SipRequest, SipResponse } from '../../../src/sip/message.js';
import { parseMessage } from '../../../src/sip/parser.js';
import type { Source } from '../../../src/sip/transport/types.js';
import { UDP_SOURCE } from '../../sip/transaction/helpers.js';
import { bobBehindEdge, type HarnessOptions, proxyHarness } from './harness.js';

const GATEWAY = { transport: 'udp', address: '192.0.2.50', port: 5060 };
const ROUTES = compileRoutes([{ match: '^\\+?[0-9]+$', to: 'sip:192.0.2.50:5060' }]);
const MALLORY = '<sip:mallory@evil.example>';
const ALICE = '<sip:alice@example.test>';
const OUR_ROUTE = '<sip:198.51.100.10:5060;lr>';

function authenticator(): DigestAuthenticator {
  return new DigestAuthenticator(
    'example.test',
    new Map([
      ['alice', 's3cret'],
      ['bob', 'b0b'],
    ]),
    300_000,
    ['SHA-256', 'MD5'],
    Buffer.alloc(32, 9),
    () => 1_000_000,
  );
}

let seq = 0;
interface Spec {
  from?: string;
  toTag?: string;
  routes?: string[];
  extra?: string[];
  cseqMethod?: string;
  branch?: string;
}

function sip(method: string, uri: string, o: Spec = {}): SipRequest {
  seq++;
  const text = [
    `${method} ${uri} SIP/2.0`,
    `Via: SIP/2.0/UDP 198.51.100.100:5060;branch=${o.branch ?? `z9hG4bKsec${seq}`};rport`,
    'Max-Forwards: 70',
    ...(o.routes ?? []).map((r) => `Route: ${r}`),
    `From: ${o.from ?? MALLORY};tag=f${seq}`,
    `To: <${uri}>${o.toTag === undefined ? '' : `;tag=${o.toTag}`}`,
    `Call-ID: sec-${seq}@example.test`,
    `CSeq: 1 ${o.cseqMethod ?? method}`,
    ...(o.extra ?? []),
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
  const r = parseMessage(Buffer.from(text));
  assert.ok(r.ok && r.message.kind === 'request', 'fixture parses');
  return r.message as SipRequest;
}

/** A Proxy-Authorization value of `user` for `method` on `uri` (a correct answer, SHA-256, qop=auth). */
function credentials(
  auth: DigestAuthenticator,
  user: string,
  password: string,
  method: string,
  uri: string,
): string {
  const c = {
    username: user,
    realm: 'example.test',
    nonce: auth.newNonce(),
    uri,
    algorithm: 'SHA-256' as const,
    qop: 'auth',
    nc: '00000001',
    cnonce: 'c0ffee',
  };
  const response = digestResponse(c, password, method);
  return `Digest username="${user}", realm="${c.realm}", nonce="${c.nonce}", uri="${uri}", response="${response}", algorithm=SHA-256, qop=auth, nc=00000001, cnonce="c0ffee"`;
}

function secured(o: HarnessOptions = {}) {
  const auth = authenticator();
  const h = proxyHarness({ auth, routes: ROUTES, ...o });
  h.location.put(bobBehindEdge());
  return { ...h, auth, final: () => h.answered().filter((s) => s !== 100) };
}

function lastResponse(h: ReturnType<typeof secured>): SipResponse | undefined {
  return h.sender.responses().at(-1)?.message as SipResponse | undefined;
}

describe('no open relay with authentication on', () => {
  it('challenges a toll-fraud INVITE from a stranger to a gateway number (407), sending nothing to the gateway', () => {
    const h = secured();
    h.receive(sip('INVITE', 'sip:+15551234@example.test'));
    assert.deepEqual(h.final(), [407]);
    assert.equal(h.sender.requests().length, 0);
    assert.match(lastResponse(h)?.headers.first('proxy-authenticate') ?? '', /realm="example\.test"/);
  });

  it('challenges a relay to a foreign host, by Request-URI or by a preloaded foreign Route', () => {
    const h = secured();
    h.receive(sip('INVITE', 'sip:uas@203.0.113.77:5080'));
    h.receive(sip('MESSAGE', 'sip:bob@example.test', { routes: ['<sip:203.0.113.77;lr>'] }));
    h.receive(sip('INVITE', 'tel:+15551234'));
    assert.deepEqual(h.final(), [407, 407, 407]);
    assert.equal(h.sender.requests().length, 0);
  });

  it('challenges every out-of-dialog method that claims a From of our domain, not only INVITE', () => {
    const h = secured();
    const methods = ['MESSAGE', 'SUBSCRIBE', 'OPTIONS', 'REFER', 'NOTIFY', 'INFO', 'PUBLISH', 'INVITE'];
    for (const m of methods) h.receive(sip(m, 'sip:bob@example.test', { from: ALICE }));
    assert.deepEqual(
      h.final(),
      methods.map(() => 407),
    );
    assert.equal(h.sender.requests().length, 0, 'nothing delivered to bob');
  });

  it('refuses the credentials of another user for a From of our domain (403), for MESSAGE as for INVITE', () => {
    const h = secured();
    for (const m of ['MESSAGE', 'INVITE']) {
      const uri = 'sip:bob@example.test';
      const bobs = credentials(h.auth, 'bob', 'b0b', m, uri);
      h.receive(sip(m, uri, { from: ALICE, extra: [`Proxy-Authorization: ${bobs}`] }));
    }
    assert.deepEqual(h.final(), [403, 403]);
    assert.equal(h.sender.requests().length, 0);
    assert.equal(h.proxy.stats.authFailures, 2);
  });

  it('relays for an authenticated user, consuming our credentials and keeping another realm’s (§22.3)', () => {
    const h = secured();
    const uri = 'sip:+15551234@example.test';
    const ours = credentials(h.auth, 'alice', 's3cret', 'INVITE', uri);
    const theirs =
      'Digest username="alice", realm="carrier.example", nonce="n1", uri="sip:+15551234@example.test", response="00"';
    h.receive(
      sip('INVITE', uri, {
        from: ALICE,
        extra: [`Proxy-Authorization: ${ours}`, `Proxy-Authorization: ${theirs}`],
      }),
    );
    const [out] = h.sent('INVITE');
    assert.ok(out, 'forwarded');
    assert.deepEqual(out.to, GATEWAY);
    assert.deepEqual(out.request.headers.getFields('proxy-authorization'), [theirs]);
  });

  it('consumes our credentials on a MESSAGE to a user and on the end-to-end ACK (§13.2.2.4 copies them)', () => {
    const h = secured();
    const uri = 'sip:bob@example.test';
    const msg = credentials(h.auth, 'alice', 's3cret', 'MESSAGE', uri);
    h.receive(sip('MESSAGE', uri, { from: ALICE, extra: [`Proxy-Authorization: ${msg}`] }));
    const [message] = h.sent('MESSAGE');
    assert.ok(message, 'delivered');
    assert.deepEqual(message.request.headers.getFields('proxy-authorization'), []);
    const ack = credentials(h.auth, 'alice', 's3cret', 'INVITE', uri);
    h.receive(
      sip('ACK', uri, {
        from: ALICE,
        toTag: 'b1',
        routes: [OUR_ROUTE],
        extra: [`Proxy-Authorization: ${ack}`],
      }),
    );
    const [sentAck] = h.sent('ACK');
    assert.ok(sentAck, 'ACK forwarded');
    assert.deepEqual(sentAck.request.headers.getFields('proxy-authorization'), []);
  });

  it('lets strangers reach our users (inbound: allow), and challenges them with inbound: challenge', () => {
    const open = secured();
    open.receive(sip('INVITE', 'sip:bob@example.test'));
    open.receive(sip('MESSAGE', 'sip:bob@example.test'));
    assert.equal(open.sent('INVITE').length, 1);
    assert.equal(open.sent('MESSAGE').length, 1);
    const closed = secured({ inbound: 'challenge' });
    closed.receive(sip('INVITE', 'sip:bob@example.test'));
    closed.receive(sip('MESSAGE', 'sip:bob@example.test'));
    assert.deepEqual(closed.final(), [407, 407]);
    assert.equal(closed.sender.requests().length, 0);
  });

  it('skips the challenge for a trusted peer (IPv4 CIDR, IPv6 prefix), not for its neighbour', () => {
    const h = secured({ trusted: ['203.0.113.0/24', '2001:db8:5::/48', '198.51.100.50'] });
    const from = (address: string): Source => ({ ...UDP_SOURCE, address });
    h.receive(sip('INVITE', 'sip:+15551234@example.test'), from('203.0.113.9'));
    h.receive(sip('INVITE', 'sip:+15551235@example.test'), from('2001:db8:5::1'));
    h.receive(sip('INVITE', 'sip:+15551236@example.test', { from: ALICE }), from('198.51.100.50'));
    assert.equal(h.sent('INVITE').length, 3, 'all three relayed to the gateway');
    h.receive(sip('INVITE', 'sip:+15551237@example.test'), from('203.0.114.9'));
    h.receive(sip('INVITE', 'sip:+15551238@example.test'), from('2001:db8:6::1'));
    assert.deepEqual(h.final(), [407, 407]);
    assert.equal(h.sent('INVITE').length, 3);
  });

  it('does not take a To tag without our Route for a dialog: a forged in-dialog INVITE to a gateway is not relayed', () => {
    const h = secured();
    h.receive(sip('INVITE', 'sip:+15551234@example.test', { toTag: 'forged' }));
    h.receive(sip('INVITE', 'sip:uas@203.0.113.77', { toTag: 'forged', routes: ['<sip:203.0.113.77;lr>'] }));
    assert.deepEqual(h.final(), [407, 407]);
    assert.equal(h.sender.requests().length, 0);
  });

  it('routes an in-dialog request through our Record-Route without a challenge', () => {
    const h = secured();
    h.receive(sip('BYE', 'sip:uas@203.0.113.77:5080', { toTag: 'b1', routes: [OUR_ROUTE] }));
    h.receive(sip('INVITE', 'sip:+15551234@192.0.2.50', { from: ALICE, toTag: 'g1', routes: [OUR_ROUTE] }));
    assert.equal(h.sent('BYE').length, 1);
    assert.equal(h.sent('INVITE').length, 1);
    assert.deepEqual(h.final(), []);
  });

  it('answers OPTIONS to the server itself and REGISTER (401) as before', () => {
    const h = secured();
    h.receive(sip('OPTIONS', 'sip:example.test'));
    h.receive(sip('REGISTER', 'sip:example.test', { from: ALICE }));
    assert.deepEqual(h.final(), [200, 401]);
  });
});
