// Failover benchmark: how long the VIP goes unanswered after a fault, for sipha and for keepalived in the same lab
// (two-NIC topology, same SIP service on the VIP, same probe). A prober on host C (prober.ts) sends an OPTIONS to
// the VIP every 5 ms, each a new transaction; SIPp loads the VIP with OPTIONS+REGISTER during every trial and
// counts its failed calls. sipha's faults are the lab's fault catalogue, applied to a settled pair (trials.ts);
// keepalived is the baseline (keepalived.ts). Crashes are reported by recovery, planned moves (manual switchover,
// keepalived clean stop) by gap (prober.ts says which is which). Prints a table and writes
// bench/results/failover.json (report.ts). Needs root (network namespaces), sipp, and keepalived for its rows.
//   BENCH_TRIALS (20)  BENCH_ONLY=kill9,kill9-late,sigstop,worker,nicdown,switchover,soak,ka-crash-0.1,… (all)
//   BENCH_SIPP_RATE (50 OPTIONS+REGISTER pairs/s per trial)  BENCH_SOAK_S (0: no soak)  BENCH_SOAK_RATE (500)
//   BENCH_DEBUG (print the probe's answers around each fault)
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { log, PROBE_INTERVAL_MS, SIPP_RATE, TRIALS } from './common.js';
import { keepalivedWanted, killKeepalivedSync, runKeepalived } from './keepalived.js';
import { type Row, report } from './report.js';
import { runSipha } from './trials.js';

async function main(): Promise<number> {
  if (process.getuid?.() !== 0) {
    log('bench:failover needs root (network namespaces): sudo npm run bench:failover');
    return 1;
  }
  const needs = ['sipp', 'ip', ...(keepalivedWanted() ? ['keepalived'] : [])];
  for (const bin of needs) {
    if (spawnSync('sh', ['-c', `command -v ${bin}`]).status !== 0) {
      log(`bench:failover: ${bin} is missing (apt-get install sip-tester keepalived iproute2)`);
      return 1;
    }
  }
  process.on('exit', killKeepalivedSync);
  process.on('SIGINT', () => {
    killKeepalivedSync();
    process.exit(130);
  });
  const startedAt = new Date();
  const loadBefore = loadavg();
  const rows: Row[] = [];
  log(
    `failover benchmark: ${TRIALS} trials per scenario, SIPp ${SIPP_RATE} OPTIONS+REGISTER/s, probe every ${PROBE_INTERVAL_MS} ms`,
  );
  const soak = await runSipha(rows);
  await runKeepalived(rows);
  report({ startedAt, loadBefore, rows, soak });
  return 0;
}

main()
  .then((code) => {
    process.exitCode = code;
  })
  .catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
