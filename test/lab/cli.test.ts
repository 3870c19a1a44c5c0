// `sipha vip status|release` inside a lab host, and `sipha lab up|down` as a person would use them.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Lab, labStateFile } from '../../src/lab/lab.js';
import { NEEDS_ROOT } from './helpers.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

function namespaces(): string[] {
  return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n !== '');
}

describe('sipha vip and sipha lab', { skip: NEEDS_ROOT }, () => {
  let lab: Lab;
  let dir: string;
  before(async () => {
    lab = await Lab.create({ ipv6: false });
    dir = await mkdtemp(join(tmpdir(), 'sipha-cli-'));
  });
  after(async () => {
    await lab?.destroy();
    await rm(dir, { recursive: true, force: true });
  });

  it('vip status and release (safe start) on host A', async () => {
    const config = join(dir, 'a.yaml');
    await writeFile(
      config,
      'sip: { listen: [udp://198.51.100.10:5060] }\n' +
        'vip: { address: 198.51.100.10/24, interface: eth0, label: eth0:1 }\n',
    );
    await lab.exec('a', ['ip', 'addr', 'add', '198.51.100.10/24', 'dev', 'eth0', 'label', 'eth0:1']);
    const sipha = (...args: string[]) =>
      lab.exec('a', [process.execPath, CLI, 'vip', ...args, '--config', config], { allowFailure: true });
    const status = await sipha('status', '--json');
    assert.equal(status.exitCode, 0, status.stderr);
    assert.equal((JSON.parse(status.stdout) as { present: boolean }).present, true);
    const release = await sipha('release');
    assert.equal(release.exitCode, 0, release.stderr);
    assert.match(release.stdout, /released/);
    const shown = await lab.exec('a', ['ip', '-o', 'addr', 'show', 'dev', 'eth0']);
    assert.doesNotMatch(shown.stdout, /198\.51\.100\.10\//);
    const again = await sipha('release');
    assert.equal(again.exitCode, 0);
    assert.match(again.stdout, /was not present/);
    const bad = await lab.exec('a', [process.execPath, CLI, 'vip', 'release'], { allowFailure: true });
    assert.equal(bad.exitCode, 2);
  });

  it('lab up keeps a lab past its process and past other runs; lab down removes it', async () => {
    const up = execFileSync(process.execPath, [CLI, 'lab', 'up'], { encoding: 'utf8' });
    const prefix = /lab (sipha-up-[0-9a-f]+) is up/.exec(up)?.[1];
    assert.ok(prefix !== undefined, up);
    try {
      assert.equal(namespaces().filter((n) => n.startsWith(`${prefix}-`)).length, 5);
      assert.ok(existsSync(labStateFile(prefix)));
      const stale = await Lab.cleanupStale();
      assert.ok(!stale.some((n) => n.startsWith(`${prefix}-`)), 'a kept lab is not a leftover');
    } finally {
      const down = execFileSync(process.execPath, [CLI, 'lab', 'down', prefix], { encoding: 'utf8' });
      assert.match(down, new RegExp(`removed ${prefix}`));
    }
    assert.deepEqual(
      namespaces().filter((n) => n.startsWith(`${prefix}-`)),
      [],
    );
    assert.equal(existsSync(labStateFile(prefix)), false);
  });
});
