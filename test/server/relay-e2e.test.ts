// No open relay, end to end: `sipha start` with a users file and a static route to a gateway, raw UDP sockets as
// the attacker, the gateway and a foreign host on loopback.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { digestResponse } from '../../src/server/digest-auth.js';
import type { SipResponse } from '../../src/sip/message.js';
import { parseMessage } from '../../src/sip/parser.js';
import { freePort } from '../helpers/ports.js';
import { request, UdpPeer } from '../helpers/sip-peer.js';
import { type SiphaProcess, startSipha } from '../helpers/sipha-process.js';

/** How long a peer waits to be sure nothing was relayed to it. */
const QUIET_MS = 600;

describe('no open relay over UDP with a users file', { timeout: 60_000 }, () => {
  let port: number;
  let server: SiphaProcess;
  let caller: UdpPeer;
  let gateway: UdpPeer;
  let foreign: UdpPeer;

  before(async () => {
    port = await freePort();
    caller = await UdpPeer.open();
    gateway = await UdpPeer.open();
    foreign = await UdpPeer.open();
    server = await startSipha(
      [
        'sip:',
        `  listen: [udp://127.0.0.1:${port}]`,
        '  domain: example.test',
        '  users_file: users.yaml',
        `  routes: [{ match: "^\\\\+?[0-9]+$", to: "sip:127.0.0.1:${gateway.port}" }]`,
        'log: { level: info }',
      ].join('\n'),
      { 'users.yaml': 'alice: s3cret\n' },
    );
  });
  after(async () => {
    caller.close();
    gateway.close();
    foreign.close();
    await server.stop();
  });

  let calls = 0;
  /**
   * An INVITE from `from` to `uri`, sent by the caller; resolves with its first final response, which it
   * acknowledges (§17.1.1.3) so that the server stops retransmitting it.
   */
  async function invite(uri: string, from: string, extra: string[] = []): Promise<SipResponse> {
    const callId = `relay-${++calls}-${Date.now()}`;
    const text = request('INVITE', { uri, port: caller.port, extra, callId }).replace(
      /^From: <[^>]+>/m,
      `From: <${from}>`,
    );
    await caller.send(text, port);
    const res = await caller.nextResponse((r) => r.status >= 200 && r.callId === callId, 3000);
    const ack = text
      .replace(/^INVITE /, 'ACK ')
      .replace(/^CSeq: (\d+) INVITE/m, 'CSeq: $1 ACK')
      .replace(/^To: .*$/m, `To: ${res.headers.get('to')}`)
      .replace(/^Proxy-Authorization: .*\r\n/gm, '');
    await caller.send(ack, port);
    return res;
  }

  async function nothingArrives(peer: UdpPeer, what: string): Promise<void> {
    await assert.rejects(
      peer.next(() => true, QUIET_MS),
      /timed out/,
      `${what} received a request`,
    );
  }

  it('answers a toll-fraud INVITE to a gateway number with 407, and the gateway sees nothing', async () => {
    const res = await invite('sip:+15551234@example.test', 'sip:mallory@evil.example');
    assert.equal(res.status, 407);
    assert.match(res.headers.first('proxy-authenticate') ?? '', /Digest realm="example\.test"/);
    await nothingArrives(gateway, 'the gateway');
  });

  it('answers an INVITE relayed to a foreign host with 407, and the host sees nothing', async () => {
    const res = await invite(`sip:uas@127.0.0.1:${foreign.port}`, 'sip:mallory@evil.example');
    assert.equal(res.status, 407);
    await nothingArrives(foreign, 'the foreign host');
  });

  it('relays alice’s authenticated INVITE to the gateway without her Proxy-Authorization', async () => {
    const uri = 'sip:+15551234@example.test';
    const challenge = await invite(uri, 'sip:alice@example.test');
    assert.equal(challenge.status, 407);
    const values = challenge.headers.getFields('proxy-authenticate');
    const md5 = values.find((v) => /algorithm=MD5/.test(v)) ?? '';
    const nonce = /nonce="([^"]+)"/.exec(md5)?.[1];
    assert.ok(nonce, `an MD5 challenge among ${values.join(' | ')}`);
    const c = { username: 'alice', realm: 'example.test', nonce, uri, algorithm: 'MD5' as const };
    const answer = `Digest username="alice", realm="example.test", nonce="${nonce}", uri="${uri}", response="${digestResponse(c, 's3cret', 'INVITE')}", algorithm=MD5`;
    const sent = invite(uri, 'sip:alice@example.test', [`Proxy-Authorization: ${answer}`]);
    const fromAlice = (b: Buffer) => b.toString('latin1').includes('From: <sip:alice@example.test>');
    const arrived = parseMessage(await gateway.next(fromAlice, 3000));
    assert.ok(arrived.ok && arrived.message.kind === 'request');
    assert.equal(arrived.message.method, 'INVITE');
    assert.deepEqual(arrived.message.headers.getFields('proxy-authorization'), []);
    // The gateway declines; the caller gets its 486 through the proxy.
    const busy = `SIP/2.0 486 Busy Here\r\n${arrived.message.headers.fields
      .filter((f) => ['via', 'from', 'to', 'call-id', 'cseq'].includes(f.key))
      .map((f) => `${f.name}: ${f.value}${f.key === 'to' ? ';tag=gw' : ''}`)
      .join('\r\n')}\r\nContent-Length: 0\r\n\r\n`;
    await gateway.send(busy, port);
    assert.equal((await sent).status, 486);
  });
});

describe('the open-relay warning at start', { timeout: 30_000 }, () => {
  const open = (address: string, port: number, extra = '') =>
    [
      'sip:',
      `  listen: [udp://${address}:${port}]`,
      '  domain: example.test',
      '  routes: [{ match: "^[0-9]+$", to: "sip:127.0.0.1:5999" }]',
      extra,
      'log: { level: info }',
    ].join('\n');

  it('warns once without a users file on a non-loopback address with gateways, and only then', async () => {
    const exposed = await startSipha(open('0.0.0.0', await freePort('0.0.0.0')));
    const loopback = await startSipha(open('127.0.0.1', await freePort()));
    const secured = await startSipha(open('0.0.0.0', await freePort('0.0.0.0'), '  users_file: u.yaml'), {
      'u.yaml': 'alice: s3cret\n',
    });
    const warnings = (p: SiphaProcess) =>
      p
        .log()
        .split('\n')
        .filter((l) => l.includes('open relay'));
    try {
      assert.equal(warnings(exposed).length, 1, exposed.log());
      assert.match(warnings(exposed)[0] ?? '', /"level":40.*"gateways":\["sip:127\.0\.0\.1:5999"\]/);
      assert.deepEqual(warnings(loopback), []);
      assert.deepEqual(warnings(secured), []);
    } finally {
      await Promise.all([exposed.stop(), loopback.stop(), secured.stop()]);
    }
  });
});
