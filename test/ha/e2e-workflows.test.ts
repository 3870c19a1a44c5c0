// HA workflows end to end in the lab: two `sipha start` nodes on A and B, SIPp on C sending OPTIONS and REGISTER
// through the VIP at a steady rate during each workflow. After each: service resumed, exactly one host holds the
// VIP (read in both namespaces), the timeline is recorded. Manual switchover must cost SIPp 0 failed transactions.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { before, describe } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { crashNode, crashWorker, freeze } from '../../src/lab/faults.js';
import type { Lab } from '../../src/lab/lab.js';
import { clientSipp, OPTIONS_REGISTER } from '../../src/lab/sipp.js';
import { eventually, NEEDS_ROOT } from '../lab/helpers.js';
import { pairSuite } from '../lab/pair-suite.js';
import { CLI, type Host, type Pair } from './pair.js';

/** How many threads of a process run at each nice value (/proc/PID/task/TID/stat, field 19). */
function threadNices(pid: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    const nice = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16] ?? '?';
    out[nice] = (out[nice] ?? 0) + 1;
  }
  return out;
}

const RATE = 40; // calls (OPTIONS + REGISTER) per second
/** The node alone stops; its SIP worker goes on (and keeps the VIP it holds). */
const freezeNode = freeze({ worker: false });
/** The whole host stopped (a paused VM): the node and its SIP worker. */
const freezeHost = freeze();

