import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { checkSeed, createRng, MAX_SEED, parseSeed, type Rng } from '../../../src/lab/chaos/random.js';

const draw = (rng: Rng, n: number) => Array.from({ length: n }, () => rng.next());

describe('chaos random source', () => {
  it('is the same stream for the same seed, and pinned (a change would invalidate every recorded seed)', () => {
    assert.deepEqual(draw(createRng(42), 100), draw(createRng(42), 100));
    assert.deepEqual(draw(createRng(42), 3), [0.21884025167673826, 0.9193855235353112, 0.07482402282766998]);
    assert.deepEqual(draw(createRng(42).fork('kind'), 2), [0.6624126462265849, 0.106861392268911]);
  });

  it('differs between seeds, the extreme seeds included', () => {
    const firsts = new Set([0, 1, 2, 3, 42, MAX_SEED - 1, MAX_SEED].map((s) => draw(createRng(s), 4).join()));
    assert.equal(firsts.size, 7);
  });

  it('next is in [0, 1) and about uniform (10 buckets of 20,000 draws)', () => {
    const rng = createRng(7);
    const buckets = new Array<number>(10).fill(0);
    for (const x of draw(rng, 20_000)) {
      assert.ok(x >= 0 && x < 1, `${x}`);
      buckets[Math.floor(x * 10)]! += 1;
    }
    for (const b of buckets) assert.ok(Math.abs(b - 2000) < 200, `${buckets}`);
  });

  it('int stays in its inclusive range and reaches both ends; pick and chance', () => {
    fc.assert(
      fc.property(fc.nat(MAX_SEED), fc.integer({ min: -1000, max: 1000 }), fc.nat(20), (seed, min, width) => {
        const rng = createRng(seed);
        for (let i = 0; i < 50; i++) {
          const v = rng.int(min, min + width);
          assert.ok(Number.isInteger(v) && v >= min && v <= min + width);
        }
      }),
    );
    const rng = createRng(3);
    const seen = new Set(Array.from({ length: 500 }, () => rng.int(1, 6)));
    assert.deepEqual([...seen].sort(), [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(
      new Set(Array.from({ length: 200 }, () => rng.pick(['a', 'b', 'c']))),
      new Set(['a', 'b', 'c']),
    );
    assert.ok(Array.from({ length: 100 }, () => rng.chance(0)).every((x) => !x));
    assert.ok(Array.from({ length: 100 }, () => rng.chance(1)).every((x) => x));
    const hits = Array.from({ length: 10_000 }, () => rng.chance(0.3)).filter(Boolean).length;
    assert.ok(Math.abs(hits - 3000) < 200, `${hits}`);
    assert.throws(() => rng.int(3, 2), /not a range/);
    assert.throws(() => rng.int(0.5, 2), /not a range/);
    assert.throws(() => rng.pick([]), /empty/);
    assert.throws(() => rng.chance(1.5), /not a probability/);
  });

  it('a fork depends on the seed and its label only, not on how far the parent was drawn', () => {
    const fresh = createRng(99);
    const drawn = createRng(99);
    draw(drawn, 1234);
    assert.deepEqual(draw(fresh.fork('gap'), 50), draw(drawn.fork('gap'), 50));
    assert.deepEqual(draw(fresh.fork('a').fork('b'), 10), draw(createRng(99).fork('a').fork('b'), 10));
    // Drawing from one fork leaves another untouched: the point of forking.
    const a = createRng(99);
    const g = a.fork('gap');
    draw(a.fork('kind'), 500);
    assert.deepEqual(draw(g, 50), draw(createRng(99).fork('gap'), 50));
  });

  it('forks are independent streams: of each other, of the parent and across seeds', () => {
    const streams = [
      createRng(5),
      createRng(5).fork('kind'),
      createRng(5).fork('gap'),
      createRng(5).fork('kinds'),
      createRng(6).fork('kind'),
      createRng(5).fork(''),
    ].map((r) => draw(r, 10_000));
    assert.equal(new Set(streams.map((s) => s.slice(0, 4).join())).size, streams.length);
    // Uncorrelated: the mean of x·y over the draws of two streams is near 1/4, as for independent uniforms.
    for (let i = 0; i < streams.length; i++)
      for (let j = i + 1; j < streams.length; j++) {
        const [x, y] = [streams[i]!, streams[j]!];
        const mean = x.reduce((sum, v, k) => sum + v * y[k]!, 0) / x.length;
        assert.ok(Math.abs(mean - 0.25) < 0.01, `streams ${i} and ${j}: ${mean}`);
      }
  });

  it('takes any integer seed from 0 to 2^32-1 and rejects the others clearly', () => {
    assert.equal(checkSeed(0), 0);
    assert.equal(checkSeed(MAX_SEED), 4294967295);
    for (const bad of [-1, 2 ** 32, 1.5, Number.NaN, Number.POSITIVE_INFINITY])
      assert.throws(() => createRng(bad), /the seed must be an integer from 0 to 4294967295/);
    assert.equal(parseSeed('4294967295'), MAX_SEED);
    assert.equal(parseSeed(' 17 '), 17);
    for (const bad of ['', '-1', '1e3', '0x10', '4294967296', '2.5', 'seven'])
      assert.throws(() => parseSeed(bad), /the seed must be an integer from 0 to 4294967295/, bad);
  });
});
