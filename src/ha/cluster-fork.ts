// Forking a pool's SIP worker through node:cluster (`sip.workers` > 1): every worker binds the same UDP listen
// address, and cluster shares one bound handle among them (this process, the primary, holds it). Cluster's
// settings are global, so each fork sets them again for its own worker.
import type { ChildProcess } from 'node:child_process';
import cluster from 'node:cluster';
import type { WorkerSpec } from './worker-supervisor.js';

let policySet = false;

export function clusterFork(w: WorkerSpec): ChildProcess {
  if (!policySet) {
    // The kernel spreads TCP accepts among the workers: round-robin would accept every connection in this
    // process, whose event loop must stay free for heartbeats (README "Busy is not dead").
    cluster.schedulingPolicy = cluster.SCHED_NONE;
    policySet = true;
  }
  cluster.setupPrimary({
    exec: w.modulePath,
    args: [...w.args],
    execArgv: [...(w.execArgv ?? process.execArgv)],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  // cluster.fork adds process.env below these (and its own NODE_UNIQUE_ID).
  const worker = cluster.fork(w.env ?? {});
  // The cluster Worker re-emits its process's errors (an IPC write to a worker that just died: EPIPE); the
  // supervisor hears them on the process itself, so here they must not become an uncaught exception.
  worker.on('error', () => {});
  return worker.process;
}
