// Replication in the lab: 2,000 users registered through the VIP stay reachable after kill -9 of the primary node,
// a call established before the failover is ended by a BYE after it, and switchovers back and forth under steady
// REGISTER load lose nothing. SIPp on C is the phones (a UAS answering for every registered user) and the callers.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { crashNode } from '../../../src/lab/faults.js';
import { HOSTS, type Host, other, type Pair } from '../../../src/lab/pair.js';
import { clientSipp, type SippRun, writeInjection } from '../../../src/lab/sipp.js';
import { NEEDS_ROOT } from '../../lab/helpers.js';
import { pairSuite } from '../../lab/pair-suite.js';

const USERS = 2000;
const UAS_PORT = 7000;

describe('replication in the lab: registrations and calls survive takeovers', { skip: NEEDS_ROOT }, () => {
  const suite = pairSuite({ logLevel: 'info' });
  const { step } = suite;
  let pair: Pair;
  let uas: SippRun;
  let nextPort = 7100;

  function csv(name: string, from: number, to: number): string {
    const rows: string[] = [];
    for (let i = from; i < to; i++) rows.push(`user${i};${UAS_PORT}`);
    return writeInjection(join(pair.dir, name), rows);
  }

  function registerAll(inf: string, calls: number, rate: number): SippRun {
    return clientSipp(
      suite.lab,
      {
        scenario: 'register.xml',
        inf,
        rate,
        calls,
        limit: 500,
        port: nextPort++,
        maxNonInviteRetrans: 6,
      },
      120_000,
    );
  }

  function call(user: string, pauseMs = 0): SippRun {
    return clientSipp(
      suite.lab,
      { scenario: 'uac-call.xml', service: user, holdMs: pauseMs, calls: 1, port: nextPort++, timeoutS: 30 },
      60_000,
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
    for (const h of HOSTS) if ((await pair.status(h))?.role === 'primary') return h;
    return undefined;
  }

  before(() => {
    pair = suite.pair;
    // The phones: one SIPp UAS on C answers for every user (all register Contact C:7000).
    uas = clientSipp(
      suite.lab,
      { uas: true, scenario: 'uas-call.xml', port: UAS_PORT, calls: 100_000, timeoutS: 600 },
      600_000,
    );
  });

  after(() => {
    uas?.kill();
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
      await crashNode().inject(pair, 'a');
      assert.ok(await pair.waitRole('b', 'primary', 5000), 'B takes over');
      // systemd's ExecStopPost on A.
      const released = await pair.releaseVip('a');
      assert.equal(released.exitCode, 0, released.stderr);
      const r = await long.result;
      assert.equal(r.successful, 1, `call across the failover: ${r.errors}`);
      const sample = Array.from({ length: 25 }, (_, i) => Math.floor((i * (USERS - 1)) / 24));
      const failures = await callSample(sample);
      assert.deepEqual(failures, [], 'calls to users registered through the old primary');
    },
  );

  step('A rejoins as backup and is synced from B (its snapshot)', async () => {
    await crashNode().heal(pair, 'a');
    assert.ok(await pair.waitRole('a', 'backup', 20_000));
    await suite.fx.resettle({ primary: 'b', timeoutMs: 20_000 });
  });

  step('switchovers back and forth under steady REGISTER load lose nothing', async () => {
    const load = registerAll(csv('more.csv', USERS, USERS + 1500), 1500, 100);
    for (let i = 0; i < 4; i++) {
      await sleep(2500);
      const p = await primary();
      assert.ok(p, 'a primary');
      const s = await pair.switchover(p);
      assert.ok(s.body.ok, `switchover ${i + 1} from ${p}: ${s.body.detail}`);
      assert.ok(await pair.waitRole(other(p), 'primary', 5000), `switchover ${i + 1}: ${other(p)} primary`);
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
