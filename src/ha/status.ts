// What the HA node shows the outside world (management API, CLI, lab): its status, its events, the answer to a
// switchover. Types only, so that the management layer depends on these shapes and not on the node class.
import type { PermitStatus } from '../cluster/pair-permit.js';
import type { SipMonitorStatus } from '../monitor/sip-monitor.js';
import type { WitnessStatus } from '../monitor/witness.js';
import type { PeerLinkStatus } from './peer-link.js';
import type { PeerView, Role } from './role-state.js';
import type { Timeline } from './timeline.js';
import type { NodeToWorker, ReplicationStatus, WorkerToNode } from './worker-ipc.js';

export type { Timeline } from './timeline.js';

export type AlarmSeverity = 'info' | 'warning' | 'critical';

/** A health change: raised with a severity and a plain message, and cleared again (an event too). */
export interface Alarm {
  at: number;
  alarm: string;
  detail: string;
  severity: AlarmSeverity;
  state: 'raised' | 'cleared';
}

export interface WorkerStatus {
  pid: number | null;
  ready: boolean;
  restarts: number;
  lastPongAgoMs: number | null;
  loopLagMs: number | null;
  /** A pool of SIP workers (`sip.workers` > 1): each one; the fields above are then the pool's aggregate. */
  workers?: WorkerMemberStatus[];
}

export type WorkerMemberStatus = Omit<WorkerStatus, 'workers'> & { index: number };

export interface HaStatus {
  node: { id: string; priority: number; pid: number };
  role: Role;
  term: number;
  ready: boolean;
  healthy: boolean;
  healthReason: string;
  vip: { address: string; wanted: boolean };
  peer: PeerView & { link: PeerLinkStatus };
  witnesses: WitnessStatus;
  worker: WorkerStatus;
  /** The SIP worker's replication report: synced, lag, bindings and dialogs held; null until one came. */
  replication: (ReplicationStatus & { ageMs: number }) | null;
  timelines: Timeline[];
  /** Alarm events, raised and cleared, oldest first (the last 100). */
  alarms: Alarm[];
  /** The alarms raised and not cleared. */
  activeAlarms: Alarm[];
  /** Cluster mode: the pair's permit in etcd, as the role machine and the etcd client see it; null without it. */
  cluster: ClusterNodeStatus | null;
  /** SIP traffic monitoring; null when monitoring.sip_traffic.enabled is false. */
  monitoring:
    | (SipMonitorStatus & { health: Record<'worker' | 'sip', { ok: boolean; reason: string }> })
    | null;
}

export interface ClusterNodeStatus {
  pairId: string;
  failsafe: boolean;
  /** The role machine's view: this node's lease, its permit and its fencing token. */
  quorum: { etcd: string; permit: string; fence: number };
  /** The etcd client's view (lease, time left on it, renewal round trip, the holder, the last error). */
  etcd: PermitStatus;
}

/** What the management layer hears from the node: in order, as it happens. */
export type NodeEvent =
  | { type: 'role'; from: Role; to: Role; term: number; cause: string; at: number }
  | { type: 'alarm'; alarm: Alarm }
  | { type: 'timeline'; timeline: Timeline }
  /** Every message of the SIP worker (calls, registrations, query answers, replication reports). */
  | { type: 'worker'; message: WorkerToNode };

export interface SwitchoverReply {
  ok: boolean;
  detail: string;
  /** Who is primary once it is over, as seen from this node (null when it did not settle in time). */
  primary: string | null;
  term: number;
  timeline?: Timeline;
}

/** The node as the management layer drives it. */
export interface NodeHandle {
  status(): HaStatus;
  switchover(force?: boolean): Promise<SwitchoverReply>;
  onEvent(fn: (e: NodeEvent) => void): () => void;
  toWorker(m: NodeToWorker): boolean;
}
