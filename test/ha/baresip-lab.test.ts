// Two real phones (baresip) on the lab's SIP subnet register through the VIP and call each other; the pair
// switches over mid-call, and the call goes on through the new primary: hold and resume by re-INVITE, then the
// callee hangs up. Skipped, saying so, without root or without baresip.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe } from 'node:test';
import { Baresip } from '../helpers/baresip.js';
import { skipWithout } from '../helpers/installed.js';
import { NEEDS_ROOT } from '../lab/helpers.js';
import { pairSuite } from '../lab/pair-suite.js';

const SKIP = NEEDS_ROOT || skipWithout('baresip');
const VIP = '198.51.100.10:5060';

describe('baresip phones through the VIP, across a switchover', { skip: SKIP }, () => {
  const suite = pairSuite({
    extra: { sip: { listen: [`udp://${VIP}`, `tcp://${VIP}`], domain: 'example.test' } },
  });
  const { step } = suite;
  const dir = mkdtempSync(join(tmpdir(), 'sipha-baresip-lab-'));
  const phones: Baresip[] = [];
  after(async () => {
    await Promise.all(phones.map((p) => p.stop()));
    rmSync(dir, { recursive: true, force: true });
  });

  const phone = async (user: string, host: 'c' | 'g') => {
    const lab = suite.lab;
    const p = await Baresip.start({
      home: join(dir, user),
      user,
      proxy: VIP,
      transport: 'udp',
      host: { wrap: lab.wrap(host), address: lab.nic(host).ipv4, sipPort: 5070, consPort: 5555 },
    });
    phones.push(p);
    return p;
  };

  step(
    'a call through the primary survives a switchover: re-INVITEs and the BYE go through the new primary',
    async () => {
      const alice = await phone('alice', 'c');
      const bob = await phone('bob', 'g');
      await alice.command('/dial sip:bob@example.test');
      await bob.waitFor(/Incoming call|incoming call/i, 5000, 'the INVITE reaches bob');
      await bob.command('/accept');
      await alice.waitFor(/Call established/, 5000, 'alice hears the answer');
      await bob.waitFor(/Call established/, 5000, 'bob gets the ACK');

      const s = await suite.pair.switchover('a');
      assert.ok(s.body.ok, s.body.detail);
      assert.ok(await suite.pair.waitRole('b', 'primary', 5000));

      const b0 = bob.output.length;
      await alice.command('/hold');
      await bob.waitFor(/got re-INVITE/, 5000, 'hold reaches bob through B', b0);
      const held = bob.output.length;
      await alice.command('/resume');
      await bob.waitFor(/got re-INVITE/, 5000, 'resume reaches bob through B', held);
      const a0 = alice.output.length;
      await bob.command('/hangup');
      await alice.waitFor(/session closed|terminated/, 5000, 'the BYE reaches alice through B', a0);
    },
  );
});
