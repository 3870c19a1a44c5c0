// The role machine's inputs and outputs (src/ha/role-machine.ts): events the node turns the world into, and the
// actions the node carries out, in order.
import type { Cause, EtcdView, Role } from './role-state.js';

export type RoleEvent =
  /** The persisted term, read at start before anything else. */
  | { type: 'restored'; term: number }
  /** The safe-start VIP release is done and the node listens to the world. */
  | { type: 'started' }
  | {
      type: 'peer-heartbeat';
      term: number;
      role: Role;
      priority: number;
      id: string;
      ready: boolean;
      yielding: boolean;
      /** Cluster mode (absent from a peer without it): the peer's etcd lease and fencing token. */
      etcd?: EtcdView;
      fence?: number;
    }
  | { type: 'peer-resigned'; term: number }
  /**
   * The peer's kernel says its process is gone: a heartbeat to it came back as ICMP port unreachable (RFC 792;
   * a connected UDP socket reports it as ECONNREFUSED, RFC 1122 §3.2.2.1) on `path`, or the backup worker's
   * replication connection to it was closed or reset (TCP FIN or RST). Unauthenticated: evidence, not a verdict.
   */
  | { type: 'peer-gone'; via: 'icmp'; path: number }
  | { type: 'peer-gone'; via: 'tcp' }
  /** The peer (a backup asked by an operator, or a preempting node) asks this primary to hand over. */
  | { type: 'resign-requested'; reason: 'switchover' | 'preempt' }
  | { type: 'local-health'; ok: boolean; reason: string }
  | { type: 'witnesses'; reachable: boolean }
  | { type: 'switchover-requested' }
  | { type: 'vip-result'; op: 'enable' | 'disable'; ok: boolean; reason?: string }
  /** A resignation this machine asked for has gone out to the peer. */
  | { type: 'resign-sent' }
  /** The answer to the probe-vip action `seq`: some host answered SIP on the VIP, or none did in time. */
  | { type: 'vip-probe'; seq: number; answered: boolean }
  /**
   * Cluster mode: this node's etcd lease was renewed in time (reachable), or its local deadline passed without a
   * renewal (unreachable: etcd may let the lease expire any moment now).
   */
  | { type: 'etcd'; reachable: boolean }
  /**
   * Cluster mode: the campaign's answer — the pair's permit won at etcd revision `fence` — or the permit is not
   * ours: another node holds it (a campaign that does not wait), or it was taken from this node.
   */
  | { type: 'permit'; held: true; fence: number }
  | { type: 'permit'; held: false; detail: string }
  /** The node is stopping: release, tell the peer, go quiet. */
  | { type: 'stopping' }
  /**
   * Time passes by one tick. `late`: this process did not run for a while (SIGSTOP, a frozen VM, a stalled event
   * loop), so the silence was ours, not the peer's, and what waited in the socket is stale.
   */
  | { type: 'tick'; late?: boolean };

export type EventType = RoleEvent['type'];
export type EventOf<T extends EventType> = Extract<RoleEvent, { type: T }>;

/** The alarms the role machine raises (the node's alarm log knows their severities). */
export type RoleAlarm =
  | 'local-fault'
  | 'dual-primary'
  | 'isolated'
  | 'vip-enable-failed'
  | 'vip-release-failed'
  | 'witnesses-lost'
  | 'peer-silent-vip-served'
  | 'quorum-lost'
  | 'fenced';

export type RoleAction =
  | { type: 'persist-term'; term: number }
  /** Add the VIP; in cluster mode only while the permit won at `fence` is still this node's (else it fails). */
  | { type: 'enable-vip'; fence?: number }
  /**
   * Cluster mode: ask etcd for the pair's permit; answer with a permit event. `wait`: queue behind a holder until
   * its key goes (a backup taking over); else answer at once (a primary renewing after etcd came back).
   */
  | { type: 'campaign'; wait: boolean }
  /** Cluster mode: give the permit back (delete the key), after the VIP release queued before it. */
  | { type: 'withdraw' }
  | { type: 'disable-vip' }
  | { type: 'announce' }
  | { type: 'set-worker-role'; role: 'primary' | 'backup' }
  /**
   * Tell the peer `advertise(state)` as it is when sent. `queued`: behind the actions before it (a resignation
   * must reach the peer before the heartbeat that says "backup"); else at once, never behind VIP commands (an `ip`
   * command on a busy host can take longer than dead_after_ms, and the peer would declare this node dead).
   */
  | { type: 'send-heartbeat'; queued: boolean }
  | { type: 'send-resign'; term: number }
  /**
   * Ask the VIP over SIP whether anyone serves it (from this host's own SIP address; this node does not hold the
   * VIP): answer with a vip-probe event carrying `seq`, within `timeoutTicks`. At once, never behind VIP commands.
   */
  | { type: 'probe-vip'; seq: number; timeoutTicks: number }
  /** The alarm is over (the peer is heard again). */
  | { type: 'clear-alarm'; alarm: RoleAlarm; detail: string }
  | { type: 'request-resign'; reason: 'switchover' | 'preempt' }
  | { type: 'timeline'; kind: 'promote' | 'demote'; cause: Cause; oldTerm: number; newTerm: number }
  | { type: 'raise-alarm'; alarm: RoleAlarm; detail: string }
  | { type: 'switchover-result'; ok: boolean; detail: string };
