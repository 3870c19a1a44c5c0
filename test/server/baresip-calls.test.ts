// Two real phones (Debian's baresip 1.0) registered with `sipha start` call each other through it: a UDP phone and a
// TCP phone (the call crosses transports), hold and resume by re-INVITE, hangup from either side, CANCEL before the
// answer — with and without digest authentication. Skipped, saying so, when baresip is not installed.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Baresip } from '../helpers/baresip.js';
import { skipWithout } from '../helpers/installed.js';
import { freePort } from '../helpers/ports.js';
import { UdpPeer } from '../helpers/sip-peer.js';
import { type SiphaProcess, startSipha } from '../helpers/sipha-process.js';

const SKIP = skipWithout('baresip');
const USERS = 'users:\n  - { username: alice, password: s3cret }\n  - { username: bob, password: b0b }\n';

for (const auth of [false, true]) {
  describe(`baresip phones call each other through sipha (${auth ? 'digest auth' : 'open'})`, {
    skip: SKIP,
    timeout: 90_000,
  }, () => {
    let server: SiphaProcess;
    let port: number;
    let alice: Baresip;
    let bob: Baresip;
    const dir = mkdtempSync(join(tmpdir(), 'sipha-baresip-'));

    before(async () => {
      port = await freePort();
      server = await startSipha(
        [
          'sip:',
          `  listen: [udp://127.0.0.1:${port}, tcp://127.0.0.1:${port}]`,
          '  domain: example.test',
          ...(auth ? ['  users_file: users.yaml'] : []),
          'log: { level: info }',
          '',
        ].join('\n'),
        auth ? { 'users.yaml': USERS } : {},
      );
      const proxy = `127.0.0.1:${port}`;
      alice = await Baresip.start({
        home: join(dir, 'alice'),
        user: 'alice',
        proxy,
        transport: 'udp',
        ...(auth ? { password: 's3cret' } : {}),
      });
      bob = await Baresip.start({
        home: join(dir, 'bob'),
        user: 'bob',
        proxy,
        transport: 'tcp',
        ...(auth ? { password: 'b0b' } : {}),
      });
    });

    after(async () => {
      await Promise.all([alice?.stop(), bob?.stop()]);
      await server?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    it('UDP calls TCP: answered, held and resumed by re-INVITE, hung up by the callee', async () => {
      const a0 = alice.output.length;
      const b0 = bob.output.length;
      await alice.command('/dial sip:bob@example.test');
      await bob.waitFor(/Incoming call|incoming call/i, 5000, 'the INVITE reaches bob over TCP', b0);
      await bob.command('/accept');
      await alice.waitFor(/Call established/, 5000, 'alice hears the answer', a0);
      await bob.waitFor(/Call established/, 5000, 'bob gets the ACK', b0);
      await alice.command('/hold');
      await bob.waitFor(/got re-INVITE/, 5000, 'hold reaches bob', b0);
      const held = bob.output.length;
      await alice.command('/resume');
      await bob.waitFor(/got re-INVITE/, 5000, 'resume reaches bob', held);
      await bob.command('/hangup');
      await alice.waitFor(/session closed|terminated/, 5000, 'the BYE reaches alice over UDP', a0);
      await bob.waitFor(/terminate call|session closed|terminated/, 5000, 'bob ends its call', b0);
    });

    it('TCP calls UDP and the caller hangs up', async () => {
      const a0 = alice.output.length;
      const b0 = bob.output.length;
      await bob.command('/dial sip:alice@example.test');
      await alice.waitFor(/Incoming call|incoming call/i, 5000, 'the INVITE reaches alice', a0);
      await alice.command('/accept');
      await bob.waitFor(/Call established/, 5000, 'bob hears the answer', b0);
      await bob.command('/hangup');
      await alice.waitFor(/session closed|terminated/, 5000, 'the BYE reaches alice', a0);
    });

    it('CANCEL before the answer: the callee stops ringing, the call never starts', async () => {
      const a0 = alice.output.length;
      const b0 = bob.output.length;
      await alice.command('/dial sip:bob@example.test');
      await bob.waitFor(/Incoming call|incoming call/i, 5000, 'bob rings', b0);
      await alice.command('/hangup');
      await bob.waitFor(/terminated|closed|Request Terminated|cancel/i, 5000, 'the CANCEL reaches bob', b0);
      assert.doesNotMatch(alice.output.slice(a0), /Call established/);
      assert.doesNotMatch(bob.output.slice(b0), /Call established/);
    });

    it('a MESSAGE from outside the domain reaches the TCP phone and its 200 comes back', async () => {
      const peer = await UdpPeer.open();
      const text = `hello from outside ${auth ? 'with auth on' : ''}`.trim();
      try {
        await peer.send(
          [
            'MESSAGE sip:bob@example.test SIP/2.0',
            `Via: SIP/2.0/UDP 127.0.0.1:${peer.port};branch=z9hG4bK-msg-${auth};rport`,
            'Max-Forwards: 70',
            'From: <sip:carol@outside.example>;tag=m1',
            'To: <sip:bob@example.test>',
            `Call-ID: msg-${auth}@outside.example`,
            'CSeq: 1 MESSAGE',
            'Content-Type: text/plain',
            `Content-Length: ${text.length}`,
            '',
            text,
          ].join('\r\n'),
          port,
        );
        // The proxy answers no MESSAGE for a user itself: a 200 with a To tag is bob's, through sipha over TCP.
        const res = await peer.nextResponse((r) => r.status >= 200, 5000);
        assert.equal(res.status, 200, `${res.status} ${res.reason}`);
        assert.ok(res.to?.tag !== undefined, 'answered by the phone');
      } finally {
        peer.close();
      }
    });
  });
}
