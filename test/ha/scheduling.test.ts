import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { getPriority } from 'node:os';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { setOwnNice } from '../../src/ha/scheduling.js';

const moduleUrl = new URL('../../src/ha/scheduling.js', import.meta.url).href;

/** Runs setOwnNice(nice) in a fresh Node process (never in the test runner) and reads every thread's nice back. */
function inChild(nice: number): { result: { ok: boolean; nice: number }; threads: number[] } {
  const script = `
    import { readdirSync, readFileSync } from 'node:fs';
    const { setOwnNice } = await import(${JSON.stringify(moduleUrl)});
    const result = setOwnNice(${nice});
    // Field 19 of /proc/PID/task/TID/stat is the nice value (after the parenthesised command name).
    const threads = readdirSync('/proc/self/task').map((t) => {
      const stat = readFileSync('/proc/self/task/' + t + '/stat', 'utf8');
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
    });
    process.stdout.write(JSON.stringify({ result, threads }));
  `;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: fileURLToPath(new URL('.', import.meta.url)),
    encoding: 'utf8',
  });
  return JSON.parse(out) as { result: { ok: boolean; nice: number }; threads: number[] };
}

test('every thread of the process gets the nice value, not only the main thread', () => {
  const want = Math.min(19, getPriority(0) + 5);
  const { result, threads } = inChild(want);
  assert.equal(result.ok, true);
  assert.equal(result.nice, want);
  // Node starts V8 and libuv threads before any JavaScript runs: all of them must be moved.
  assert.ok(threads.length > 1, `expected several threads, got ${threads.length}`);
  assert.deepEqual(
    threads.filter((n) => n !== want),
    [],
  );
});

test('a thread that cannot be set makes the result say so, with the reason', () => {
  const current = getPriority(0);
  // A thread id that does not exist fails like a thread we may not touch.
  const r = setOwnNice(Math.min(19, current + 1), () => [2 ** 31 - 2]);
  assert.equal(r.ok, false);
  assert.match(r.detail ?? '', /ESRCH|no such process|nice is/i);
  assert.equal(r.nice, current);
});

test('asking for the current value changes nothing and succeeds', () => {
  const r = setOwnNice(getPriority(0), () => {
    throw new Error('must not be called');
  });
  assert.deepEqual(r, { ok: true, nice: getPriority(0) });
});
