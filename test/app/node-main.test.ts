// `sipha start` with an ha section refuses a bad HA key before touching anything, naming ha.key_file.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { CLI } from '../ha/pair.js';

function start(config: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, 'start', '--config', config], { timeout: 10_000 }, (err, _out, stderr) =>
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stderr }),
    );
  });
}

describe('sipha start in HA mode: key file checks', () => {
  let dir = '';
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  for (const [name, key, mode, problem] of [
    ['missing', null, 0o600, /ha\.key_file: .*cannot read the key \(ENOENT\)/],
    ['short', 'abcdef0123456789', 0o600, /ha\.key_file: .*too short: 16 bytes/],
    [
      'world-readable',
      'f3a9c0d2e4b61788a9b0c1d2e3f40516273849aabbccddeeff00112233445566',
      0o644,
      /ha\.key_file: .*chmod 600/,
    ],
  ] as const) {
    it(`a ${name} key is a config error naming ha.key_file`, async () => {
      dir ||= await mkdtemp(join(tmpdir(), 'sipha-start-ha-'));
      const keyFile = join(dir, `${name}.key`);
      if (key !== null) {
        await writeFile(keyFile, key);
        await chmod(keyFile, mode);
      }
      const config = join(dir, `${name}.yaml`);
      await writeFile(
        config,
        JSON.stringify({
          node: { id: 'a', state_dir: join(dir, 'state') },
          sip: { listen: ['udp://127.0.0.1:0'] },
          vip: { address: '198.51.100.10/24', interface: 'nonexistent0' },
          ha: { listen: ['127.0.0.1:7400'], peer: ['127.0.0.1:7401'], key_file: keyFile },
        }),
      );
      const r = await start(config);
      assert.equal(r.code, 2, 'a config error exits with status 2');
      assert.match(r.stderr, /config error/);
      assert.match(r.stderr, problem);
    });
  }
});
