// `sipha` as a process, the way operators and scripts meet it: the streams and exit codes of --version, help,
// usage errors, a missing config file and the completion script. Fast: nothing here reaches a node.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function sipha(...args: string[]): Promise<Result> {
  // A clean SIPHA_CONFIG: the default path must not depend on the tester's shell.
  const env = { ...process.env };
  delete env.SIPHA_CONFIG;
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { timeout: 10_000, env }, (err, stdout, stderr) =>
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stdout, stderr }),
    );
  });
}

describe('sipha as a process', () => {
  it('--version, -V and version print package.json’s version, exit 0', async () => {
    const pkg = JSON.parse(await readFile(new URL('../../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    for (const arg of ['--version', '-V', 'version']) {
      const r = await sipha(arg);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `sipha ${pkg.version}\n`);
      assert.equal(r.stderr, '');
    }
  });

  it('help start and start --help: every option on stdout, exit 0', async () => {
    for (const args of [
      ['help', 'start'],
      ['start', '--help'],
    ]) {
      const r = await sipha(...args);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, '');
      assert.match(r.stdout, /^usage: sipha start /);
      assert.match(r.stdout, /^ {2}-c, --config FILE +the config file \(default: \$SIPHA_CONFIG/m);
      assert.match(r.stdout, /^ {2}-h, --help +show this help/m);
      assert.match(r.stdout, /^exit codes:$/m);
    }
  });

  it('a bogus option: one line naming it and where the help is, on stderr, exit 2', async () => {
    const r = await sipha('start', '--bogus');
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, "sipha start: unknown option '--bogus'\nsee sipha help start\n");
  });

  it('bare sipha: the usage on stderr, exit 2', async () => {
    const r = await sipha();
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^usage: sipha <command>/);
    assert.match(r.stderr, /^ {2}status +/m);
  });

  it('status -c /nonexistent: a config error naming the file, exit 2', async () => {
    const r = await sipha('status', '-c', '/nonexistent/sipha.yaml');
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      /^sipha status: config error: \/nonexistent\/sipha\.yaml: cannot read file \(ENOENT\)\n$/,
    );
  });

  it('completion bash: a script with the command names, exit 0', async () => {
    const r = await sipha('completion', 'bash');
    assert.equal(r.code, 0, r.stderr);
    for (const name of ['start', 'status', 'switchover', 'events', 'registrations', 'calls', 'vip', 'lab'])
      assert.match(r.stdout, new RegExp(`\\b${name}\\b`), name);
    assert.match(r.stdout, /complete -F _sipha sipha/);
  });
});