describe('HA workflows end to end (SIPp through the VIP)', { skip: NEEDS_ROOT }, () => {
  const suite = pairSuite();
  const { step } = suite;
  let lab: Lab;
  let pair: Pair;
  before(() => {
    ({ lab, pair } = suite);
  });

  /** SIPp from C at RATE calls/s for `calls` calls. */
  function traffic(calls: number) {
    return clientSipp(
      lab,
      {
        scenario: OPTIONS_REGISTER,
        rate: RATE,
        calls,
        limit: 200,
        // Non-INVITE retransmissions (T1 doubling): enough for a takeover, never a silent pass.
        maxNonInviteRetrans: 6,
      },
      120_000,
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

  step(
    'each node runs above its SIP worker: every node thread at nice -10, every worker thread at 0',
    async () => {
      for (const h of ['a', 'b'] as const) {
        const node = pair.pid(h);
        const worker = (await pair.status(h))?.worker.pid;
        assert.ok(node !== undefined && typeof worker === 'number');
        assert.deepEqual(Object.keys(threadNices(node)), ['-10'], `${h}'s node threads`);
        assert.deepEqual(Object.keys(threadNices(worker)), ['0'], `${h}'s worker threads`);
      }
    },
  );

  step('manual switchover through the API of the backup: 0 failed SIPp transactions', async () => {
    const run = traffic(RATE * 5);
    await sleep(1500);
    const reply = await pair.switchover('b');
    assert.equal(reply.ok, true, JSON.stringify(reply.body));
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
    // The CLI itself, run inside the host as an operator would.
    const sipha = (h: Host, ...args: string[]) =>
      lab.exec(h, [process.execPath, CLI, ...args, '--config', pair.config(h)]);
    const out = await sipha('b', 'switchover');
    assert.match(out.stdout, /switchover done: a is primary in term 3/);
    await exactlyOneHolder('a');
    const st = await sipha('a', 'status', '--json');
    const s = JSON.parse(st.stdout) as { role: string; term: number };
    assert.equal(s.role, 'primary');
    assert.equal(s.term, 3);
  });

  function alive(pid: number): boolean {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  }

  step(
    'worker crash on the primary: it releases and reports fault, B takes over, A rejoins as backup',
    async () => {
      assert.equal((await pair.status('a'))?.role, 'primary');
      const run = traffic(RATE * 4);
      await sleep(1000);
      const { at: killedAt } = await crashWorker().inject(pair, 'a');
      const r = await run.result;
      await exactlyOneHolder('b');
      const b = await pair.status('b');
      assert.equal(b?.role, 'primary');
      assert.equal(b?.term, 4);
      const tl = b?.timelines.at(-1);
      assert.equal(tl?.cause, 'peer-fault', 'the backup heard the fault, it did not wait for silence');
      assert.ok(tl?.vipAddedAt);
      const takeover = tl.vipAddedAt - killedAt;
      process.stdout.write(
        `# worker crash: VIP on B ${takeover} ms after the kill, first request served after ${(tl.firstServedAt ?? 0) - killedAt} ms; SIPp ${r.failed} failed of ${r.successful + r.failed}\n`,
      );
      // How fast is the failover benchmark's business (bench/failover.ts); here the cause above proves the
      // backup did not wait for dead_after_ms.
      assert.ok(r.successful >= RATE * 4 - 2, `SIPp: ${r.successful} ok, ${r.failed} failed: ${r.errors}`);
      assert.ok(await pair.waitRole('a', 'backup', 15_000), 'A rejoins as backup once its worker is back');
      assert.ok((await pair.status('a'))?.alarms.some((x) => x.alarm === 'local-fault'));
      await served();
    },
  );

  step(
    'node kill -9 on the primary: A takes over on peer-gone (before dead_after_ms); B, restarted, rejoins as backup',
    async () => {
      const bWorker = (await pair.status('b'))?.worker.pid;
      assert.ok(typeof bWorker === 'number');
      const run = traffic(RATE * 4);
      await sleep(1000);
      const { at: killedAt } = await crashNode().inject(pair, 'b');
      assert.ok(await pair.waitRole('a', 'primary', 5000));
      const r = await run.result;
      const tl = (await pair.status('a'))?.timelines.at(-1);
      // B's kernel refused A's heartbeats (ICMP port unreachable) and closed the replication connection: the
      // fast path, about 1.2 heartbeats of silence, not dead_after_ms.
      assert.equal(tl?.cause, 'peer-gone');
      assert.equal(tl?.newTerm, 5);
      assert.ok(tl?.vipAddedAt);
      const takeover = tl.vipAddedAt - killedAt;
      process.stdout.write(
        `# node kill -9: peer gone declared after ${tl.detectedAt - killedAt} ms, VIP on A after ${takeover} ms, first request served after ${(tl.firstServedAt ?? 0) - killedAt} ms; SIPp ${r.failed} failed of ${r.successful + r.failed}\n`,
      );
      // (peer-gone is only ever decided before dead_after_ms of silence: the cause says it came first.)
      assert.ok(r.successful >= RATE * 4 - 2, `SIPp: ${r.successful} ok, ${r.failed} failed: ${r.errors}`);
      // The worker followed its node (IPC closed), and being primary it removed the VIP from B before exiting, so
      // no `sipha vip release` (systemd's ExecStopPost) is needed for exactly one holder.
      assert.ok(await eventually(async () => !alive(bWorker), 3000), 'the worker exited with its node');
      await exactlyOneHolder('a');
      await crashNode().heal(pair, 'b');
      assert.ok(await pair.waitRole('b', 'backup', 20_000));
      await exactlyOneHolder('a');
      await served();
    },
  );

  step(
    'primary node frozen alone (SIGSTOP), its SIP worker still serving: no takeover, an alarm on B until SIGCONT',
    async () => {
      const before = await pair.status('a');
      assert.equal(before?.role, 'primary');
      const run = traffic(RATE * 3);
      await sleep(500);
      await freezeNode.inject(pair, 'a');
      try {
        // B hears nothing from A, asks the VIP, and A's worker answers: the VIP is served, so B stays backup.
        assert.ok(
          await eventually(
            async () =>
              (await pair.status('b'))?.activeAlarms.some((x) => x.alarm === 'peer-silent-vip-served') ===
              true,
            3000,
            20,
          ),
          'B raises peer-silent-vip-served',
        );
        await sleep(1000);
        const b = await pair.status('b');
        assert.equal(b?.role, 'backup', 'no takeover while the VIP is served');
        assert.equal(b?.peer.status, 'dead');
        assert.deepEqual(await pair.holders(), ['a']);
      } finally {
        await freezeNode.heal(pair, 'a');
      }
      assert.ok(
        await eventually(
          async () =>
            (await pair.status('b'))?.activeAlarms.some((x) => x.alarm === 'peer-silent-vip-served') ===
            false,
          3000,
          20,
        ),
        'the alarm clears once A is heard again',
      );
      const r = await run.result;
      assert.equal(r.failed, 0, `SIPp through the frozen node's worker: ${r.errors}`);
      const after = await pair.status('a');
      assert.equal(after?.role, 'primary');
      assert.equal(after?.term, before?.term, 'no new term');
      await exactlyOneHolder('a');
    },
  );
  step(
    'frozen primary host (SIGSTOP of node and worker): B takes over; on SIGCONT A sees the higher term and drops the VIP at once',
    async () => {
      assert.equal((await pair.status('a'))?.role, 'primary');
      const run = traffic(RATE * 5);
      await sleep(1000);
      const { at: stoppedAt } = await freezeHost.inject(pair, 'a');
      let contAt = 0;
      try {
        assert.ok(await pair.waitRole('b', 'primary', 5000));
        // The takeover's record, once its VIP is up.
        await pair.promotion('b', stoppedAt);
        const tl = (await pair.status('b'))?.timelines.at(-1);
        assert.equal(tl?.cause, 'peer-dead');
        assert.equal(tl?.newTerm, 6);
        process.stdout.write(
          `# SIGSTOP: VIP on B ${(tl?.vipAddedAt ?? 0) - stoppedAt} ms after the freeze\n`,
        );
        assert.ok(
          await eventually(async () => (await pair.holders()).length === 2, 2000),
          'the frozen host still has it',
        );
        await sleep(1000);
      } finally {
        contAt = Date.now();
        await freezeHost.heal(pair, 'a');
      }
      assert.ok(await eventually(async () => !(await pair.holds('a')), 3000, 5));
      const dropped = Date.now() - contAt;
      process.stdout.write(`# SIGCONT: A dropped the VIP ${dropped} ms after waking (heartbeat 50 ms)\n`);
      assert.ok(dropped < 1000, `A dropped the VIP after ${dropped} ms`);
      const r = await run.result;
      process.stdout.write(`# SIGSTOP/SIGCONT: SIPp ${r.failed} failed of ${r.successful + r.failed}\n`);
      await exactlyOneHolder('b');
      const a = await pair.status('a');
      assert.equal(a?.role, 'backup', 'the old primary rejoins as backup');
      assert.equal(a?.term, 6, 'and took the higher term');
      const demote = a?.timelines.at(-1);
      assert.equal(demote?.cause, 'higher-term');
      assert.ok(demote?.vipRemovedAt);
      process.stdout.write(
        `# SIGCONT: higher term seen ${demote.detectedAt - contAt} ms after waking, VIP removed after ${demote.vipRemovedAt - contAt} ms\n`,
      );
      assert.ok(demote.detectedAt - contAt < 500, 'the higher term is noticed at once');
      assert.ok(r.successful >= RATE * 5 - 5, `SIPp: ${r.successful} ok, ${r.failed} failed: ${r.errors}`);
      await served();
    },
  );

  step(
    'frozen backup (SIGSTOP, then SIGCONT): on waking it does not take the VIP from a healthy primary',
    async () => {
      assert.equal((await pair.status('b'))?.role, 'primary');
      const before = (await pair.status('b'))?.term;
      await freezeNode.inject(pair, 'a');
      try {
        await sleep(1000);
      } finally {
        await freezeNode.heal(pair, 'a');
      }
      await sleep(1000);
      const a = await pair.status('a');
      const b = await pair.status('b');
      assert.equal(b?.role, 'primary');
      assert.equal(b?.term, before, 'no new term: no takeover');
      assert.equal(a?.role, 'backup');
      assert.ok((a?.peer.link.stalls ?? 0) >= 1, 'the stall was noticed as ours');
      await exactlyOneHolder('b');
      await served();
    },
  );
});
