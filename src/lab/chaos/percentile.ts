// Nearest-rank percentile (no interpolation: every figure reported is a gap that was really measured).

/** The q-quantile (0 < q ≤ 1) of ascending-sorted values, by nearest rank; null for no values. */
export function percentile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1] as number;
}
