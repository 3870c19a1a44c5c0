// The script driver runs real programs: what they receive, idempotency, retries, timeouts and the typed error.
import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { vipSchema } from '../../src/vip/config.js';
import { createVipDriver, type VipEvent } from '../../src/vip/driver.js';
import { VipCommandError } from '../../src/vip/errors.js';
import { runCommand } from '../../src/vip/runner.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sipha-vip-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function script(name: string, body: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, `#!/bin/sh\n${body}\n`);
  await chmod(path, 0o755);
  return path;
}

/** A working set of scripts keeping the "VIP" as a file, logging every call with its environment. */
async function stateScripts(tag: string) {
  const state = join(dir, `${tag}.present`);
  const log = join(dir, `${tag}.log`);
  const logLine =
    `echo "$SIPHA_VIP_OPERATION $SIPHA_VIP $SIPHA_VIP_PREFIX $SIPHA_VIP_INTERFACE $SIPHA_VIP_LABEL` +
    ` $SIPHA_VIP_FAMILY $SIPHA_VIP_NETMASK $SIPHA_ANNOUNCE_COUNT" >> ${log}`;
  return {
    state,
    log,
    enable: await script(`${tag}-enable`, `${logLine}\ntouch ${state}`),
    disable: await script(`${tag}-disable`, `${logLine}\nrm -f ${state}`),
    status: await script(`${tag}-status`, `${logLine}\ntest -e ${state}`),
    announce: await script(`${tag}-announce`, logLine),
  };
}

async function logLines(log: string): Promise<string[]> {
  try {
    return (await readFile(log, 'utf8')).trim().split('\n');
  } catch {
    return [];
  }
}

