// The settled-pair fixture (src/lab/fixture.ts) as node:test hooks: opened before the suite's tests, closed after
// them, and a failing step keeps the node logs.
import { after, before, it } from 'node:test';
import { type FixtureOptions, PairFixture } from '../../src/lab/fixture.js';
import type { Lab } from '../../src/lab/lab.js';
import type { Pair } from '../../src/lab/pair.js';

export interface PairSuite {
  readonly fx: PairFixture;
  readonly lab: Lab;
  readonly pair: Pair;
  /** it() whose failure marks the fixture failed, so that the node logs are kept. */
  step(name: string, fn: () => Promise<void>): void;
}

/** Call inside describe(): a settled pair for the tests that follow. */
export function pairSuite(options: FixtureOptions = {}): PairSuite {
  let fx: PairFixture | undefined;
  const open = (): PairFixture => {
    if (fx === undefined) throw new Error('the pair fixture is not open');
    return fx;
  };
  before(async () => {
    fx = await PairFixture.open(options);
  });
  after(async () => {
    await fx?.close();
  });
  return {
    get fx() {
      return open();
    },
    get lab() {
      return open().lab;
    },
    get pair() {
      return open().pair;
    },
    step: (name, fn) => it(name, () => open().guard(fn)),
  };
}
