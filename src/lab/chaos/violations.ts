// Violations found by the chaos checker. One entry per distinct offence (invariant + key), with the time it
// first occurred and how often it was seen, so a split brain lasting minutes is one line, not 20,000.

export type InvariantName =
  | 'single-vip-owner'
  | 'term-monotonic'
  | 'unique-primary-per-term'
  | 'service-resumes'
  | 'registrations-kept'
  | 'calls-end'
  | 'pair-settles'
  | 'no-crash';

export interface Violation {
  invariant: InvariantName;
  /** When the offending episode began (ms, the samples' clock). */
  t: number;
  detail: string;
  /** How many times this offence (same invariant and key) was seen. */
  count: number;
}

export class Violations {
  private readonly byKey = new Map<string, Violation>();

  add(invariant: InvariantName, key: string, t: number, detail: string): void {
    const k = `${invariant}\u0000${key}`;
    const seen = this.byKey.get(k);
    if (seen) seen.count++;
    else this.byKey.set(k, { invariant, t, detail, count: 1 });
  }

  /** In order of first occurrence (stable for equal times: insertion order). */
  list(): Violation[] {
    return [...this.byKey.values()].sort((a, b) => a.t - b.t);
  }
}
