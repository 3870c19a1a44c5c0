// Phones behind NAT, end to end: the lab's phone P sits on a private LAN behind N's nftables masquerade and
// registers through the VIP; C (on the SIP subnet) calls it and it calls C, over UDP and TCP, and the UDP phone is
// still reachable after a switchover (its flow is replicated; its NAT mapping points at the VIP, which moved).
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { describe } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { runSipp, type SippRun } from '../../src/lab/sipp.js';
import { NEEDS_ROOT } from '../lab/helpers.js';
import { pairSuite } from '../lab/pair-suite.js';

const VIP_IP = '198.51.100.10';
const VIP = `${VIP_IP}:5060`;
const PHONE = join(dirname(fileURLToPath(import.meta.url)), '..', 'helpers', 'nat-phone.js');

describe('phones behind NAT through the pair', { skip: NEEDS_ROOT }, () => {
  const suite = pairSuite({
    lab: { nat: true },
    logLevel: process.env.NAT_LAB_LOG ?? 'info',
    extra: { sip: { listen: [`udp://${VIP}`, `tcp://${VIP}`], domain: 'example.test' } },
  });
  const { step } = suite;

  /** A phone (test/helpers/nat-phone.ts) on `host`: registers `user` over `transport`, answers one call. */
  function phone(host: 'p' | 'c', user: string, transport: 'udp' | 'tcp', port: number) {
    const lab = suite.lab;
    const argv = [process.execPath, PHONE, transport, lab.nic(host).ipv4, String(port), VIP_IP, '5060', user];
    const child = lab.spawn(host, argv);
    let out = '';
    let err = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    return {
      registered: async () => {
        for (let i = 0; i < 100 && !out.includes('registered'); i++) await sleep(50);
        assert.match(out, /registered/, `${user} did not register: ${err}`);
      },
      done: async () => {
        const code = await exited;
        assert.equal(code, 0, `${user}: ${err} (${out.replace(/\n/g, ' ')})`);
        assert.match(out, /acked[\s\S]*call ended/);
      },
    };
  }

  /** One call from `host` to `user`@example.test, hung up by the caller. */
  const call = (host: 'c' | 'p', user: string, port: number): SippRun =>
    runSipp(
      {
        scenario: 'uac-call.xml',
        to: VIP,
        ip: suite.lab.nic(host).ipv4,
        port,
        service: user,
        calls: 1,
        holdMs: 200,
        timeoutS: 15,
      },
      { wrap: suite.lab.wrap(host), timeoutMs: 20_000 },
    );

  async function ok(run: SippRun, what: string): Promise<void> {
    const r = await run.result;
    assert.equal(r.failed, 0, `${what}: ${r.errors}`);
    assert.equal(r.successful, 1, `${what}: exit ${r.exitCode} ${r.errors} ${r.stderr.slice(-500)}`);
  }

  step(
    'a UDP phone behind NAT is called from outside: INVITE, ACK and the caller’s BYE reach it',
    async () => {
      const p = phone('p', 'natphone', 'udp', 5060);
      await p.registered();
      await ok(call('c', 'natphone', 5070), 'caller C');
      await p.done();
    },
  );

  step('the phone behind NAT calls out and hangs up', async () => {
    const c = phone('c', 'agent', 'udp', 5080);
    await c.registered();
    await ok(call('p', 'agent', 5062), 'caller P');
    await c.done();
  });

  step('a TCP phone behind NAT is called over the connection it registered on', async () => {
    const p = phone('p', 'tcpphone', 'tcp', 5064);
    await p.registered();
    await ok(call('c', 'tcpphone', 5072), 'caller C');
    await p.done();
  });

  step(
    'after a switchover the UDP phone registered before it is still reached (its flow was replicated)',
    async () => {
      const p = phone('p', 'natphone2', 'udp', 5066);
      await p.registered();
      await suite.fx.resettle({ primary: 'a' });
      const s = await suite.pair.switchover('a');
      assert.ok(s.body.ok, s.body.detail);
      assert.ok(await suite.pair.waitRole('b', 'primary', 5000));
      await ok(call('c', 'natphone2', 5074), 'caller C after the switchover');
      await p.done();
    },
  );
});
