// The linux driver against real namespaces: the ip coprocess (idempotency, verification off the critical path,
// respawn, timeouts, fallback) and the primed announcement sender (RFC 5227 ARP / RFC 4861 NA reach the peer).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { vipSchema } from '../../src/vip/config.js';
import {
  createPlannedVipDriver,
  createVipDriver,
  planFor,
  type VipDriver,
  type VipDriverOptions,
  type VipEvent,
} from '../../src/vip/driver.js';
import { VipCommandError } from '../../src/vip/errors.js';
import { childProcesses, createScratchNetns, isRoot, type ScratchNetns } from '../helpers/netns.js';

const skip = isRoot() ? false : 'needs root for network namespaces';
const V4 = '198.51.100.10';
const V6 = '2001:db8::10';

describe('linux driver in a namespace', { skip }, () => {
  let net: ScratchNetns;
  let dir: string;
  const drivers: VipDriver[] = [];
  before(async () => {
    net = createScratchNetns();
    dir = await mkdtemp(join(tmpdir(), 'sipha-vt-'));
  });
  after(async () => {
    await Promise.allSettled(drivers.map((d) => d.close()));
    net.remove();
    await rm(dir, { recursive: true, force: true });
  });

  function driver(
    over: Record<string, unknown> = {},
    opts: VipDriverOptions = {},
  ): { d: VipDriver; events: VipEvent[] } {
    const events: VipEvent[] = [];
    const config = vipSchema.parse({
      address: `${V4}/24`,
      interface: 'v0',
      timeout_ms: 2000,
      retries: 1,
      retry_delay_ms: 10,
      announce: { count: 2, interval_ms: 10, repeat_after_ms: 0, refresh_s: 0 },
      ...over,
    });
    const d = createVipDriver(config, {
      wrap: net.wrap,
      ...opts,
      onEvent: (e) => {
        events.push(e);
        opts.onEvent?.(e);
      },
    });
    drivers.push(d);
    return { d, events };
  }

  const present = (ip: string): boolean => net.ip(['-o', 'addr', 'show', 'dev', 'v0']).includes(` ${ip}/`);
  type Pids = { batch: number | undefined; sender: number | undefined };
  const pidsOf = (d: VipDriver): Pids => (d as unknown as { childPids: Pids }).childPids;
  async function until(what: string, ok: () => boolean): Promise<void> {
    for (let i = 0; i < 200 && !ok(); i++) await sleep(10);
    assert.ok(ok(), what);
  }

  async function closeAndCheck(d: VipDriver): Promise<void> {
    await d.close();
    assert.deepEqual(childProcesses(), [], 'close leaves no child process');
  }

  it('enable and disable are one coprocess line each, idempotent, and isPresent works', async () => {
    const { d, events } = driver();
    await d.prime();
    assert.ok(pidsOf(d).batch !== undefined && pidsOf(d).sender !== undefined, 'both primed');
    const on = await d.enable();
    assert.equal(on.changed, true);
    assert.ok(present(V4));
    assert.ok(on.durationMs < 1000, `enable took ${on.durationMs} ms`);
    assert.equal((await d.enable()).changed, false, 'already there is success');
    assert.equal((await d.isPresent()).present, true);
    const off = await d.disable();
    assert.equal(off.changed, true);
    assert.equal(present(V4), false);
    assert.equal((await d.disable()).changed, false, 'already gone is success');
    assert.equal((await d.isPresent()).present, false);
    const cmds = events.filter((e) => e.type === 'command');
    assert.ok(cmds.every((e) => e.type === 'command' && e.ok && e.via === 'coprocess'));
    assert.deepEqual(
      cmds.map((e) => e.type === 'command' && e.operation),
      ['enable', 'status', 'enable', 'status', 'status', 'disable', 'status', 'disable', 'status', 'status'],
      'each change is followed by its verification',
    );
    assert.deepEqual(
      events.filter((e) => e.type === 'verify-failed'),
      [],
    );
    await closeAndCheck(d);
  });

  it('IPv6 with nodad', async () => {
    const { d, events } = driver({ address: `${V6}/64` });
    assert.equal((await d.enable()).changed, true);
    assert.ok(present(V6));
    assert.equal((await d.enable()).changed, false);
    const st = await d.isPresent();
    assert.equal(st.present, true);
    assert.ok(!st.flags.includes('tentative'), `flags ${st.flags}`);
    assert.equal((await d.disable()).changed, true);
    assert.equal((await d.disable()).changed, false);
    assert.equal(present(V6), false);
    assert.deepEqual(
      events.filter((e) => e.type === 'verify-failed'),
      [],
    );
    await closeAndCheck(d);
  });

  it('reports verify-failed when the VIP is removed between the add and its verification', async () => {
    const { d, events } = driver(
      {},
      {
        // The verification line is written right after this event: remove the VIP behind the driver's back.
        onEvent: (e) => {
          if (e.type === 'command' && e.operation === 'enable')
            execFileSync('ip', ['-n', net.ns, 'addr', 'del', `${V4}/24`, 'dev', 'v0']);
        },
      },
    );
    const out = await d.enable();
    assert.equal(out.changed, true, 'the add itself succeeded');
    assert.equal((await d.isPresent()).present, false);
    const failed = events.filter((e) => e.type === 'verify-failed');
    assert.deepEqual(failed, [
      { type: 'verify-failed', operation: 'enable', detail: 'the VIP is absent right after enable' },
    ]);
    await closeAndCheck(d);
  });

  it('reports verify-failed when the status says otherwise (a plan whose status looks at lo)', async () => {
    const config = vipSchema.parse({ address: `${V4}/24`, interface: 'v0', retries: 0 });
    const real = planFor(config);
    const events: VipEvent[] = [];
    const d = createPlannedVipDriver(
      { ...real, batch: { enable: real.batch?.enable ?? '', disable: '', status: 'addr show dev lo' } },
      config,
      { wrap: net.wrap, onEvent: (e) => events.push(e) },
    );
    drivers.push(d);
    assert.equal((await d.enable()).changed, true);
    assert.equal((await d.isPresent()).present, false, 'the lying status');
    assert.deepEqual(
      events.filter((e) => e.type === 'verify-failed').map((e) => e.type === 'verify-failed' && e.operation),
      ['enable'],
    );
    net.ip(['addr', 'del', `${V4}/24`, 'dev', 'v0']);
    await closeAndCheck(d);
  });

  it('a coprocess killed from outside is replaced: the next operation still works', async () => {
    const { d } = driver();
    await d.prime();
    const before = pidsOf(d);
    assert.ok(before.batch !== undefined && before.sender !== undefined);
    process.kill(before.batch, 'SIGKILL');
    process.kill(before.sender, 'SIGKILL');
    // Primed: both are replaced in the background, not on the next operation's critical path.
    await until('ip coprocess respawned', () => ![undefined, before.batch].includes(pidsOf(d).batch));
    await until('sender re-primed', () => ![undefined, before.sender].includes(pidsOf(d).sender));
    assert.equal((await d.enable()).changed, true);
    assert.ok(present(V4));
    // And killed while a command may wait for its answer.
    const second = pidsOf(d).batch;
    assert.ok(second !== undefined && second !== before.batch);
    const off = d.disable();
    process.kill(second, 'SIGKILL');
    assert.equal((await off).operation, 'disable');
    assert.equal(present(V4), false);
    await closeAndCheck(d);
  });

  it('a coprocess that never answers times out into a VipCommandError after the retries', async () => {
    const fake = join(dir, 'bin');
    await rm(fake, { recursive: true, force: true });
    await execFileSync('mkdir', ['-p', fake]);
    await writeFile(join(fake, 'ip'), '#!/bin/sh\nexec sleep 60\n');
    await chmod(join(fake, 'ip'), 0o755);
    const { d, events } = driver(
      { timeout_ms: 150, retries: 1 },
      { wrap: ['env', `PATH=${fake}:${process.env.PATH ?? ''}`] },
    );
    const started = performance.now();
    const err = await d.enable().then(
      () => assert.fail('enable succeeded'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof VipCommandError, String(err));
    assert.equal(err.timedOut, true);
    assert.equal(err.attempts, 2);
    assert.ok(performance.now() - started < 1500, 'bounded by timeout × (1 + retries)');
    assert.ok(events.some((e) => e.type === 'command' && !e.ok && e.operation === 'enable'));
    await closeAndCheck(d);
  });

  it('falls back to one process per command when the coprocess cannot be started', async () => {
    const { d, events } = driver({}, { wrap: [join(dir, 'no-such-wrapper')] });
    const err = await d.enable().then(
      () => assert.fail('enable succeeded'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof VipCommandError, String(err));
    assert.ok(
      events.some((e) => e.type === 'command' && e.via === 'spawn'),
      'ran the one-shot way',
    );
    await closeAndCheck(d);
  });

  it('the primed sender announces over ARP: the peer learns the VIP at our MAC', async () => {
    const wrong = '02:00:00:00:00:99';
    net.ip(['neigh', 'replace', V4, 'lladdr', wrong, 'dev', 'p0', 'nud', 'stale'], 'peer');
    const { d } = driver();
    await d.prime();
    const senderPid = pidsOf(d).sender;
    await d.enable();
    const out = await d.announce();
    assert.equal(out.mode, 'sent');
    assert.equal(out.count, 2);
    assert.equal(pidsOf(d).sender, senderPid, 'the primed sender sent it, no new process');
    await sleep(50);
    const neigh = net.ip(['neigh', 'show', V4, 'dev', 'p0'], 'peer');
    assert.match(neigh, new RegExp(`lladdr ${net.macOf('v0')}`), neigh);
    await d.disable();
    await closeAndCheck(d);
  });

  it('the primed sender announces over NA for IPv6', async () => {
    const wrong = '02:00:00:00:00:98';
    net.ip(['neigh', 'replace', V6, 'lladdr', wrong, 'dev', 'p0', 'nud', 'stale'], 'peer');
    const { d } = driver({ address: `${V6}/64` });
    await d.prime();
    await d.enable();
    assert.equal((await d.announce()).mode, 'sent');
    await sleep(50);
    const neigh = net.ip(['neigh', 'show', V6, 'dev', 'p0'], 'peer');
    assert.match(neigh, new RegExp(`lladdr ${net.macOf('v0')}`), neigh);
    await d.disable();
    await closeAndCheck(d);
  });

  it('cancel stops a burst in flight at once and primes a new sender', async () => {
    const { d } = driver({ announce: { count: 50, interval_ms: 100, repeat_after_ms: 0, refresh_s: 0 } });
    await d.prime();
    const first = pidsOf(d).sender;
    await d.enable();
    const started = performance.now();
    const burst = d.announce();
    await sleep(50);
    d.cancelAnnouncements();
    const out = await burst;
    assert.equal(out.mode, 'cancelled');
    assert.ok(performance.now() - started < 1000, 'stopped at once, not after 5 s');
    await until('re-primed', () => ![undefined, first].includes(pidsOf(d).sender));
    await d.disable();
    await closeAndCheck(d);
  });
});
