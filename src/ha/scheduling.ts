// Scheduling priority for the node and its SIP worker (ha.node_nice, ha.worker_nice). The node's heartbeats must
// leave on time when its worker, SIPp or anything else eats every core, or the peer calls a busy-but-alive node
// dead and moves the VIP: a false failover. So the node runs at a higher priority than the worker (keepalived does
// the same with its own vrrp_priority / Nice). On Linux a nice value belongs to a thread, not a process, so every
// thread of this process is set (V8's and libuv's threads exist before the first line of JavaScript runs); threads
// created later inherit the main thread's value.
import { readdirSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';
import { errorMessage } from '../net/errors.js';

export interface NiceResult {
  ok: boolean;
  /** The main thread's nice value afterwards. */
  nice: number;
  /** Why it could not be set (no permission to raise it, not Linux, …). */
  detail?: string;
}

/** The thread ids of this process (Linux), or just the process where /proc is not there. */
function threads(): number[] {
  try {
    return readdirSync('/proc/self/task').map(Number).filter(Number.isInteger);
  } catch {
    return [0];
  }
}

/** Sets every thread of this process to `nice`; lowering the nice value needs root or CAP_SYS_NICE. */
export function setOwnNice(nice: number, tids: () => number[] = threads): NiceResult {
  const current = getPriority(0);
  if (current === nice) return { ok: true, nice };
  let failure: string | undefined;
  for (const tid of tids()) {
    try {
      setPriority(tid, nice);
    } catch (err) {
      failure ??= errorMessage(err);
    }
  }
  const after = getPriority(0);
  return failure === undefined && after === nice
    ? { ok: true, nice: after }
    : { ok: false, nice: after, detail: failure ?? `nice is ${after}` };
}
