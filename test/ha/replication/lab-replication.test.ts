// Issue 6 in the lab: 2,000 users registered through the VIP stay reachable after kill -9 of the primary node,
// a call established before the failover is ended by a BYE after it, and switchovers back and forth under steady
// REGISTER load lose nothing. SIPp on C is the phones (a UAS answering for every registered user) and the callers.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Lab } from '../../../src/lab/lab.js';
import { type Host, Pair } from '../../../src/lab/pair.js';
import { SCENARIOS, type SippRun, sipp } from '../../../src/lab/sipp.js';
import { eventually, NEEDS_ROOT } from '../../lab/helpers.js';

const USERS = 2000;
const UAS_PORT = 7000;

describe('replication in the lab: registrations and calls survive takeovers', { skip: NEEDS_ROOT }, () => {
  let lab: Lab;
  let pair: Pair;
  let uas: SippRun;
  let failed = false;
  let nextPort = 7100;
  const step = (name: string, fn: () => Promise<void>) =>
    it(name, async () => {
      try {
        await fn();
      } catch (err) {
        failed = true;
        throw err;
      }
    });

  const vip = () => `${lab.topology.vip.ipv4}:5060`;

  function csv(name: string, from: number, to: number): string {
    const rows: string[] = [];
    for (let i = from; i < to; i++) rows.push(`user${i};${UAS_PORT}`);
    const file = join(pair.dir, name);
    writeFileSync(file, `SEQUENTIAL\n${rows.join('\n')}\n`);
    return file;
  }

  function registerAll(file: string, calls: number, rate: number): SippRun {
    return sipp(
      [
        vip(),
        '-sf',
        join(SCENARIOS, 'register.xml'),
        '-inf',
        file,
        '-i',
        lab.nic('c').ipv4,
        '-r',
        String(rate),
      ].concat(['-m', String(calls), '-l', '500', '-p', String(nextPort++), '-max_non_invite_retrans', '6']),
      { wrap: lab.wrap('c'), timeoutMs: 120_000 },
    );
  }

  function call(user: string, pauseMs = 0): SippRun {
    return sipp(
      [vip(), '-sf', join(SCENARIOS, 'uac-call.xml'), '-s', user, '-d', String(pauseMs), '-m', '1'].concat([
        '-i',
        lab.nic('c').ipv4,
        '-p',
        String(nextPort++),
        '-timeout',
        '30',
      ]),
      { wrap: lab.wrap('c'), timeoutMs: 60_000 },
    );
  }

  async function callSample(users: number[]): Promise<string[]> {
    const failures: string[] = [];
    for (const u of users) {
      const r = await call(`user${u}`).result;
      if (r.successful !== 1) failures.push(`user${u}: ${r.errors.slice(0, 300)}`);
    }
    return failures;
  }

  async function primary(): Promise<Host | undefined> {
    for (const h of ['a', 'b'] as const) if ((await pair.status(h))?.role === 'primary') return h;
    return undefined;
  }

  before(async () => {
    lab = await Lab.create({ twoNic: true, ipv6: false });
    pair = await Pair.create(lab, { logLevel: 'info' });
    pair.start('a');
    pair.start('b');
    const ok = await eventually(
      async () => (await pair.status('a'))?.role === 'primary' && (await pair.status('b'))?.role === 'backup',
      20_000,
      100,
    );
    if (!ok) {
      failed = true;
      throw new Error(`pair did not settle; logs in ${pair.dir}`);
    }
    // The phones: one SIPp UAS on C answers for every user (all register Contact C:7000).
    uas = sipp(
      [
        '-sf',
        join(SCENARIOS, 'uas-call.xml'),
        '-i',
        lab.nic('c').ipv4,
        '-p',
        String(UAS_PORT),
        '-m',
        '100000',
        '-timeout',
        '600',
      ],
      { wrap: lab.wrap('c'), timeoutMs: 600_000 },
    );
  });

  after(async () => {
    uas?.kill();
    await pair?.stop();
    await lab?.destroy();
    const keep = failed || process.env.SIPHA_KEEP_LOGS !== undefined;
    if (keep) process.stderr.write(`node logs kept in ${pair?.dir}\n`);
    await pair?.cleanup(keep);
  });

  step(`${USERS} users register through the VIP on A`, async () => {
    const r = await registerAll(csv('users.csv', 0, USERS), USERS, 400).result;
    assert.equal(r.successful, USERS, r.errors);
    assert.equal(r.failed, 0);
    // Replication lag is milliseconds; leave the backup a moment to apply the tail of the stream.
    await sleep(500);
  });

  step(
    'kill -9 of primary A mid-call: B serves every user without re-registration, the call ends by BYE',
    async () => {
      const long = call('user0', 4000);
      await sleep(1500);
      const pid = pair.procs.a?.pid;
      assert.ok(typeof pid === 'number');
      process.kill(pid, 'SIGKILL');
      assert.ok(await pair.waitRole('b', 'primary', 5000), 'B takes over');
      // systemd's ExecStopPost on A.
      await lab.exec('a', [
        process.execPath,
        'dist/src/cli/main.js',
        'vip',
        'release',
        '--config',
        pair.config('a'),
      ]);
      const r = await long.result;
      assert.equal(r.successful, 1, `call across the failover: ${r.errors}`);
      const sample = Array.from({ length: 25 }, (_, i) => Math.floor((i * (USERS - 1)) / 24));
      const failures = await callSample(sample);
      assert.deepEqual(failures, [], 'calls to users registered through the old primary');
    },
  );

  step('A rejoins as backup and is synced from B (its snapshot)', async () => {
    pair.start('a');
    assert.ok(await pair.waitRole('a', 'backup', 20_000));
    await sleep(2000);
  });

  step('switchovers back and forth under steady REGISTER load lose nothing', async () => {
    const load = registerAll(csv('more.csv', USERS, USERS + 1500), 1500, 100);
    for (let i = 0; i < 4; i++) {
      await sleep(2500);
      const p = await primary();
      assert.ok(p, 'a primary');
      const other: Host = p === 'a' ? 'b' : 'a';
      const s = await pair.switchover(p);
      assert.ok(s.body.ok, `switchover ${i + 1} from ${p}: ${s.body.detail}`);
      assert.ok(await pair.waitRole(other, 'primary', 5000), `switchover ${i + 1}: ${other} primary`);
      assert.ok(await pair.waitRole(p, 'backup', 5000));
    }
    const r = await load.result;
    assert.equal(r.failed, 0, r.errors);
    assert.equal(r.successful, 1500);
    await sleep(1000);
    // Users registered before and during the switchovers, through whichever node was primary then.
    const sample = [0, 999, 1999, ...Array.from({ length: 25 }, (_, i) => USERS + i * 60)];
    assert.deepEqual(await callSample(sample), []);
  });
});
