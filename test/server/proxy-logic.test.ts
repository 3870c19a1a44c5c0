// Pure pieces of the proxy: best-response choice, request checks, branch derivation, dialogs, our-domain checks.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DialogStore } from '../../src/server/dialogs.js';
import { Myself } from '../../src/server/myself.js';
import { bestResponseIndex, forwardableStatus } from '../../src/server/proxy/best-response.js';
import { forwardBranch } from '../../src/server/proxy/branch.js';
import { checkRequest } from '../../src/server/proxy/request-validation.js';
import { compileRoutes, staticRouteFor } from '../../src/server/static-routes.js';
import type { SipRequest, SipResponse } from '../../src/sip/message.js';
import { parseMessage } from '../../src/sip/parser.js';
import { parseUri } from '../../src/sip/uri.js';

function req(
  method: string,
  extra: string[] = [],
  uri = 'sip:bob@example.test',
  via = 'SIP/2.0/UDP 203.0.113.5;branch=z9hG4bKabc',
): SipRequest {
  const text = [
    `${method} ${uri} SIP/2.0`,
    `Via: ${via}`,
    'From: <sip:alice@example.test>;tag=a',
    'To: <sip:bob@example.test>',
    'Call-ID: c1',
    `CSeq: 1 ${method}`,
    ...extra,
    '',
    '',
  ].join('\r\n');
  const r = parseMessage(Buffer.from(text));
  assert.ok(r.ok && r.message.kind === 'request');
  return r.message as SipRequest;
}

function res(status: number, toTag?: string): SipResponse {
  const text = [
    `SIP/2.0 ${status} X`,
    'Via: SIP/2.0/UDP 203.0.113.5;branch=z9hG4bKabc',
    'From: <sip:alice@example.test>;tag=a',
    `To: <sip:bob@example.test>${toTag ? `;tag=${toTag}` : ''}`,
    'Call-ID: c1',
    'CSeq: 1 INVITE',
    '',
    '',
  ].join('\r\n');
  const r = parseMessage(Buffer.from(text));
  assert.ok(r.ok && r.message.kind === 'response');
  return r.message as SipResponse;
}

describe('best response (§16.7 step 6)', () => {
  const table: Array<[number[], number]> = [
    [[486, 603, 200], 603],
    [[404, 503], 404],
    [[503, 408, 486], 486],
    [[302, 486], 302],
    [[408, 407, 486], 407],
    [[500], 500],
  ];
  for (const [statuses, want] of table) {
    it(`${statuses.join(', ')} → ${want}`, () => assert.equal(statuses[bestResponseIndex(statuses)], want));
  }
  it('turns a 503 into a 500 before forwarding', () => {
    assert.equal(forwardableStatus(503), 500);
    assert.equal(forwardableStatus(486), 486);
  });
});

describe('request checks (§16.3)', () => {
  it('483 when Max-Forwards is 0, except OPTIONS to us', () => {
    assert.equal(checkRequest(req('INVITE', ['Max-Forwards: 0']), false)?.status, 483);
    assert.equal(checkRequest(req('OPTIONS', ['Max-Forwards: 0']), true), undefined);
    assert.equal(checkRequest(req('OPTIONS', ['Max-Forwards: 0']), false)?.status, 483);
    assert.equal(checkRequest(req('INVITE', ['Max-Forwards: 1']), false), undefined);
  });
  it('420 with Unsupported for unknown Proxy-Require options', () => {
    const f = checkRequest(req('INVITE', ['Proxy-Require: foo, path']), false);
    assert.equal(f?.status, 420);
    assert.deepEqual(f?.header, ['Unsupported', 'foo']);
  });
});

describe('derived branches', () => {
  it('are the same for an INVITE and its CANCEL, and for a retransmission on another node', () => {
    const invite = req('INVITE');
    const cancel = req('CANCEL');
    assert.equal(forwardBranch(invite, 'sip:bob@203.0.113.9'), forwardBranch(cancel, 'sip:bob@203.0.113.9'));
    assert.equal(
      forwardBranch(invite, 'sip:bob@203.0.113.9'),
      forwardBranch(req('INVITE'), 'sip:bob@203.0.113.9'),
    );
    assert.match(forwardBranch(invite, 'x'), /^z9hG4bK/);
  });
  it('differ per target and per incoming transaction', () => {
    const invite = req('INVITE');
    assert.notEqual(forwardBranch(invite, 'sip:a@203.0.113.9'), forwardBranch(invite, 'sip:b@203.0.113.9'));
    const other = req('INVITE', [], undefined, 'SIP/2.0/UDP 203.0.113.5;branch=z9hG4bKdef');
    assert.notEqual(forwardBranch(invite, 'x'), forwardBranch(other, 'x'));
  });
});

describe('dialogs', () => {
  it('go early → confirmed → terminated, with their parties', () => {
    const store = new DialogStore(() => 1000);
    const changes: string[] = [];
    store.subscribe((c) => changes.push(`${c.kind}:${c.dialog.state}`));
    const invite = req('INVITE');
    store.onInviteResponse(invite, res(180, 'b'));
    store.onInviteResponse(invite, res(200, 'b'));
    assert.equal(store.size, 1);
    const d = store.active()[0]!;
    assert.equal(d.caller, 'sip:alice@example.test');
    assert.equal(d.callee, 'sip:bob@example.test');
    const bye = req('BYE', [], 'sip:bob@203.0.113.9');
    bye.headers.set('To', '<sip:bob@example.test>;tag=b');
    store.onBye(bye);
    assert.equal(store.size, 0);
    assert.deepEqual(changes, ['created:early', 'confirmed:confirmed', 'terminated:terminated']);
  });
  it('end early dialogs on a non-2xx final', () => {
    const store = new DialogStore();
    const invite = req('INVITE');
    store.onInviteResponse(invite, res(180, 'x'));
    store.onInviteResponse(invite, res(183, 'y'));
    assert.equal(store.size, 2);
    store.onInviteResponse(invite, res(486, 'z'));
    assert.equal(store.size, 0);
  });
});

describe('our domain and static routes', () => {
  const myself = new Myself('example.test', [
    { address: '198.51.100.10', port: 5060 },
    { address: '2001:db8::10', port: 5070 },
  ]);
  it('knows the domain on any port and listen addresses on their port', () => {
    assert.ok(myself.isMyUri(parseUri('sip:alice@EXAMPLE.test:5090')));
    assert.ok(myself.isMyUri(parseUri('sip:alice@198.51.100.10')));
    assert.ok(!myself.isMyUri(parseUri('sip:alice@198.51.100.10:5070')));
    assert.ok(myself.isMyUri(parseUri('sip:[2001:db8::10]:5070')));
    assert.ok(!myself.isMyUri(parseUri('tel:+1555')));
  });
  it('matches the user part against route patterns in order', () => {
    const routes = compileRoutes([
      { match: '^\\+44', to: 'sip:203.0.113.44:5060' },
      { match: '^\\+?[0-9]+$', to: 'sip:203.0.113.50:5080;transport=tcp' },
    ]);
    assert.deepEqual(staticRouteFor(routes, parseUri('sip:+4420123@example.test')), {
      transport: 'udp',
      address: '203.0.113.44',
      port: 5060,
    });
    assert.deepEqual(staticRouteFor(routes, parseUri('tel:5551234')), {
      transport: 'tcp',
      address: '203.0.113.50',
      port: 5080,
    });
    assert.equal(staticRouteFor(routes, parseUri('sip:alice@example.test')), undefined);
  });
});
