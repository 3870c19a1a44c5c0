// Issue 5 end to end in the lab: two `sipha start` nodes on A and B, SIPp on C sending OPTIONS and REGISTER
// through the VIP at a steady rate during each workflow. After each: service resumed, exactly one host holds the
// VIP (read in both namespaces), the timeline is recorded. Manual switchover must cost SIPp 0 failed transactions.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Lab } from '../../src/lab/lab.js';
import { sipp } from '../../src/lab/sipp.js';
import { eventually, NEEDS_ROOT } from '../lab/helpers.js';
import { type Host, Pair } from './pair.js';

const SCENARIO = join(process.cwd(), 'test', 'ha', 'sipp', 'options-register.xml');
const RATE = 40; // calls (OPTIONS + REGISTER) per second

describe('HA workflows end to end (SIPp through the VIP)', { skip: NEEDS_ROOT }, () => {
  let lab: Lab;
  let pair: Pair;
  let failed = false;
  /** it() that marks the run failed, so that the node logs are kept for reading. */
  const step = (name: string, fn: () => Promise<void>) =>
    it(name, async () => {
      try {
        await fn();
      } catch (err) {
        failed = true;
        throw err;
      }
    });

  before(async () => {
    lab = await Lab.create({ twoNic: true, ipv6: false });
    pair = await Pair.create(lab);
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
  });

  after(async () => {
    await pair?.stop();
    await lab?.destroy();
    if (failed) process.stderr.write(`node logs kept in ${pair?.dir}\n`);
    await pair?.cleanup(failed);
  });

  /** SIPp from C at RATE calls/s for `calls` calls. */
  function traffic(calls: number) {
    return sipp(
      [
        `${lab.topology.vip.ipv4}:5060`,
        '-sf',
        SCENARIO,
        '-i',
        lab.nic('c').ipv4,
        '-r',
        String(RATE),
        '-m',
        String(calls),
        '-l',
        '200',
        // Non-INVITE retransmissions (T1 doubling): enough for a takeover, never a silent pass.
        '-max_non_invite_retrans',
        '6',
      ],
      { wrap: lab.wrap('c'), timeoutMs: 120_000 },
    );
  }

  async function exactlyOneHolder(expected: Host): Promise<void> {
    assert.ok(
      await eventually(async () => (await pair.holders()).join() === expected, 5000, 50),
      `VIP holders: ${(await pair.holders()).join() || 'none'}`,
    );
    // And it stays so.
    await sleep(500);
    assert.deepEqual(await pair.holders(), [expected]);
  }

  async function served(): Promise<void> {
    const r = await traffic(10).result;
    assert.equal(r.failed, 0, r.errors);
    assert.equal(r.successful, 10);
  }

  step('starts with A primary (higher priority), B a hot backup; SIPp is served', async () => {
    await exactlyOneHolder('a');
    const a = await pair.status('a');
    const b = await pair.status('b');
    assert.equal(a?.term, 1);
    assert.equal(b?.peer.role, 'primary');
    assert.deepEqual(
      b?.peer.link.paths.map((p) => p.alive),
      [true, true],
      'the peer is heard on both paths',
    );
    assert.equal(a?.witnesses.state, 'reachable');
    await served();
  });

  step('manual switchover through the API of the backup: 0 failed SIPp transactions', async () => {
    const run = traffic(RATE * 5);
    await sleep(1500);
    const reply = await pair.switchover('b');
    assert.equal(reply.exitCode, 0, JSON.stringify(reply.body));
    assert.equal(reply.body.primary, 'b');
    assert.equal(reply.body.term, 2);
    const r = await run.result;
    assert.equal(r.failed, 0, `SIPp failures during a manual switchover: ${r.errors}`);
    assert.equal(r.successful, RATE * 5);
    await exactlyOneHolder('b');
    const tl = (await pair.status('b'))?.timelines.at(-1);
    assert.equal(tl?.cause, 'switchover');
    assert.ok(tl?.vipRemovedAt && tl.vipAddedAt && tl.announcedAt && tl.firstServedAt, JSON.stringify(tl));
    assert.ok(tl.vipRemovedAt <= tl.vipAddedAt, 'removed on A before added on B');
    process.stdout.write(
      `# manual switchover: VIP gap ${tl.vipAddedAt - tl.vipRemovedAt} ms, detect→served ${tl.durationMs} ms, ${r.retransmissions} retransmissions\n`,
    );
    assert.equal((await pair.status('a'))?.role, 'backup', 'the old primary rejoins as backup');
  });

  step('sipha switchover (CLI) on the primary hands the VIP back', async () => {
    const out = await lab.exec('b', [
      process.execPath,
      'dist/src/cli/main.js',
      'switchover',
      '--config',
      pair.config('b'),
    ]);
    assert.match(out.stdout, /switchover done: a is primary in term 3/);
    await exactlyOneHolder('a');
    const st = await lab.exec('a', [
      process.execPath,
      'dist/src/cli/main.js',
      'status',
      '--json',
      '--config',
      pair.config('a'),
    ]);
    const s = JSON.parse(st.stdout) as { role: string; term: number };
    assert.equal(s.role, 'primary');
    assert.equal(s.term, 3);
  });
});
