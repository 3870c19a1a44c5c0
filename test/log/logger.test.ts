// Log lines carry their syslog priority when stderr is the journal, so `journalctl -p warning` filters them.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { withPriority } from '../../src/log/logger.js';

describe('logger', () => {
  it('maps pino levels to syslog priorities', () => {
    assert.equal(withPriority('{"level":40,"msg":"x"}\n'), '<4>{"level":40,"msg":"x"}\n');
    assert.equal(withPriority('{"level":30,"msg":"x"}'), '<6>{"level":30,"msg":"x"}');
    assert.equal(withPriority('{"level":50}'), '<3>{"level":50}');
    assert.equal(withPriority('{"level":60}'), '<2>{"level":60}');
    assert.equal(withPriority('{"level":20}'), '<7>{"level":20}');
    assert.equal(withPriority('no level'), 'no level');
  });

  it('prefixes only when stderr is the stream JOURNAL_STREAM names', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sipha-log-'));
    try {
      const run = (journal: boolean) => {
        const file = join(dir, journal ? 'journal' : 'plain');
        const fd = openSync(file, 'w');
        const st = statSync(file);
        const script = `import(${JSON.stringify(join(process.cwd(), 'dist/src/log/logger.js'))}).then((m) => { const l = m.createLogger('info'); l.warn('trouble'); l.info('fine'); l.flush(); })`;
        spawnSync(process.execPath, ['-e', script], {
          stdio: ['ignore', 'ignore', fd],
          env: { ...process.env, JOURNAL_STREAM: journal ? `${st.dev}:${st.ino}` : '1:2' },
        });
        return readFileSync(file, 'utf8').trim().split('\n');
      };
      const j = run(true);
      assert.match(j[0] ?? '', /^<4>\{"level":40/);
      assert.match(j[1] ?? '', /^<6>\{"level":30/);
      const p = run(false);
      assert.match(p[0] ?? '', /^\{"level":40/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
