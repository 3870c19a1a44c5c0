// The term on disk and the HA key file checks.
import assert from 'node:assert/strict';
import { chmod, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfigError } from '../../src/config/load.js';
import { readKeyFile } from '../../src/ha/key-file.js';
import { formatSlot, parseSlot, TERM_SLOT_BYTES, TermStore } from '../../src/ha/term-store.js';

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
    // Two fixed-size slots, each a readable JSON line.
    const lines = (await readFile(store.file, 'utf8')).split('\n').filter((l) => l !== '');
    assert.deepEqual(lines.map((l) => JSON.parse(l).term).sort(), [7, 8]);
    assert.equal(JSON.parse(lines[0] ?? '').node, 'a');
    await store.close();
  });

  it('saves in place into the slot that does not hold the newest term', async () => {
    const dir = await tmp();
    const store = new TermStore(dir, 'a');
    const terms = () =>
      readFile(store.file, 'latin1').then((t) =>
        [0, 1].map((i) => parseSlot(t.slice(i * TERM_SLOT_BYTES, (i + 1) * TERM_SLOT_BYTES))?.term),
      );
    await store.save(3);
    assert.deepEqual(await terms(), [3, 0]);
    await store.save(4);
    assert.deepEqual(await terms(), [3, 4]);
    // A jump (a term adopted from the peer) still alternates: the newest completed save is never overwritten.
    await store.save(9);
    assert.deepEqual(await terms(), [9, 4]);
    await store.close();
    // A new process continues from the newest slot.
    const again = new TermStore(dir, 'a');
    assert.equal(await again.load(), 9);
    await again.save(10);
    assert.deepEqual(await terms(), [9, 10]);
    await again.close();
  });

  it('write() resolves with the term readable by a new process, durable follows; saves never overlap', async () => {
    const dir = await tmp();
    const store = new TermStore(dir, 'a');
    await store.save(1);
    const { durable } = await store.write(2);
    // Written: another process (a restart after a crash of this one) reads it before the fdatasync is done.
    assert.equal(await new TermStore(dir, 'a').load(), 2);
    // The next write waits for the previous one's fdatasync, so the two slots are never in flight together.
    let firstOnDisk = false;
    void durable.then(() => {
      firstOnDisk = true;
    });
    await store.write(3);
    assert.equal(firstOnDisk, true, 'term 2 on disk before term 3 overwrote the other slot');
    await store.close();
    assert.equal(await new TermStore(dir, 'a').load(), 3);
  });

  it('a save torn by a crash loses only itself: the other slot still holds the last completed term', async () => {
    const dir = await tmp();
    const store = new TermStore(dir, 'a');
    await store.save(5);
    await store.save(6);
    await store.close();
    // A torn write of term 7 into slot 0 (the one not holding 6): half a record, then the old bytes.
    const text = await readFile(store.file, 'latin1');
    const torn = formatSlot({ term: 7, node: 'a', at: Date.now() }).subarray(0, 40).toString('latin1');
    await writeFile(store.file, torn + text.slice(torn.length), 'latin1');
    assert.equal(await new TermStore(dir, 'a').load(), 6);
    // Both slots corrupt: an error, never a guess.
    await writeFile(store.file, 'x'.repeat(2 * TERM_SLOT_BYTES));
    await assert.rejects(new TermStore(dir, 'a').load(), /no valid term/);
  });

  it('reads the older one-record file, and the first save replaces it with the slotted one', async () => {
    const dir = await tmp();
    await writeFile(join(dir, 'term.json'), '{"term":12,"node":"a","at":1}\n');
    const store = new TermStore(dir, 'a');
    assert.equal(await store.load(), 12);
    await store.save(13);
    assert.equal((await readFile(store.file)).length, 2 * TERM_SLOT_BYTES);
    assert.equal(await new TermStore(dir, 'a').load(), 13);
    await store.close();
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
