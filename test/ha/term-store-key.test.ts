// The term on disk and the HA key file checks.
import assert from 'node:assert/strict';
import { chmod, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfigError } from '../../src/config/load.js';
import { readKeyFile } from '../../src/ha/key-file.js';
import { TermStore } from '../../src/ha/term-store.js';

const dirs: string[] = [];
async function tmp(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'sipha-ha-'));
  dirs.push(d);
  return d;
}
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('term store', () => {
  it('starts at 0, persists atomically, leaves no temp file', async () => {
    const dir = join(await tmp(), 'state');
    const store = new TermStore(dir, 'a');
    assert.equal(await store.load(), 0);
    await store.save(7);
    await store.save(8);
    assert.equal(await new TermStore(dir, 'a').load(), 8, 'a new process reads the last term');
    assert.deepEqual(await readdir(dir), ['term.json']);
    assert.equal(JSON.parse(await readFile(store.file, 'utf8')).node, 'a');
  });

  it('refuses a corrupt file instead of guessing a term', async () => {
    const dir = await tmp();
    await writeFile(join(dir, 'term.json'), '{"term": "x"}');
    await assert.rejects(new TermStore(dir, 'a').load(), /no valid term/);
  });
});

describe('HA key file', () => {
  const good = 'f3a9c0d2e4b61788a9b0c1d2e3f40516273849aabbccddeeff00112233445566\n';

  async function keyFile(content: string, mode = 0o600): Promise<string> {
    const p = join(await tmp(), 'ha.key');
    await writeFile(p, content);
    await chmod(p, mode);
    return p;
  }

  async function problem(p: string): Promise<string> {
    try {
      await readKeyFile(p, 'sipha.yaml');
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.key, 'ha.key_file');
      return err.problem;
    }
    assert.fail('accepted');
  }

  it('accepts a 64-hex-digit key and drops the trailing newline', async () => {
    const key = await readKeyFile(await keyFile(good), 'sipha.yaml');
    assert.equal(key.length, 64);
  });

  it('missing, short, weak or world-readable keys are config errors naming ha.key_file', async () => {
    assert.match(await problem('/nonexistent/ha.key'), /cannot read.*ENOENT/);
    assert.match(await problem(await keyFile('0123456789abcdef0123456789abcd')), /too short: 30 bytes/);
    assert.match(await problem(await keyFile('a'.repeat(40))), /too weak/);
    assert.match(await problem(await keyFile(good, 0o644)), /chmod 600/);
  });
});
