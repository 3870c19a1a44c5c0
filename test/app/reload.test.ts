// SIGHUP re-reads the config: a user added to the users file can register at once, while what was registered
// before stays; a change that needs a restart (a listen address) is refused, naming the key, and nothing changes.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { digestResponse } from '../../src/server/digest-auth.js';
import type { SipResponse } from '../../src/sip/message.js';
import { type EchoServer, startEchoServer } from '../helpers/echo-server.js';
import { freePort } from '../helpers/ports.js';
import { request, UdpPeer } from '../helpers/sip-peer.js';
import { type SiphaProcess, startSipha } from '../helpers/sipha-process.js';

describe('reload on SIGHUP', () => {
  let port: number;
  let server: SiphaProcess;
  let alice: UdpPeer;
  let bob: UdpPeer;
  const yaml = (p: number) =>
    [
      'sip:',
      `  listen: [udp://127.0.0.1:${p}]`,
      '  domain: example.test',
      '  users_file: users.yaml',
      // Calls from loopback are not challenged (REGISTER still is): the call below needs no digest.
      '  auth: { trusted: [127.0.0.1] }',
      '  warm_up: false',
      'log: { level: info }',
    ].join('\n');

  before(async () => {
    port = await freePort();
    server = await startSipha(yaml(port), { 'users.yaml': 'alice: s3cret\n' });
    alice = await UdpPeer.open();
    bob = await UdpPeer.open();
  });
  after(async () => {
    alice?.close();
    bob?.close();
    await server?.stop();
  });

  /** REGISTER with digest: the challenge, then the answer; the final response. */
  async function register(
    peer: UdpPeer,
    user: string,
    password: string,
    contactPort = peer.port,
  ): Promise<SipResponse> {
    const callId = `reg-${user}-${Math.random()}`;
    const base = (extra: string[]) =>
      request('REGISTER', {
        uri: 'sip:example.test',
        port: peer.port,
        callId,
        extra: [`Contact: <sip:${user}@127.0.0.1:${contactPort}>`, 'Expires: 300', ...extra],
      })
        .replace('From: <sip:tester@127.0.0.1>', `From: <sip:${user}@example.test>`)
        .replace('To: <sip:sipha@127.0.0.1>', `To: <sip:${user}@example.test>`);
    await peer.send(base([]), port);
    const challenge = await peer.nextResponse((r) => r.status === 401);
    const md5 = challenge.headers.getFields('www-authenticate').find((v) => /algorithm=MD5/.test(v)) ?? '';
    const nonce = /nonce="([^"]+)"/.exec(md5)?.[1] ?? '';
    const c = {
      username: user,
      realm: 'example.test',
      nonce,
      uri: 'sip:example.test',
      algorithm: 'MD5' as const,
    };
    const answer = `Digest username="${user}", realm="example.test", nonce="${nonce}", uri="sip:example.test", response="${digestResponse(c, password, 'REGISTER')}", algorithm=MD5`;
    await peer.send(
      base([`Authorization: ${answer}`]).replace(/CSeq: (\d+)/, (_m, n) => `CSeq: ${Number(n) + 1000}`),
      port,
    );
    // The answer's own response (an unknown user is challenged again: 401).
    return peer.nextResponse((r) => r.status !== 100 && r.cseq?.seq !== undefined && r.cseq.seq >= 1000);
  }

  async function reloaded(marker: RegExp): Promise<void> {
    const deadline = Date.now() + 5000;
    while (!marker.test(server.log()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.match(server.log(), marker);
  }

  it('a user added to the users file registers after SIGHUP; alice stays registered', async () => {
    assert.equal((await register(alice, 'alice', 's3cret')).status, 200);
    assert.notEqual((await register(bob, 'bob', 'b0bpass')).status, 200, 'bob is not a user yet');
    writeFileSync(join(server.dir, 'users.yaml'), 'alice: s3cret\nbob: b0bpass\n');
    server.child.kill('SIGHUP');
    await reloaded(/config reloaded/);
    assert.equal((await register(bob, 'bob', 'b0bpass')).status, 200);
    // alice's binding survived the reload: an OPTIONS to her AoR reaches her.
    await bob.send(request('OPTIONS', { uri: 'sip:alice@example.test', port: bob.port }), port);
    const arrived = await alice.next((b) => b.toString('latin1').startsWith('OPTIONS sip:alice@'), 3000);
    assert.ok(arrived.length > 0);
    assert.equal(server.child.exitCode, null);
  });

  it('a listen address change is refused, naming sip.listen, and the server goes on as it was', async () => {
    const other = await freePort();
    writeFileSync(join(server.dir, 'sipha.yaml'), yaml(other));
    server.child.kill('SIGHUP');
    await reloaded(/sip\.listen: changed: needs a restart.*config reload refused/);
    assert.equal((await register(alice, 'alice', 's3cret')).status, 200, 'still serving on the old port');
    writeFileSync(join(server.dir, 'sipha.yaml'), yaml(port));
  });

  it('a call up before a reload is ended by BYE after it', async () => {
    // carol answers every request with 200 (a UA on the real transport layer).
    const carol: EchoServer = await startEchoServer([{ transport: 'udp', address: '127.0.0.1', port: 0 }]);
    const phone = await UdpPeer.open();
    try {
      assert.equal((await register(phone, 'alice', 's3cret', carol.port('udp'))).status, 200);
      const callId = `call-${Math.random()}`;
      const dialog = (method: string, cseq: number, uri: string, extra: string[]) =>
        [
          `${method} ${uri} SIP/2.0`,
          `Via: SIP/2.0/UDP 127.0.0.1:${bob.port};branch=z9hG4bK-${method}-${cseq}-${Math.random().toString(36).slice(2)};rport`,
          'Max-Forwards: 70',
          'From: <sip:bob@example.test>;tag=bob1',
          ...extra,
          `Call-ID: ${callId}`,
          `CSeq: ${cseq} ${method}`,
          `Contact: <sip:bob@127.0.0.1:${bob.port}>`,
          'Content-Length: 0',
          '',
          '',
        ].join('\r\n');
      await bob.send(dialog('INVITE', 1, 'sip:alice@example.test', ['To: <sip:alice@example.test>']), port);
      const ok = await bob.nextResponse((r) => r.status === 200 && r.cseq?.method === 'INVITE', 3000);
      const toTag = ok.to?.tag ?? '';
      // The route set as the callee saw it (our echoing UA does not copy Record-Route into its 200).
      const invite = carol.requests.find((x) => x.request.method === 'INVITE' && x.request.callId === callId);
      const rr = invite?.request.headers.values('record-route') ?? [];
      assert.ok(rr.length > 0, 'sipha record-routes the call');
      const inDialog = (method: string, cseq: number) =>
        dialog(method, cseq, `sip:alice@127.0.0.1:${carol.port('udp')}`, [
          `To: <sip:alice@example.test>;tag=${toTag}`,
          ...[...rr].reverse().map((r) => `Route: ${r}`),
        ]);
      await bob.send(inDialog('ACK', 1), port);
      writeFileSync(join(server.dir, 'users.yaml'), 'alice: s3cret\nbob: b0bpass\ndave: d4ve\n');
      const before = (server.log().match(/config reloaded/g) ?? []).length;
      server.child.kill('SIGHUP');
      const deadline = Date.now() + 5000;
      while ((server.log().match(/config reloaded/g) ?? []).length === before && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 50));
      await bob.send(inDialog('BYE', 2), port);
      const bye = await bob.nextResponse((r) => r.cseq?.method === 'BYE', 3000);
      assert.equal(bye.status, 200);
      assert.ok(carol.requests.some((x) => x.request.method === 'BYE' && x.request.callId === callId));
    } finally {
      phone.close();
      await carol.stop();
    }
  });
});
