// Installing sipha as an operator would: `npm pack` ships the built program and no tests; the Debian package
// (`npm run package:deb`) installs, gives a working `sipha --version` and `sipha config check` on the shipped
// example, creates the sipha user and is purged again. The package half needs root and dpkg, and is skipped on a
// host where sipha is already installed (it would replace it).
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { skipWithout } from '../helpers/installed.js';

const version = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version;
const escaped = version.replace(/\./g, '\\.');

describe('packaging', () => {
  it('npm pack ships dist/src with the CLI, the unit and the examples, and no tests', () => {
    const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
      encoding: 'utf8',
    });
    const files = (JSON.parse(out) as Array<{ files: Array<{ path: string }> }>)[0]!.files.map((f) => f.path);
    assert.ok(files.includes('dist/src/cli/main.js'), 'the CLI');
    assert.ok(files.includes('contrib/sipha.service'), 'the unit');
    assert.ok(files.includes('contrib/examples/sipha.yaml'), 'the example config');
    assert.ok(files.includes('package.json'));
    assert.deepEqual(
      files.filter((f) => f.startsWith('dist/test') || f.startsWith('test/') || f.startsWith('dist/bench')),
      [],
    );
  });

  it('the unit is hardened: systemd-analyze security rates its exposure below the 6.4 it had', {
    skip: skipWithout('systemd-analyze'),
  }, () => {
    const r = spawnSync('systemd-analyze', ['security', '--offline=yes', 'contrib/sipha.service'], {
      encoding: 'utf8',
    });
    const level = Number(
      /Overall exposure level for sipha\.service: ([0-9.]+)/.exec(r.stdout + r.stderr)?.[1],
    );
    assert.ok(level < 6.4, `exposure ${level}:\n${r.stdout.slice(-400)}`);
  });

  const skip =
    process.getuid?.() !== 0
      ? 'needs root (dpkg -i)'
      : skipWithout('dpkg-deb') ||
        (existsSync('/usr/bin/sipha') || existsSync('/usr/lib/sipha')
          ? 'sipha is installed on this host'
          : false);
  it('the Debian package installs a working sipha, and purges cleanly', { skip, timeout: 300_000 }, () => {
    const built = execFileSync('bash', ['packaging/build-deb.sh'], {
      encoding: 'utf8',
      env: { ...process.env, SIPHA_PREBUILT: '1' },
    }).trim();
    assert.match(built, new RegExp(`sipha_${escaped}_all\\.deb$`));
    try {
      const install = spawnSync('dpkg', ['-i', built], { encoding: 'utf8' });
      assert.equal(install.status, 0, install.stderr);
      const v = spawnSync('/usr/bin/sipha', ['--version'], { encoding: 'utf8' });
      assert.equal(v.status, 0, v.stdout + v.stderr);
      assert.match(v.stdout, new RegExp(`^sipha ${escaped}`));
      // The default config path: /etc/sipha/sipha.yaml, the shipped example.
      const check = spawnSync('/usr/bin/sipha', ['config', 'check'], { encoding: 'utf8' });
      assert.equal(check.status, 0, check.stdout + check.stderr);
      assert.match(check.stdout, /OK/);
      assert.equal(spawnSync('getent', ['passwd', 'sipha']).status, 0, 'the sipha user exists');
      assert.ok(existsSync('/lib/systemd/system/sipha.service'));
      // The unit as systemd reads it (where systemd's tools are installed).
      const verify = spawnSync('systemd-analyze', ['verify', '/lib/systemd/system/sipha.service'], {
        encoding: 'utf8',
      });
      if (verify.error === undefined) assert.equal(verify.status, 0, verify.stdout + verify.stderr);
    } finally {
      spawnSync('dpkg', ['--purge', 'sipha'], { encoding: 'utf8' });
    }
    assert.equal(existsSync('/usr/bin/sipha'), false, 'purged');
  });
});
