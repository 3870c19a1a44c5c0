// Every HA timing constant in one place, and the role machine's timers in ticks (the machine counts ticks, the
// node turns milliseconds into ticks once, here). Names follow VRRP (RFC 5798 §6.1) where one applies.
import type { RoleConfig } from './role-state.js';

/** Ticks per heartbeat: time in the machine is this much finer than the heartbeat (10 ms at the default 50 ms). */
export const TICKS_PER_HEARTBEAT = 5;
/**
 * Silence, in heartbeat intervals, after which a peer whose kernel refused a heartbeat on every path (ICMP port
 * unreachable) is dead: more than one interval, so that a live peer's next heartbeat comes first and clears
 * forged evidence, with a fifth of an interval for its jitter. (1.5 cost 20 ms more per takeover in the lab; a
 * forger must also quote each path's ephemeral source port in the ICMP, and block or outrun every heartbeat.)
 */
export const FAST_DEAD_HEARTBEATS = 1.2;
/** How long an operator's switchover waits for the new primary to be seen. */
export const SWITCHOVER_WAIT_MS = 5000;
/** A replication report older than this says nothing about now. */
export const REPORT_FRESH_MS = 1000;
/** How long a manual switchover waits for the backup to acknowledge everything before giving up. */
export const DRAIN_MS = 2000;
/** The last drain, between removing the VIP and resigning: it lengthens the gap, so it is short. */
export const FINAL_DRAIN_MS = 50;
/** A switchover timeline still open after this long is closed as it is. */
export const TIMELINE_CLOSE_MS = 10_000;
/** Until it is ready the worker loads code and binds sockets: this start timeout applies, not the pulse. */
export const WORKER_START_TIMEOUT_MS = 15_000;
/** The worker restart backoff doubles up to this. */
export const WORKER_RESTART_MAX_MS = 10_000;
/** Pongs under the stall threshold before a worker-stall alarm clears (1 s at the default heartbeat). */
export const STALL_QUIET_PONGS = 20;
/** How long a stopping node waits for its worker to exit after asking, before killing it. */
export const WORKER_STOP_KILL_MS = 2000;
/** Grace the stopping worker has for transactions in flight. */
export const WORKER_STOP_GRACE_MS = 1000;

export interface HaTimersConfig {
  heartbeat_ms: number;
  dead_after_ms: number;
}

export interface RoleTimers {
  tickMs: number;
  config: Pick<
    RoleConfig,
    | 'heartbeatTicks'
    | 'deadTicks'
    | 'fastDeadTicks'
    | 'holdTicks'
    | 'retryTicks'
    | 'vipCheckTicks'
    | 'vipProbeTicks'
  >;
}

/**
 * The config's milliseconds as the machine's ticks. `vipCheck`: the node can ask the VIP over SIP (SIP
 * monitoring on) before it takes over a silent peer.
 */
export function roleTimers(ha: HaTimersConfig, vipCheck = false): RoleTimers {
  const tickMs = ha.heartbeat_ms / TICKS_PER_HEARTBEAT;
  // Silence is counted from the tick after the last message, so one more tick keeps the verdict from coming
  // before dead_after_ms (it comes within one tick after it).
  const deadTicks = Math.ceil(ha.dead_after_ms / tickMs) + 1;
  return {
    tickMs,
    config: {
      heartbeatTicks: TICKS_PER_HEARTBEAT,
      deadTicks,
      // The same extra tick; always short of deadTicks (dead_after_ms ≥ 2 heartbeats leaves room for it).
      fastDeadTicks: Math.min(Math.ceil(FAST_DEAD_HEARTBEATS * TICKS_PER_HEARTBEAT) + 1, deadTicks - 1),
      // A node that resigned stays out of elections for two dead intervals.
      holdTicks: Math.ceil((2 * ha.dead_after_ms) / tickMs),
      // A failed VIP release is retried once per heartbeat.
      retryTicks: TICKS_PER_HEARTBEAT,
      // Asked at a third of the dead interval, answered (or timed out) two ticks before the verdict: no takeover
      // waits for the check. The answer gets two thirds (120 ms of probe at the default 200 ms): a live primary
      // on a loaded 2-core machine answered in 30–60 ms and, at half (90 ms), now and then too late.
      vipCheckTicks: vipCheck ? Math.floor(deadTicks / 3) : 0,
      vipProbeTicks: vipCheck ? Math.max(1, deadTicks - Math.floor(deadTicks / 3) - 2) : 0,
    },
  };
}

/** A tick this much later than due means this process did not run (the peer's silence was ours). */
export function lateTickMs(ha: HaTimersConfig): number {
  return Math.max(ha.heartbeat_ms, ha.dead_after_ms / 2);
}

/**
 * Cluster mode: how long a primary whose etcd lease ran out waits while its peer reports etcd reachable before the
 * failsafe ends. The two nodes' renewals are out of step (a renewal in flight when etcd comes back fails first, a
 * client reconnects on its own schedule, a loaded host is late), and the peer's report takes heartbeats to arrive:
 * two TTLs, a request timeout and three heartbeats. Waiting is safe — while it hears this node as primary the peer
 * does not ask for the permit — and costs nothing but a later handover when this node really is cut off.
 */
export function quorumSettleTicks(
  leaseTtlS: number,
  requestTimeoutMs: number,
  heartbeatMs: number,
  tickMs: number,
): number {
  return Math.ceil((leaseTtlS * 2000 + requestTimeoutMs + 3 * heartbeatMs) / tickMs);
}
