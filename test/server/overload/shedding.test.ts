// Overload control end to end: a SIP server on loopback with its governor forced into overload (no CPU burnt)
// answers new out-of-dialog requests 503 + Retry-After without keeping a transaction (RFC 3261 §21.5.4), drops
// the ACK for that 503 instead of forwarding it, counts what it shed by method, and keeps serving the calls it
// already has: a BYE with a To tag, a CANCEL and the responses all flow.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { sipCounters } from '../../../src/app/worker-views.js';
import { configSchema } from '../../../src/config/schema.js';
import { SHED_TAG_PREFIX } from '../../../src/server/overload/shed.js';
import { SipServer } from '../../../src/server/sip-server.js';
import type { SipRequest, SipResponse } from '../../../src/sip/message.js';
import { parseMessage } from '../../../src/sip/parser.js';
import { freePort } from '../../helpers/ports.js';
import { UdpPeer } from '../../helpers/sip-peer.js';

const RETRY_AFTER_S = 7;

let seq = 0;
function head(method: string, uri: string, peer: UdpPeer, extra: string[], call = `ovl${seq}`): string {
  seq++;
  return [
    `${method} ${uri} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:${peer.port};branch=z9hG4bKovl${seq};rport`,
    'Max-Forwards: 70',
    ...extra,
    `Call-ID: ${call}`,
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

function invite(from: UdpPeer, call: string): string {
  return head(
    'INVITE',
    'sip:bob@example.test',
    from,
    ['From: <sip:alice@example.test>;tag=alicetag', 'To: <sip:bob@example.test>', 'CSeq: 1 INVITE'],
    call,
  );
}

/** What bob's phone answers to `request`, with its To tag. */
function answer(request: SipRequest, status: number, reason: string): string {
  const copy = (name: string) => request.headers.getFields(name).map((v) => `${name}: ${v}`);
  const to = request.headers.get('to') ?? '';
  return [
    `SIP/2.0 ${status} ${reason}`,
    ...copy('Via'),
    ...copy('Record-Route'),
    ...copy('From'),
    `To: ${to.includes(';tag=') ? to : `${to};tag=bobtag`}`,
    ...copy('Call-ID'),
    ...copy('CSeq'),
    'Contact: <sip:bob@127.0.0.1>',
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

function asRequest(bytes: Buffer): SipRequest {
  const r = parseMessage(bytes);
  assert.ok(r.ok && r.message.kind === 'request');
  return r.message;
}

const starts = (method: string) => (m: Buffer) => m.toString('latin1').startsWith(`${method} `);

describe('overload control: shedding new requests, serving dialogs', () => {
  let s: SipServer;
  let port: number;
  let alice: UdpPeer;
  let bob: UdpPeer;
  /** Bob's INVITE of the call set up before the overload (for its Record-Route). */
  let established: SipRequest;

  before(async () => {
    port = await freePort();
    const config = configSchema.parse({
      sip: {
        listen: [`udp://127.0.0.1:${port}`],
        domain: 'example.test',
        overload: { retry_after_s: RETRY_AFTER_S },
      },
    });
    s = new SipServer({ config, resolvePath: (p) => p, log: pino({ level: 'silent' }) });
    await s.start();
    // Pinned idle: the real loop lag of a busy test machine must not shed the setup.
    s.forceOverload(0);
    alice = await UdpPeer.open();
    bob = await UdpPeer.open();
    await bob.send(
      head(
        'REGISTER',
        'sip:example.test',
        bob,
        [
          'From: <sip:bob@example.test>;tag=reg',
          'To: <sip:bob@example.test>',
          `Contact: <sip:bob@127.0.0.1:${bob.port}>`,
          'Expires: 600',
          'CSeq: 1 REGISTER',
        ],
        'reg-bob',
      ),
      port,
    );
    assert.equal((await bob.nextResponse()).status, 200);
    // A call set up before the overload: alice → bob, answered, acknowledged.
    await alice.send(invite(alice, 'call-up'), port);
    established = asRequest(await bob.next(starts('INVITE')));
    await bob.send(answer(established, 200, 'OK'), port);
    await alice.nextResponse((r) => r.status === 200);
    s.forceOverload(1);
  });

  after(async () => {
    alice.close();
    bob.close();
    await s.stop(0);
  });

  it('answers a new INVITE 503 with a Retry-After of N..2N seconds, and keeps no transaction for it', async () => {
    const before = s.transactions.stats.activeServerInvite;
    const text = invite(alice, 'call-shed');
    await alice.send(text, port);
    const r = await alice.nextResponse((x) => x.callId === 'call-shed');
    assert.equal(r.status, 503);
    assert.equal(r.reason, 'Service Unavailable');
    const retry = Number(r.headers.get('retry-after'));
    assert.ok(retry >= RETRY_AFTER_S && retry <= 2 * RETRY_AFTER_S, `Retry-After ${retry}`);
    assert.ok(r.to?.tag?.startsWith(SHED_TAG_PREFIX), 'the tag that marks its ACK');
    assert.equal(s.transactions.stats.activeServerInvite, before, 'no server transaction');
    assert.equal(s.transactions.findServerTransaction(asRequest(Buffer.from(text))), undefined);
    assert.equal(s.proxy.stats.overloadRejectedByMethod.INVITE, 1);

    // The ACK for the 503 has no transaction to end in: it is dropped, not forwarded to bob.
    const ack = [
      `ACK sip:bob@example.test SIP/2.0`,
      `Via: ${r.headers.get('via')}`,
      'Max-Forwards: 70',
      'From: <sip:alice@example.test>;tag=alicetag',
      `To: ${r.headers.get('to')}`,
      'Call-ID: call-shed',
      'CSeq: 1 ACK',
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n');
    const acksForwarded = s.proxy.stats.acksForwarded;
    await alice.send(ack, port);
    // An OPTIONS after it, shed as well: once its 503 is back, the ACK before it has been handled.
    await alice.send(
      head('OPTIONS', 'sip:bob@example.test', alice, [
        'From: <sip:alice@example.test>;tag=o',
        'To: <sip:bob@example.test>',
        'CSeq: 1 OPTIONS',
      ]),
      port,
    );
    assert.equal((await alice.nextResponse((x) => x.cseq?.method === 'OPTIONS')).status, 503);
    assert.equal(s.proxy.stats.overloadAcksDropped, 1);
    assert.equal(s.proxy.stats.acksForwarded, acksForwarded);
    assert.equal(
      bob.received.filter((m) => starts('ACK')(m) || starts('INVITE')(m) || starts('OPTIONS')(m)).length,
      0,
      'bob heard nothing of the shed requests',
    );
  });

  it('sheds a REGISTER burst too, counted by method for /metrics', async () => {
    for (const user of ['carol', 'dave']) {
      await alice.send(
        head('REGISTER', 'sip:example.test', alice, [
          `From: <sip:${user}@example.test>;tag=r`,
          `To: <sip:${user}@example.test>`,
          `Contact: <sip:${user}@127.0.0.1:${alice.port}>`,
          'CSeq: 1 REGISTER',
        ]),
        port,
      );
      assert.equal((await alice.nextResponse((x) => x.cseq?.method === 'REGISTER')).status, 503);
    }
    const c = sipCounters(s);
    assert.equal(c.overloadRejectedByMethod.REGISTER, 2);
    assert.equal(c.overloadRejectedByMethod.INVITE, 1);
    assert.equal(c.overloadActive, true);
    assert.equal(c.responsesByStatus['503'], 4);
    assert.equal(s.location.size, 1, 'only bob, registered before');
  });

  it('still serves the call it has: the BYE (with a To tag) goes through, and its 200 comes back', async () => {
    const route = established.headers.getFields('record-route').map((v) => `Route: ${v}`);
    await bob.send(
      head(
        'BYE',
        `sip:alice@127.0.0.1:${alice.port}`,
        bob,
        [
          ...route,
          'From: <sip:bob@example.test>;tag=bobtag',
          'To: <sip:alice@example.test>;tag=alicetag',
          'CSeq: 2 BYE',
        ],
        'call-up',
      ),
      port,
    );
    const bye = asRequest(await alice.next(starts('BYE')));
    assert.equal(bye.callId, 'call-up');
    await alice.send(answer(bye, 200, 'OK'), port);
    const ok: SipResponse = await bob.nextResponse((r) => r.cseq?.method === 'BYE');
    assert.equal(ok.status, 200);
    assert.equal(s.proxy.stats.overloadRejectedByMethod.BYE, undefined);
  });

  it('still serves a CANCEL for an INVITE it took before, and the 487 comes back', async () => {
    s.forceOverload(0);
    const text = invite(alice, 'call-ringing');
    await alice.send(text, port);
    const ringing = asRequest(await bob.next((m) => starts('INVITE')(m) && m.includes('call-ringing')));
    await bob.send(answer(ringing, 180, 'Ringing'), port);
    await alice.nextResponse((r) => r.callId === 'call-ringing' && r.status === 180);
    s.forceOverload(1);
    // The CANCEL matches the INVITE alice sent: same Via (branch), Call-ID, CSeq number (§9.1).
    const via = asRequest(Buffer.from(text)).headers.get('via');
    await alice.send(
      [
        'CANCEL sip:bob@example.test SIP/2.0',
        `Via: ${via}`,
        'Max-Forwards: 70',
        'From: <sip:alice@example.test>;tag=alicetag',
        'To: <sip:bob@example.test>',
        'Call-ID: call-ringing',
        'CSeq: 1 CANCEL',
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n'),
      port,
    );
    assert.equal((await alice.nextResponse((r) => r.cseq?.method === 'CANCEL')).status, 200);
    const cancel = asRequest(await bob.next(starts('CANCEL')));
    await bob.send(answer(cancel, 200, 'OK'), port);
    await bob.send(answer(ringing, 487, 'Request Terminated'), port);
    const r = await alice.nextResponse((x) => x.callId === 'call-ringing' && x.status >= 200);
    assert.equal(r.status, 487);
    assert.equal(s.proxy.stats.overloadRejectedByMethod.CANCEL, undefined);
  });

  it('admits new requests again once the governor is idle', async () => {
    s.forceOverload(0);
    await alice.send(invite(alice, 'call-after'), port);
    const again = asRequest(await bob.next((m) => starts('INVITE')(m) && m.includes('call-after')));
    await bob.send(answer(again, 486, 'Busy Here'), port);
    assert.equal((await alice.nextResponse((r) => r.callId === 'call-after' && r.status >= 200)).status, 486);
  });
});
