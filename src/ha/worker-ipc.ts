// The IPC protocol between the node supervisor and its SIP worker child (see DESIGN.md "Processes on each host").
// Node → worker: heartbeats, role changes, stop. Worker → node: heartbeat answers, readiness, first request served.
import type { DirectoryCounters } from '../server/remote-directory.js';
import type { TransportProtocol } from '../sip/transport/types.js';
import type { AckWaitStats } from './replication/ack-barrier.js';

export type WorkerRole = 'primary' | 'backup';

/** Cluster mode's fencing tokens as the node knows them (etcd revisions of permits won; 0: none). */
export interface FenceView {
  own: number;
  highest: number;
}

export type NodeToWorker =
  /** IPC heartbeat; the worker answers with `pong` carrying the same seq. */
  | { type: 'ping'; seq: number }
  /**
   * Only a primary worker acts on timers with outside effects (expiry, dialog timeouts, anything sent unasked).
   * Cluster mode: `fence` — this node's fencing token and the highest the node has seen (its own or the peer's):
   * the replication stream carries the first, and a replica refuses a primary below the second.
   */
  | { type: 'role'; role: WorkerRole; fence?: FenceView }
  /** Graceful stop: stop accepting, finish in-flight work for at most `graceMs`, exit 0. */
  | { type: 'stop'; graceMs: number }
  /** Lossless handover: answer `drained` once the backup has acknowledged every change so far (or on timeout). */
  | { type: 'drain'; id: number; timeoutMs: number; handover?: boolean }
  /** Management API: the worker answers with `answer` carrying the same id. */
  | { type: 'query'; id: number; what: WorkerQuery; limit: number }
  /** SIGHUP at the node: read the config file again and apply what can change live (SipServer.reload). */
  | { type: 'reload' };

export type WorkerToNode =
  /**
   * Heartbeat answer; `loopLagMs` is the worker's worst event-loop delay since the last ping; `sipIn` the SIP
   * messages received since the worker started (the node's SIP traffic watch on the VIP); `overload` whether its
   * overload control sheds new requests now (the node's sip-overload alarm).
   */
  | { type: 'pong'; seq: number; loopLagMs: number; sipIn?: number; overload?: boolean }
  /** Sockets are bound (the backup's are bound to the VIP already, via ip_nonlocal_bind). */
  | { type: 'ready'; listening: Array<{ transport: TransportProtocol; address: string; port: number }> }
  /**
   * A backup worker's replication connection to the primary was reset (TCP RST) or closed (FIN) by the far end:
   * evidence for the role machine that the peer's processes are gone (unauthenticated, so never a verdict alone).
   */
  | { type: 'peer-conn-lost'; how: 'reset' | 'closed' }
  /** The first SIP request answered after becoming primary, epoch ms (closes the switchover timeline). */
  | { type: 'served'; atEpochMs: number; method: string }
  | { type: 'fatal'; message: string }
  /**
   * State replication (every ~200 ms and on change). On a primary, `synced` means its backup has applied the
   * snapshot and acknowledges the stream; on a backup, that this replica has applied the snapshot and caught up.
   * Lag is acknowledgement time − change time on the primary (null on a backup or before any sample).
   */
  | ({ type: 'replication' } & ReplicationStatus)
  /** Answer to `drain`: ok when the backup acknowledged `lastSeq`, the last change made before the answer. */
  | { type: 'drained'; id: number; ok: boolean; lastSeq: number; ackedSeq: number; detail: string }
  /** Answer to `query` (only the asked-for field is set). */
  | {
      type: 'answer';
      id: number;
      registrations?: RegistrationView[];
      calls?: CallView[];
      counters?: SipCounters;
      /** How many there are in all (the lists stop at the query's limit). */
      total?: number;
    }
  /** A registration added or removed on a primary worker (a backup's replicated changes are not reported). */
  | {
      type: 'registration';
      change: 'added' | 'removed';
      aor: string;
      contact: string;
      reason: string;
      at: number;
    }
  /** A call (dialog) change on a primary worker: the source of the CTI stream. */
  | { type: 'call'; change: 'created' | 'confirmed' | 'terminated'; call: CallView; at: number };

export type WorkerQuery = 'registrations' | 'calls' | 'counters';

