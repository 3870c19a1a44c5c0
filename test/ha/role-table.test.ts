// The transition table in src/ha/role-table.ts's header is generated from the rows themselves: this test fails
// when the two drift apart. UPDATE_TABLE=1 rewrites the header from the rows.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CONDITION_ROWS, describeTable, EVENT_ROWS } from '../../src/ha/role-table.js';

const FILE = resolve(dirname(fileURLToPath(import.meta.url)), '../../../src/ha/role-table.ts');
const BEGIN = '// BEGIN TABLE\n';
const END = '// END TABLE\n';

function headerTable(text: string): { start: number; end: number; lines: string[] } {
  const start = text.indexOf(BEGIN) + BEGIN.length;
  const end = text.indexOf(END);
  assert.ok(start >= BEGIN.length && end > start, 'role-table.ts has a BEGIN TABLE … END TABLE block');
  const lines = text
    .slice(start, end)
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.replace(/^\/\/ {2}/, '').trimEnd());
  return { start, end, lines };
}

describe('role table header', () => {
  it('lists every row, in order, as the rows say (no drift)', () => {
    const text = readFileSync(FILE, 'utf8');
    const { start, end, lines } = headerTable(text);
    const generated = describeTable().map((l) => l.trimEnd());
    if (process.env.UPDATE_TABLE === '1') {
      writeFileSync(
        FILE,
        text.slice(0, start) + generated.map((l) => `//  ${l}\n`).join('') + text.slice(end),
      );
      return;
    }
    assert.deepEqual(lines, generated);
  });

  it('the generated table has one line per row, and the checker notices a missing row', () => {
    const generated = describeTable();
    assert.equal(generated.length, 1 + EVENT_ROWS.length + CONDITION_ROWS.length);
    const text = readFileSync(FILE, 'utf8');
    const { lines } = headerTable(text);
    assert.notDeepEqual(
      lines.slice(0, -1),
      generated.map((l) => l.trimEnd()),
    );
  });
});