describe('script driver', () => {
  it('passes VIP, prefix, interface and label, and is idempotent', async () => {
    const s = await stateScripts('ok');
    const config = vipSchema.parse({
      address: '198.51.100.10/24',
      interface: 'eth0',
      label: 'eth0:1',
      driver: 'script',
      script: { enable: s.enable, disable: s.disable, status: s.status, announce: s.announce },
      announce: { count: 4, interval_ms: 10, repeat_after_ms: 0 },
    });
    const d = createVipDriver(config);
    assert.equal((await d.isPresent()).present, false);
    const on = await d.enable();
    assert.equal(on.changed, true);
    assert.ok(on.durationMs > 0);
    assert.equal((await d.enable()).changed, false);
    assert.equal((await d.announce()).mode, 'sent');
    assert.equal((await d.disable()).changed, true);
    assert.equal((await d.disable()).changed, false);
    const lines = await logLines(s.log);
    assert.equal(lines.filter((l) => l.startsWith('enable ')).length, 1, 'enable ran once');
    assert.equal(lines.filter((l) => l.startsWith('disable ')).length, 1, 'disable ran once');
    assert.ok(lines.includes('enable 198.51.100.10 24 eth0 eth0:1 4 255.255.255.0 '), lines.join('\n'));
    assert.ok(lines.includes('announce 198.51.100.10 24 eth0 eth0:1 4 255.255.255.0 4'), lines.join('\n'));
  });

  it('a failing enable is retried, then raised as VipCommandError with all the facts', async () => {
    const count = join(dir, 'fail.count');
    const config = vipSchema.parse({
      address: '2001:db8:51::10/64',
      interface: 'eth0',
      driver: 'script',
      retries: 2,
      retry_delay_ms: 5,
      script: {
        enable: await script(
          'fail-enable',
          `echo x >> ${count}; echo "netsh: NIC properties are open" >&2; exit 3`,
        ),
        disable: await script('fail-disable', 'exit 0'),
        status: await script('fail-status', 'exit 1'),
      },
    });
    const events: VipEvent[] = [];
    const err = await createVipDriver(config, { onEvent: (e) => events.push(e) })
      .enable()
      .then(
        () => assert.fail('enable must fail'),
        (e: unknown) => e,
      );
    assert.ok(err instanceof VipCommandError);
    assert.equal(err.operation, 'enable');
    assert.equal(err.driver, 'script');
    assert.equal(err.attempts, 3);
    assert.equal(err.exitCode, 3);
    assert.equal(err.timedOut, false);
    assert.equal(err.stderr, 'netsh: NIC properties are open');
    assert.deepEqual(err.argv, [join(dir, 'fail-enable')]);
    assert.equal((await readFile(count, 'utf8')).trim().split('\n').length, 3);
    assert.match(err.message, /failed after 3 attempt\(s\).*exited 3/);
    assert.deepEqual(
      events.map((e) => (e.type === 'command' ? `${e.operation}:${e.ok}` : e.type)),
      ['status:true', 'enable:false'],
    );
  });

  it('a hanging command is killed at timeout_ms, with what it started, on every try', async () => {
    const config = vipSchema.parse({
      address: '198.51.100.10/24',
      interface: 'eth0',
      driver: 'script',
      timeout_ms: 150,
      retries: 1,
      retry_delay_ms: 0,
      script: {
        enable: await script('hang-enable', 'exit 0'),
        disable: await script('hang-disable', 'exit 0'),
        // The child `sleep` keeps stdout open: only killing the process group ends the try.
        status: await script('hang-status', 'sleep 30; exit 0'),
      },
    });
    const started = performance.now();
    const err = await createVipDriver(config)
      .isPresent()
      .then(
        () => assert.fail('status must time out'),
        (e: unknown) => e,
      );
    const took = performance.now() - started;
    assert.ok(err instanceof VipCommandError);
    assert.equal(err.operation, 'status');
    assert.equal(err.timedOut, true);
    assert.equal(err.attempts, 2);
    assert.equal(err.signal, 'SIGKILL');
    assert.ok(err.durationMs >= 300, `two tries of 150 ms: ${err.durationMs}`);
    assert.ok(took < 2000, `bounded: ${took} ms`);
    assert.match(err.message, /timed out/);
  });

  it('a slow but successful command is reported with its duration', async () => {
    const slow = await script('slow', 'sleep 0.2; exit 0');
    const result = await runCommand(
      { argv: [slow] },
      { operation: 'enable', driver: 'script', timeoutMs: 2000, retries: 0, retryDelayMs: 0 },
    );
    assert.ok(result.durationMs >= 190, `${result.durationMs}`);
    assert.equal(result.attempts, 1);
  });

  it('a missing program is a VipCommandError, not a crash', async () => {
    const err = await runCommand(
      { argv: [join(dir, 'does-not-exist')] },
      { operation: 'enable', driver: 'script', timeoutMs: 1000, retries: 1, retryDelayMs: 0 },
    ).then(
      () => assert.fail('must fail'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof VipCommandError);
    assert.equal(err.attempts, 2);
    assert.equal(err.exitCode, null);
    assert.match(err.stderr, /ENOENT/);
  });

  it('disable cancels pending and periodic announcements at once', async () => {
    const s = await stateScripts('cancel');
    const config = vipSchema.parse({
      address: '198.51.100.10/24',
      interface: 'eth0',
      driver: 'script',
      script: { enable: s.enable, disable: s.disable, status: s.status, announce: s.announce },
      announce: { count: 1, interval_ms: 1, repeat_after_ms: 100, refresh_s: 1 },
    });
    const d = createVipDriver(config);
    await d.enable();
    await d.announce();
    assert.equal(d.announcing, true);
    await sleep(250); // the repeats at 100 and 200 ms went out (the next is at 400)
    const before = (await logLines(s.log)).filter((l) => l.startsWith('announce')).length;
    assert.ok(before >= 2 && before <= 3, `${before} bursts`);
    await d.disable();
    assert.equal(d.announcing, false);
    await sleep(1300); // past the repeats at 400 and 800 ms and the 1 s refresh
    const afterDisable = (await logLines(s.log)).filter((l) => l.startsWith('announce')).length;
    assert.equal(afterDisable, before, 'no announcement after disable');
    assert.equal((await d.announce()).mode, 'off', 'announce after disable sends nothing');
  });

  it('disable kills a burst in flight', async () => {
    const s = await stateScripts('inflight');
    const marker = join(dir, 'inflight.finished');
    const config = vipSchema.parse({
      address: '198.51.100.10/24',
      interface: 'eth0',
      driver: 'script',
      script: {
        enable: s.enable,
        disable: s.disable,
        status: s.status,
        announce: await script('slow-announce', `sleep 1; touch ${marker}`),
      },
      announce: { count: 5, interval_ms: 200, repeat_after_ms: 0 },
    });
    const d = createVipDriver(config);
    await d.enable();
    const announced = d.announce();
    await sleep(100);
    await d.disable();
    assert.equal((await announced).mode, 'cancelled');
    await sleep(1200);
    await assert.rejects(readFile(marker), 'the burst was killed before it finished');
  });
});
