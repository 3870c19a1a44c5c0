// A WebRTC agent desktop (SIP.js 0.21 in Chromium, over WSS) on host C, a UDP phone (baresip) on G and a TLS phone
// (baresip) on C register through the VIP and call each other; the pair switches over mid-call, and later the
// primary's node is killed (kill -9) mid-call. Each time the agent's WebSocket ends at the old primary, SIP.js
// reconnects to the VIP and registers again, sipha moves its binding to the new connection, and the call goes on
// (a re-INVITE) and is ended by BYE after the takeover — once from the UDP phone (the BYE reaches the browser over
// its new connection) and once from the browser. Skipped, saying so, without root, baresip or Chromium.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe } from 'node:test';
import { eventually } from '../../src/lab/eventually.js';
import { crashNode } from '../../src/lab/faults.js';
import { settle } from '../../src/lab/settle.js';
import { Baresip } from '../helpers/baresip.js';
import { BrowserPhone, CHROMIUM } from '../helpers/browser-phone.js';
import { skipWithout } from '../helpers/installed.js';
import { makeTestPki } from '../helpers/tls-certs.js';
import { NEEDS_ROOT } from '../lab/helpers.js';
import { pairSuite } from '../lab/pair-suite.js';

const SKIP =
  NEEDS_ROOT ||
  skipWithout('baresip') ||
  skipWithout('openssl') ||
  (existsSync(CHROMIUM) ? false : 'no chromium');
const VIP = '198.51.100.10';

