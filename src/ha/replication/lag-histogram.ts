// A small log-scale histogram of replication lags: 8 buckets per power of two from 1 µs (≈9% resolution), so
// p50/p99 cost a few hundred counters however many samples there are.
const SUB = 8;
const MIN_US = 1;
const BUCKETS = SUB * 40; // up to 2^40 µs, far beyond any lag worth reporting

export class LagHistogram {
  private readonly counts = new Float64Array(BUCKETS);
  private n = 0;
  private maxMs = 0;

  get count(): number {
    return this.n;
  }

  get max(): number {
    return this.maxMs;
  }

  record(lagMs: number): void {
    const us = Math.max(MIN_US, lagMs * 1000);
    const i = Math.min(BUCKETS - 1, Math.floor(Math.log2(us / MIN_US) * SUB));
    this.counts[i] = (this.counts[i] ?? 0) + 1;
    this.n++;
    if (lagMs > this.maxMs) this.maxMs = lagMs;
  }

  /** The upper bound (ms) of the bucket holding quantile `q` (0-1), or null without samples. */
  percentile(q: number): number | null {
    if (this.n === 0) return null;
    const want = Math.max(1, Math.ceil(q * this.n));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i] ?? 0;
      if (seen >= want) return Math.min(this.maxMs, (MIN_US * 2 ** ((i + 1) / SUB)) / 1000);
    }
    return this.maxMs;
  }

  add(other: LagHistogram): void {
    for (let i = 0; i < BUCKETS; i++) this.counts[i] = (this.counts[i] ?? 0) + (other.counts[i] ?? 0);
    this.n += other.n;
    this.maxMs = Math.max(this.maxMs, other.maxMs);
  }

  reset(): void {
    this.counts.fill(0);
    this.n = 0;
    this.maxMs = 0;
  }
}

/** Lags of roughly the last `windowMs` (two rotating halves), for a live metric that forgets old spikes. */
export class LagWindow {
  private current = new LagHistogram();
  private previous = new LagHistogram();
  private rotatedAt: number;

  constructor(
    private readonly windowMs: number,
    now: number,
  ) {
    this.rotatedAt = now;
  }

  record(lagMs: number, now: number): void {
    this.rotate(now);
    this.current.record(lagMs);
  }

  percentiles(now: number): { p50: number | null; p99: number | null; count: number } {
    this.rotate(now);
    const h = new LagHistogram();
    h.add(this.previous);
    h.add(this.current);
    return { p50: h.percentile(0.5), p99: h.percentile(0.99), count: h.count };
  }

  private rotate(now: number): void {
    const half = this.windowMs / 2;
    if (now - this.rotatedAt < half) return;
    // A long quiet spell empties both halves.
    if (now - this.rotatedAt >= this.windowMs) this.current.reset();
    [this.previous, this.current] = [this.current, this.previous];
    this.current.reset();
    this.rotatedAt = now;
  }
}
