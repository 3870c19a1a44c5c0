// A pair whose nodes each run two SIP workers (sip.workers: 2) in the lab: registrations made through the VIP land on
// both of A's workers (their Call-IDs are random), both workers and the backup end up with all of them, and a
// switchover and then kill -9 of the primary lose none: every user is callable through the new primary, whichever of
// its workers handles the call. SIPp on C is the phones (a UAS answering for every user) and the callers.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SiblingStatus, SipCounters } from '../../src/ha/worker-ipc.js';
import { crashNode } from '../../src/lab/faults.js';
import type { Host, Pair } from '../../src/lab/pair.js';
import { clientSipp, type SippRun, writeInjection } from '../../src/lab/sipp.js';
import { NEEDS_ROOT } from '../lab/helpers.js';
import { pairSuite } from '../lab/pair-suite.js';

const USERS = 300;
const UAS_PORT = 7000;

describe('a pair with two SIP workers per node: nothing lost across takeovers', { skip: NEEDS_ROOT }, () => {
  const suite = pairSuite({ logLevel: 'info', sip: { workers: 2 } });
  const { step } = suite;
  let pair: Pair;
  let uas: SippRun;
  let nextPort = 7100;

  const csv = (name: string, from: number, to: number) =>
    writeInjection(
      join(pair.dir, name),
      Array.from({ length: to - from }, (_, i) => `user${from + i};${UAS_PORT}`),
    );

  const registerAll = (inf: string, calls: number) =>
    clientSipp(
      suite.lab,
      {
        scenario: 'register.xml',
        inf,
        rate: 200,
        calls,
        limit: 200,
        port: nextPort++,
        maxNonInviteRetrans: 6,
      },
      60_000,
    );

  async function callSample(users: number[]): Promise<string[]> {
    const failures: string[] = [];
    for (const u of users) {
      const r = await clientSipp(
        suite.lab,
        { scenario: 'uac-call.xml', service: `user${u}`, calls: 1, port: nextPort++, timeoutS: 20 },
        40_000,
      ).result;
      if (r.successful !== 1) failures.push(`user${u}: ${r.errors.slice(0, 300)}`);
    }
    return failures;
  }

  async function workers(h: Host): Promise<SiblingStatus[]> {
    // The management API's status carries the SIP workers' counters beside the node's own status.
    const s = (await pair.status(h)) as { sip?: SipCounters | null } | undefined;
    return s?.sip?.workers ?? [];
  }

  /** Both workers of host h hold `n` bindings (each has every registration). */
  async function everyWorkerHolds(h: Host, n: number, timeoutMs = 5000): Promise<SiblingStatus[]> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const w = await workers(h);
      if (w.length === 2 && w.every((x) => x.bindings === n)) return w;
      if (Date.now() > end)
        assert.fail(`${h}'s workers hold ${JSON.stringify(w.map((x) => x.bindings))}, not ${n}`);
      await sleep(200);
    }
  }

  before(() => {
    pair = suite.pair;
    uas = clientSipp(
      suite.lab,
      { uas: true, scenario: 'uas-call.xml', port: UAS_PORT, calls: 100_000, timeoutS: 600 },
      600_000,
    );
  });

  after(() => {
    uas?.kill();
  });

  step(
    `${USERS} users register through the VIP on A: both of its workers and both of B's hold them all`,
    async () => {
      const r = await registerAll(csv('users.csv', 0, USERS), USERS).result;
      assert.equal(r.successful, USERS, r.errors);
      const a = await everyWorkerHolds('a', USERS);
      // The kernel handed datagrams to both workers, and each passed on what was the other's.
      for (const w of a) {
        assert.ok(w.messagesIn > 0, `A's worker ${w.index} handled nothing`);
        assert.ok(
          w.steeredOut > 0 && w.steeredIn > 0,
          `A's worker ${w.index} steered nothing: ${JSON.stringify(w)}`,
        );
      }
      await everyWorkerHolds('b', USERS);
    },
  );

  step('a switchover to B: every user is callable through B, through either of its workers', async () => {
    const s = await pair.switchover('a');
    assert.ok(s.body.ok, s.body.detail);
    assert.ok(await pair.waitRole('b', 'primary', 5000));
    const sample = Array.from({ length: 16 }, (_, i) => Math.floor((i * (USERS - 1)) / 15));
    assert.deepEqual(await callSample(sample), []);
  });

  step(
    'more users register through B; kill -9 of B: A serves everyone registered through either node',
    async () => {
      assert.ok(await pair.waitRole('a', 'backup', 10_000));
      const r = await registerAll(csv('more.csv', USERS, USERS + 100), 100).result;
      assert.equal(r.successful, 100, r.errors);
      await everyWorkerHolds('a', USERS + 100);
      await crashNode().inject(pair, 'b');
      assert.ok(await pair.waitRole('a', 'primary', 5000), 'A takes over');
      await pair.releaseVip('b');
      const sample = [0, USERS - 1, ...Array.from({ length: 10 }, (_, i) => USERS + i * 10)];
      assert.deepEqual(await callSample(sample), []);
      await crashNode().heal(pair, 'b');
    },
  );
});
