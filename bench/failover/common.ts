// The failover benchmark's settings (environment variables) and what every part of it shares: the SIPp load on
// the VIP, the monotonic clock and the progress log.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Lab } from '../../src/lab/lab.js';
import { clientSipp, OPTIONS_REGISTER, type SippResult, writeInjection } from '../../src/lab/sipp.js';

export const TRIALS = Number(process.env.BENCH_TRIALS ?? 20);
export const ONLY = process.env.BENCH_ONLY?.split(',').filter((s) => s !== '');
export const SIPP_RATE = Number(process.env.BENCH_SIPP_RATE ?? 50);
export const SOAK_S = Number(process.env.BENCH_SOAK_S ?? 0);
export const SOAK_RATE = Number(process.env.BENCH_SOAK_RATE ?? 500);
/** The soak's population: each user re-registers in turn (phones refresh; they do not pile up). */
export const SOAK_USERS = Number(process.env.BENCH_SOAK_USERS ?? 20_000);
const OPTIONS_REGISTER_POOL = join(process.cwd(), 'test', 'ha', 'sipp', 'options-register-pool.xml');
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

/**
 * SIPp on C: OPTIONS+REGISTER through the VIP at `rate` calls/s for `seconds`; each REGISTER a new user, or, with
 * `users`, the next user of a population of that size (cycled).
 */
export function load(lab: Lab, seconds: number, rate: number, users?: number): Promise<SippResult> {
  const inf =
    users === undefined
      ? undefined
      : writeInjection(
          join(mkdtempSync(join(tmpdir(), 'sipha-soak-')), 'users.csv'),
          Array.from({ length: users }, (_, i) => `${i + 1}`),
        );
  return clientSipp(
    lab,
    {
      scenario: users === undefined ? OPTIONS_REGISTER : OPTIONS_REGISTER_POOL,
      ...(inf === undefined ? {} : { inf }),
      port: sippPort++,
      rate,
      calls: Math.round(rate * seconds),
      limit: Math.max(500, rate * 4),
      maxNonInviteRetrans: 6,
    },
    (seconds + 60) * 1000,
  ).result;
}
