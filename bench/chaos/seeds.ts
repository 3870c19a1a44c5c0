// Named regression seeds (etcd's robustness tests keep every failure they found as a replayable case): each
// schedule that once broke an invariant, kept as written by that run in bench/chaos/regressions/NAME.json (a seed
// alone would not replay it once the catalogue's kinds change), with what it found and where the fix is tested.
// `npm run chaos -- --regressions` replays them all; each must now end with no violation.
export interface RegressionSeed {
  /** Also the schedule's file name in bench/chaos/regressions/. */
  name: string;
  seed: number;
  faults: number;
  found: string;
  /** The deterministic test of the fix (the seed replays the whole random run around it). */
  test: string;
}

export const REGRESSION_SEEDS: readonly RegressionSeed[] = [
  {
    name: 'ha-link-cut-dual-primary',
    seed: 1,
    faults: 6,
    found:
      'an HA link cut on every path (SIP still up) left both nodes primary for the whole cut: the backup took ' +
      'over a primary that was only unreachable',
    test: 'test/lab/faults.test.ts haLinkDown, haOneWay (the VIP check)',
  },
  {
    name: 'restart-under-ha-cut',
    seed: 11,
    faults: 100,
    found:
      'a node restarted while the HA link was cut failed its start (connect EINVAL on the heartbeat socket) ' +
      'and half-ran without an API; an orphaned worker crashed on EPIPE after kill -9 of its node',
    test: "test/lab/faults.test.ts 'a backup restarted while the HA link is cut…'",
  },
];
