// The IPC protocol between the node supervisor and its SIP worker child (see DESIGN.md "Processes on each host").
// Node → worker: heartbeats, role changes, stop. Worker → node: heartbeat answers, readiness, first request served.

export type WorkerRole = 'primary' | 'backup';

export type NodeToWorker =
  /** IPC heartbeat; the worker answers with `pong` carrying the same seq. */
  | { type: 'ping'; seq: number }
  /** Only a primary worker acts on timers with outside effects (expiry, dialog timeouts, anything sent unasked). */
  | { type: 'role'; role: WorkerRole }
  /** Graceful stop: stop accepting, finish in-flight work for at most `graceMs`, exit 0. */
  | { type: 'stop'; graceMs: number };

export type WorkerToNode =
  /** Heartbeat answer; `loopLagMs` is the worker's worst event-loop delay since the last ping. */
  | { type: 'pong'; seq: number; loopLagMs: number }
  /** Sockets are bound (the backup's are bound to the VIP already, via ip_nonlocal_bind). */
  | { type: 'ready'; listening: Array<{ transport: 'udp' | 'tcp'; address: string; port: number }> }
  /** The first SIP request answered after becoming primary, epoch ms (closes the switchover timeline). */
  | { type: 'served'; atEpochMs: number; method: string }
  | { type: 'fatal'; message: string };

export function isWorkerToNode(m: unknown): m is WorkerToNode {
  return typeof m === 'object' && m !== null && typeof (m as { type?: unknown }).type === 'string';
}

export function isNodeToWorker(m: unknown): m is NodeToWorker {
  return typeof m === 'object' && m !== null && typeof (m as { type?: unknown }).type === 'string';
}