/** A binding as the management API lists it: lifetime left, not a clock time. */
export interface RegistrationView {
  aor: string;
  contact: string;
  q: number;
  expiresInS: number;
  received: string | null;
}

/** A call (INVITE dialog) as the management API and the CTI stream show it. */
export interface CallView {
  /** Call-ID;from-tag;to-tag */
  id: string;
  callId: string;
  caller: string;
  callee: string;
  state: 'early' | 'confirmed' | 'terminated';
  createdAt: number;
  confirmedAt: number | null;
  endedAt: number | null;
  endReason: string | null;
}

/** The SIP counters behind /metrics, since the worker started. */
export interface SipCounters {
  requestsByMethod: Record<string, number>;
  responsesByStatus: Record<string, number>;
  parseErrors: Record<string, number>;
  messagesIn: number;
  messagesOut: number;
  transactionTimeouts: number;
  retransmissionsAbsorbed: number;
  /** Client transactions failed by a transport error (§17.1.4): ICMP errors, refused or reset TCP connections. */
  transportErrors: number;
  /** Next hops the socket layer found unreachable (§18.4), and sends that failed at once. */
  unreachable: number;
  sendErrors: number;
  activeTransactions: number;
  bindings: number;
  dialogs: number;
  /** New requests answered 503 by overload control (§21.5.4), by method; the ACKs for those 503s dropped. */
  overloadRejectedByMethod: Record<string, number>;
  overloadAcksDropped: number;
  /** Whether overload control is shedding now (with its hysteresis), and the fraction of new requests it rejects. */
  overloadActive: boolean;
  overloadFraction: number;
  /** Connections open and accepted so far, by transport (tcp, tls, ws, wss). */
  connectionsOpen?: Record<string, number>;
  connectionsAccepted?: Record<string, number>;
  /** TLS handshakes done, resumed (a session ticket), failed, refused by the handshake admission limit. */
  tlsHandshakes?: Record<string, number>;
  /** WebSocket upgrades refused (no `sip` subprotocol, origin, limit). */
  wsRefused?: number;
  /** Bindings reached only over their flow, and registrations that moved a binding to a new flow. */
  flows?: number;
  flowRebinds?: number;
  /** Cluster mode: the directory's local copy and its traffic with etcd (src/cluster/directory.ts). */
  cluster?: DirectoryCounters;
  /** Several SIP workers (src/workers/): each one's steering and shared-state figures, by index. */
  workers?: SiblingStatus[];
}

/** One SIP worker among several: its links to its siblings, what it steered, and its view of the shared state. */
export interface SiblingStatus {
  index: number;
  count: number;
  /** Siblings this worker's links reach now. */
  siblingsUp: number;
  /** Messages received here for another worker, and received by another worker for this one. */
  steeredOut: number;
  steeredIn: number;
  /** Steered messages dropped: the home worker's queue was full. */
  steerDropped: number;
  /** Messages this worker handled itself (its own and those steered to it). */
  messagesIn: number;
  /** Registrations (bindings) and calls this worker holds: every worker holds them all once in sync. */
  bindings: number;
  dialogs: number;
  /** `keeper` (worker 0) holds the union and streams it; a `member` follows it (`synced` once its snapshot is in). */
  state: { role: 'keeper' | 'member'; synced: boolean; seq: number; members?: number };
}

export function isWorkerToNode(m: unknown): m is WorkerToNode {
  return typeof m === 'object' && m !== null && typeof (m as { type?: unknown }).type === 'string';
}

export function isNodeToWorker(m: unknown): m is NodeToWorker {
  return typeof m === 'object' && m !== null && typeof (m as { type?: unknown }).type === 'string';
}

/** The worker's replication state, as reported to its node. */
export interface ReplicationStatus {
  role: WorkerRole;
  synced: boolean;
  connected: boolean;
  lastSeq: number;
  ackedSeq: number;
  lagP50Ms: number | null;
  lagP99Ms: number | null;
  bindings: number;
  dialogs: number;
  /** Backup: ms since its replica was last synced (0 now, null never). Primary: null. */
  lastSyncedAgoMs: number | null;
  /** Primary: whether its replica was synced when it was promoted (null: never promoted, started primary). */
  promotedSynced: boolean | null;
  /** Primary: responses held until the backup acknowledged their change (ha.replication.ack_wait_ms), since start. */
  ackWait?: AckWaitStats;
}
