// The failover benchmark's settings (environment variables) and what every part of it shares: the SIPp load on
// the VIP, the monotonic clock and the progress log.
import type { Lab } from '../../src/lab/lab.js';
import { clientSipp, OPTIONS_REGISTER, type SippResult } from '../../src/lab/sipp.js';

export const TRIALS = Number(process.env.BENCH_TRIALS ?? 20);
export const ONLY = process.env.BENCH_ONLY?.split(',').filter((s) => s !== '');
export const SIPP_RATE = Number(process.env.BENCH_SIPP_RATE ?? 50);
export const SOAK_S = Number(process.env.BENCH_SOAK_S ?? 0);
export const SOAK_RATE = Number(process.env.BENCH_SOAK_RATE ?? 500);
export const DEBUG = process.env.BENCH_DEBUG !== undefined;
export const PROBE_INTERVAL_MS = 5;

/** Whether BENCH_ONLY (when set) names this row. */
export const wanted = (key: string): boolean => ONLY === undefined || ONLY.includes(key);

/** CLOCK_MONOTONIC in ms: the prober on C stamps its probes with the same clock. */
export const mono = (): number => Number(process.hrtime.bigint()) / 1e6;
export const log = (s: string): void => {
  process.stderr.write(`${s}\n`);
};
export const round = (x: number): number => Math.round(x * 10) / 10;

let sippPort = 6000;

/** SIPp on C: OPTIONS+REGISTER through the VIP at `rate` calls/s for `seconds`. */
export function load(lab: Lab, seconds: number, rate: number): Promise<SippResult> {
  return clientSipp(
    lab,
    {
      scenario: OPTIONS_REGISTER,
      port: sippPort++,
      rate,
      calls: Math.round(rate * seconds),
      limit: Math.max(500, rate * 4),
      maxNonInviteRetrans: 6,
    },
    (seconds + 60) * 1000,
  ).result;
}
