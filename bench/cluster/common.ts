// The cluster benchmark's settings (environment variables) and what its parts share: the log, the clocks,
// percentiles, bounded waits and free loopback ports.

export const TRIALS = Number(process.env.BENCH_TRIALS ?? 5);
export const ONLY = process.env.BENCH_ONLY?.split(',').filter((s) => s !== '');
/** Part 1: the REGISTER rate and how long each phase (all new, all refreshes) lasts. */
export const REG_RATE = Number(process.env.BENCH_REG_RATE ?? 1000);
export const REG_SECONDS = Number(process.env.BENCH_REG_S ?? 10);
/** Part 2: calls per path (cross-pair, same-pair). */
export const CALLS = Number(process.env.BENCH_CALLS ?? 200);
/** Part 3: user moves, and the AoRs a dying pair holds. */
export const MOVES = Number(process.env.BENCH_MOVES ?? 10);
export const DEAD_PAIR_AORS = Number(process.env.BENCH_DEAD_PAIR_AORS ?? 50);
export const DOMAIN = 'example.test';

export const wanted = (part: string): boolean => ONLY === undefined || ONLY.includes(part);

export const log = (s: string): void => {
  process.stderr.write(`${s}\n`);
};
/** Monotonic ms, for durations measured inside this process. */
export const mono = (): number => performance.now();
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
export const round = (x: number): number => Math.round(x * 10) / 10;

/** The q-quantile (nearest rank) of xs; NaN when empty. */
export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] as number;
}

export interface Summary {
  n: number;
  p50: number;
  p99: number;
  max: number;
  mean: number;
}

export function summary(xs: readonly number[]): Summary {
  const mean = xs.length === 0 ? Number.NaN : xs.reduce((a, b) => a + b, 0) / xs.length;
  return {
    n: xs.length,
    p50: round(quantile(xs, 0.5)),
    p99: round(quantile(xs, 0.99)),
    max: round(xs.length === 0 ? Number.NaN : Math.max(...xs)),
    mean: round(mean),
  };
}

/** Polls cond every stepMs until it holds or timeoutMs passed; whether it held. */
export async function until(
  cond: () => boolean | Promise<boolean>,
  timeoutMs: number,
  stepMs = 2,
): Promise<boolean> {
  const deadline = mono() + timeoutMs;
  for (;;) {
    if (await cond()) return true;
    if (mono() > deadline) return false;
    await sleep(stepMs);
  }
}

export { freePort } from '../../src/lab/free-port.js';