describe('SIP.js over WSS and a UDP phone through the VIP, across a switchover and a kill -9', {
  skip: SKIP,
}, () => {
  const pki = SKIP === false ? makeTestPki() : undefined;
  const cert = pki?.issue('vip', 'sipha.test', [`IP:${VIP}`]);
  const suite = pairSuite({
    extra: {
      sip: {
        listen: [`udp://${VIP}:5060`, `tls://${VIP}:5061`, `wss://${VIP}:8443`],
        domain: 'example.test',
        tls: { cert_file: cert?.cert ?? 'none', key_file: cert?.key ?? 'none' },
      },
    },
  });
  const { step } = suite;
  const dir = mkdtempSync(join(tmpdir(), 'sipha-wss-lab-'));
  let agent: BrowserPhone | undefined;
  let bob: Baresip | undefined;
  let carol: Baresip | undefined;
  after(async () => {
    await agent?.close();
    await bob?.stop();
    await carol?.stop();
    rmSync(dir, { recursive: true, force: true });
    pki?.cleanup();
  });

  const primary = async () => ((await suite.pair.status('a'))?.role === 'primary' ? 'a' : 'b');
  const rebinds = async (h: 'a' | 'b') => {
    const m = await suite.pair.get(h, '/metrics');
    const text = typeof m.body === 'string' ? m.body : '';
    const line = text.split('\n').find((l) => l.startsWith('sipha_sip_flow_rebinds_total'));
    return Number(line?.split(' ').at(-1) ?? 0);
  };

  step(
    'the agent (WSS, Chromium on C), bob (UDP, G) and carol (TLS, C) register through the VIP',
    async () => {
      const lab = suite.lab;
      agent = await BrowserPhone.start({
        wsUrl: `wss://${VIP}:8443`,
        user: 'agent',
        domain: 'example.test',
        wrap: lab.wrap('c'),
        autoAnswer: true,
      });
      await agent.register();
      bob = await Baresip.start({
        home: join(dir, 'bob'),
        user: 'bob',
        proxy: `${VIP}:5060`,
        transport: 'udp',
        answer: 'manual',
        host: { wrap: lab.wrap('g'), address: lab.nic('g').ipv4, sipPort: 5070, consPort: 5555 },
      });
      // libre's TLS transport wants a certificate of its own; it trusts the test CA for the VIP's.
      const phoneCert = pki!.issue('carol', 'carol.test', [`IP:${lab.nic('c').ipv4}`]);
      const certAndKey = join(dir, 'carol.pem');
      writeFileSync(
        certAndKey,
        readFileSync(phoneCert.cert, 'latin1') + readFileSync(phoneCert.key, 'latin1'),
        { mode: 0o600 },
      );
      carol = await Baresip.start({
        home: join(dir, 'carol'),
        user: 'carol',
        proxy: `${VIP}:5061`,
        transport: 'tls',
        tls: { certAndKey, ca: pki!.caCert },
        answer: 'manual',
        host: { wrap: lab.wrap('c'), address: lab.nic('c').ipv4, sipPort: 5080, consPort: 5556 },
      });
    },
  );

  step(
    'carol (TLS) calls the agent (WSS) through the VIP; the agent hangs up and carol hears it',
    async () => {
      const a = agent!;
      const c = carol!;
      await c.command('/dial sip:agent@example.test');
      assert.ok(
        await eventually(async () => (await a.callState()) === 'Established', 10_000, 100),
        'the agent answers',
      );
      await c.waitFor(/Call established/, 5000, 'carol hears the answer over TLS');
      const c0 = c.output.length;
      await a.bye();
      await c.waitFor(
        /session closed|terminated|Call terminated/i,
        5000,
        'the BYE reaches carol over TLS',
        c0,
      );
    },
  );

  step(
    'agent calls bob; switchover mid-call; the agent re-binds on B; bob hangs up and the BYE reaches the browser',
    async () => {
      const a = agent!;
      const b = bob!;
      const calling = a.call('sip:bob@example.test');
      await b.waitFor(/Incoming call|incoming call/i, 5000, 'the INVITE reaches bob');
      await b.command('/accept');
      await calling;
      await a.waitForCallState('Established');
      const before = await a.reconnects();
      const s = await suite.pair.switchover('a');
      assert.ok(s.body.ok, s.body.detail);
      assert.ok(await suite.pair.waitRole('b', 'primary', 5000));
      // The WebSocket ended at A; SIP.js reconnects to the VIP (now B) and registers again.
      assert.ok(
        await eventually(async () => (await a.reconnects()) > before, 10_000, 100),
        `the agent reconnects:\n${(await a.recentLog(40)).join('\n')}`,
      );
      assert.ok(
        await eventually(async () => (await rebinds('b')) >= 1, 10_000, 200),
        'B moved the binding to the new connection',
      );
      // The call goes on through B: the browser re-INVITEs (hold) and bob answers it.
      const b0 = b.output.length;
      assert.equal(await a.reinvite(), 200);
      await b.waitFor(/got re-INVITE/, 5000, 'the re-INVITE from the browser reaches bob through B', b0);
      await b.command('/hangup');
      await a.waitForCallState('Terminated');
    },
  );

  step(
    'bob calls the agent; kill -9 of the primary node mid-call; the agent re-binds on A and hangs up; bob hears the BYE',
    async () => {
      const a = agent!;
      const b = bob!;
      const was = await primary();
      assert.equal(was, 'b');
      await b.command('/dial sip:agent@example.test');
      // carol's call was the agent's first incoming one; this is the second.
      await a.waitForIncoming(2);
      await a.waitForCallState('Established');
      await b.waitFor(/Call established/, 5000, 'bob hears the answer');
      const before = await a.reconnects();
      const fault = crashNode();
      await fault.inject(suite.pair, 'b');
      try {
        assert.ok(await suite.pair.waitRole('a', 'primary', 5000), 'A takes over');
        assert.ok(
          await eventually(async () => (await a.reconnects()) > before, 10_000, 100),
          'the agent reconnects to A',
        );
        assert.ok(
          await eventually(async () => (await rebinds('a')) >= 1, 10_000, 200),
          'A moved the binding',
        );
        const b0 = b.output.length;
        await a.bye();
        await b.waitFor(
          /session closed|terminated|Call terminated/i,
          5000,
          'the BYE from the browser reaches bob through A',
          b0,
        );
      } finally {
        await fault.heal(suite.pair, 'b');
      }
    },
  );

  step(
    'a forced switchover (no drain): the old primary still ends the connections before the VIP goes, and the agent re-binds on B',
    async () => {
      const a = agent!;
      // B restarted after its kill: settled means its worker listens and its replica is synced, so that what is
      // measured is the old primary's handover, not the new one's start.
      await settle(suite.pair, { primary: 'a', timeoutMs: 20_000 });
      const before = await a.reconnects();
      const s = await suite.pair.switchover('a', true);
      assert.ok(s.body.ok, s.body.detail);
      assert.ok(await suite.pair.waitRole('b', 'primary', 5000));
      assert.ok(
        await eventually(async () => (await a.reconnects()) > before, 10_000, 100),
        `the agent reconnects to B:\n${(await a.recentLog(25)).join('\n')}`,
      );
      assert.ok(await eventually(async () => (await rebinds('b')) >= 1, 10_000, 200), 'B moved the binding');
      assert.equal(await a.registrationState(), 'Registered');
    },
  );
});
