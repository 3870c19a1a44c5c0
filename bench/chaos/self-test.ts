// The checker's self-test: runs against nodes broken on purpose (SIPHA_TEST_BREAK, src/ha/test-break.ts), each
// of which the checker must report. An audit that never fires looks exactly like a pair that never fails
// (Pacemaker's CTS ran for years with "resource active on two nodes" disabled), so CI runs these too.

import type { TestBreak } from '../../src/ha/test-break.js';
import type { InvariantName } from '../../src/lab/chaos/invariants.js';
import type { Schedule } from '../../src/lab/chaos/schedule.js';
import type { ChaosOptions } from './run.js';

export interface SelfTest {
  name: string;
  break: TestBreak;
  /** The violation the checker must report. */
  expect: InvariantName;
  options(out: string): Omit<ChaosOptions, 'say'>;
}

/** One manual switchover asked of the primary, 500 ms into the run: the move each broken node gets wrong. */
const ONE_SWITCHOVER: Schedule = {
  seed: 0,
  version: 1,
  steps: [{ n: 1, atMs: 500, kind: 'switchover', fault: 'switchover', target: 'primary', holdMs: 0 }],
};

const small = { sippRate: 20, sippUsers: 200, clientUsers: 50, callIntervalMs: 0, callHoldMs: 0 };

export const SELF_TESTS: readonly SelfTest[] = [
  {
    // The old primary never removes the VIP: after the switchover two hosts answer ARP for it.
    name: 'vip-kept',
    break: 'keep-vip',
    expect: 'single-vip-owner',
    options: (out) => ({
      ...small,
      schedule: { ...ONE_SWITCHOVER, seed: 1 },
      out: `${out}/self-test-keep-vip`,
      env: { SIPHA_TEST_BREAK: 'keep-vip' },
      checker: { settleBoundMs: 5000 },
    }),
  },
  {
    // The backup drops the bindings streamed to it: after the switchover the new primary lacks the users
    // registered since its snapshot, which the client was promised (2xx).
    name: 'replication-dropped',
    break: 'drop-replicated',
    expect: 'registrations-kept',
    options: (out) => ({
      ...small,
      schedule: { ...ONE_SWITCHOVER, seed: 2 },
      out: `${out}/self-test-drop-replicated`,
      env: { SIPHA_TEST_BREAK: 'drop-replicated' },
    }),
  },
];
