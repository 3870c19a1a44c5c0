// The chaos run's seeded random source: every random decision of a run comes from one uint32 seed, so that a
// failing run is replayed from its seed alone (the practice of Jepsen and etcd's robustness tests).

export interface Rng {
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [min, maxInclusive]. */
  int(min: number, maxInclusive: number): number;
  pick<T>(xs: readonly T[]): T;
  /** True with probability p. */
  chance(p: number): boolean;
  /**
   * An independent stream derived from this stream's seed and the label, not from how far it was drawn: each
   * decision reads its own fork, so adding a random decision in one place does not shift every other one.
   */
  fork(label: string): Rng;
}

export const MAX_SEED = 0xffff_ffff;

/** Throws unless `seed` is an integer in 0..2^32-1 (what a uint32 state holds without losing bits). */
export function checkSeed(seed: number): number {
  if (!Number.isInteger(seed) || seed < 0 || seed > MAX_SEED)
    throw new RangeError(`the seed must be an integer from 0 to ${MAX_SEED}, got ${seed}`);
  return seed;
}

/** A seed as typed on the command line: decimal digits only (no sign, exponent or fraction). */
export function parseSeed(text: string): number {
  if (!/^\d+$/.test(text.trim()))
    throw new RangeError(`the seed must be an integer from 0 to ${MAX_SEED}, got '${text}'`);
  return checkSeed(Number(text.trim()));
}

/** SplitMix32's output function (a murmur3-style finalizer): a bijection on uint32, so it also hashes labels. */
function mix(z: number): number {
  z = Math.imul(z ^ (z >>> 16), 0x85eb_ca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2_ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** FNV-1a of the label's UTF-16 code units, folded with the parent seed. */
function deriveSeed(seed: number, label: string): number {
  let h = 0x811c_9dc5 ^ seed;
  for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 0x0100_0193);
  return mix(h >>> 0);
}

// SplitMix32 (a Weyl sequence through a finalizer): tiny, every uint32 seed is a good one with the full 2^32
// period, and unlike mulberry32 its output step is a bijection (no value is skipped); not for cryptography.
export function createRng(seed: number): Rng {
  const base = checkSeed(seed);
  let state = base;
  const next = () => {
    state = (state + 0x9e37_79b9) >>> 0;
    return mix(state) / 0x1_0000_0000;
  };
  const rng: Rng = {
    next,
    int(min, maxInclusive) {
      if (!Number.isSafeInteger(min) || !Number.isSafeInteger(maxInclusive) || min > maxInclusive)
        throw new RangeError(`int(${min}, ${maxInclusive}): not a range of integers`);
      return min + Math.floor(next() * (maxInclusive - min + 1));
    },
    pick(xs) {
      if (xs.length === 0) throw new RangeError('pick from an empty list');
      return xs[Math.floor(next() * xs.length)] as (typeof xs)[number];
    },
    chance(p) {
      if (!(p >= 0 && p <= 1)) throw new RangeError(`chance(${p}): not a probability`);
      return next() < p;
    },
    fork: (label) => createRng(deriveSeed(base, label)),
  };
  return rng;
}
