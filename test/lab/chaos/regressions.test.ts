// The named regression seeds: each one's recorded schedule is in the repository, parses, and is the run it names.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { REGRESSION_SEEDS } from '../../../bench/chaos/seeds.js';
import { parseSchedule } from '../../../src/lab/chaos/schedule.js';

describe('chaos regression seeds', () => {
  for (const r of REGRESSION_SEEDS)
    it(`${r.name}: bench/chaos/regressions/${r.name}.json replays seed ${r.seed}, ${r.faults} faults`, () => {
      const file = join(process.cwd(), 'bench', 'chaos', 'regressions', `${r.name}.json`);
      const plan = parseSchedule(readFileSync(file, 'utf8'));
      assert.equal(plan.seed, r.seed);
      assert.equal(plan.steps.length, r.faults);
      assert.ok(r.found.length > 20 && r.test.length > 0);
    });
  it('names each seed once', () => {
    const names = REGRESSION_SEEDS.map((r) => r.name);
    assert.equal(new Set(names).size, names.length);
  });
});
