// `sipha start` without `ha` and with `sip.workers: 2`: a thin primary over two SIP workers that share the UDP
// socket (node:cluster). Both are made primary, SIGHUP reaches both as a reload, SIGTERM stops both and exits 0;
// a worker's fatal start (the port taken) stops everything and exits 1 with its message, leaving no worker behind.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../helpers/ports.js';
import { CLI } from '../helpers/sipha-process.js';

const dir = mkdtempSync(join(tmpdir(), 'sipha-pool-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function children(pid: number): number[] {
  try {
    return execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' })
      .split('\n')
      .map((l) => Number(l.trim()))
      .filter((n) => n > 0);
  } catch {
    return [];
  }
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function until(what: string, done: () => boolean, ms: number, out: () => string): Promise<void> {
  const end = Date.now() + ms;
  while (!done()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}:\n${out()}`);
    await sleep(20);
  }
}

function start(port: number) {
  const file = join(dir, `c${port}.yaml`);
  writeFileSync(
    file,
    `sip:\n  listen: [udp://127.0.0.1:${port}]\n  warm_up: false\n  workers: 2\nlog: { level: info }\n`,
  );
  const child = spawn(process.execPath, [CLI, 'start', '--config', file], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, exited, out: () => out, err: () => err, all: () => `${out}${err}` };
}

const count = (text: string, what: RegExp) => text.split('\n').filter((l) => what.test(l)).length;

describe('standalone with two SIP workers', () => {
  it('makes both primary, reloads both on SIGHUP, stops both on SIGTERM (exit 0)', async () => {
    const p = start(await freePort());
    try {
      await until('both workers ready', () => p.all().includes('SIP workers ready'), 15_000, p.all);
      await until(
        'both primary',
        () => count(p.all(), /"role":"primary","msg":"worker role"/) === 2,
        3000,
        p.all,
      );
      const workers = children(p.child.pid as number);
      assert.equal(workers.length, 2, p.all());
      p.child.kill('SIGHUP');
      await until('both reloaded', () => count(p.all(), /config reloaded/) === 2, 5000, p.all);
      const t = Date.now();
      p.child.kill('SIGTERM');
      assert.equal(await p.exited, 0, p.all());
      assert.ok(Date.now() - t < 5000, `stopped after ${Date.now() - t} ms`);
      await until('no worker left', () => workers.every((w) => !alive(w)), 3000, p.all);
    } finally {
      p.child.kill('SIGKILL');
    }
  });

  it('exits 1 with the worker’s message when the port is taken, leaving no worker behind', async () => {
    const port = await freePort();
    const squatter = createSocket('udp4');
    await new Promise<void>((resolve) => squatter.bind(port, '127.0.0.1', () => resolve()));
    const p = start(port);
    const seen = new Set<number>();
    const watch = setInterval(() => {
      for (const w of children(p.child.pid as number)) seen.add(w);
    }, 50);
    try {
      const code = await Promise.race([p.exited, sleep(15_000, 'timeout', { ref: false })]);
      assert.equal(code, 1, p.all());
      assert.match(p.err(), /sipha: cannot start: .*EADDRINUSE/);
      await until('no worker left', () => [...seen].every((w) => !alive(w)), 3000, p.all);
    } finally {
      clearInterval(watch);
      squatter.close();
      p.child.kill('SIGKILL');
    }
  });
});
