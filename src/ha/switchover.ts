// Manual switchover, on either node (DESIGN.md "The three workflows"): only to a synced backup (unless forced);
// the primary first drains replication until the backup has acknowledged everything, then the role machine
// resigns (or, on the backup, asks its primary peer to resign); the answer comes once the other node is seen as
// primary in a higher term — settled on the node's state changes, not by polling.
import type { RoleState } from './role-state.js';
import type { SwitchoverReply, Timeline } from './status.js';
import { DRAIN_MS, REPORT_FRESH_MS, SWITCHOVER_WAIT_MS } from './timers.js';
import type { ReplicationStatus } from './worker-ipc.js';
import type { DrainResult } from './worker-supervisor.js';

/** What the workflow needs from the node. */
export interface SwitchoverPort {
  state(): RoleState;
  /** The worker's latest replication report and its age in ms. */
  replication(): { report: ReplicationStatus; ageMs: number } | undefined;
  drain(timeoutMs: number): Promise<DrainResult>;
  /** Hands the request to the role machine; resolves with its answer (given in the same step). */
  request(): Promise<{ ok: boolean; detail: string }>;
  /** Resolves true once `done(state)` holds after some state change, false after `timeoutMs`. */
  until(done: (s: RoleState) => boolean, timeoutMs: number): Promise<boolean>;
  timeline(): Timeline | undefined;
}

export function currentPrimary(s: RoleState): string | null {
  if (s.role === 'primary') return s.config.id;
  if (s.peer.status === 'alive' && s.peer.role === 'primary') return s.peer.id;
  return null;
}

/** Why a switchover to the backup is not safe now, or undefined when it is (on the primary, "synced" means its
 * backup keeps up; on the backup, that it is synced itself). */
export function notSynced(r: { report: ReplicationStatus; ageMs: number } | undefined): string | undefined {
  if (r === undefined || r.ageMs > REPORT_FRESH_MS)
    return 'backup not synced (no replication report from the SIP worker); use --force to switch anyway';
  if (!r.report.synced)
    return `backup not synced (acknowledged ${r.report.ackedSeq} of ${r.report.lastSeq}); use --force to switch anyway`;
  return undefined;
}

export async function switchover(port: SwitchoverPort, force: boolean): Promise<SwitchoverReply> {
  const before = port.state();
  const refuse = (detail: string): SwitchoverReply => ({
    ok: false,
    detail,
    primary: currentPrimary(port.state()),
    term: port.state().term,
  });
  if (!force && (before.role === 'primary' || before.role === 'backup')) {
    const why = notSynced(port.replication());
    if (why !== undefined) return refuse(why);
  }
  // Lossless handover: the backup acknowledges everything before the primary lets go of the VIP.
  if (before.role === 'primary' && !force) {
    const drained = await port.drain(DRAIN_MS);
    if (!drained.ok)
      return refuse(`replication did not drain: ${drained.detail}; use --force to switch anyway`);
  }
  const reply = await port.request();
  if (!reply.ok) return refuse(reply.detail);
  const wantPeer = before.role === 'primary';
  const settled = await port.until(
    (s) =>
      wantPeer
        ? s.peer.status === 'alive' && s.peer.role === 'primary' && s.peer.term > before.term
        : s.role === 'primary' && s.term > before.term && s.vip === 'held',
    SWITCHOVER_WAIT_MS,
  );
  const after = port.state();
  return {
    ok: settled,
    detail: settled ? reply.detail : `${reply.detail}; no new primary within ${SWITCHOVER_WAIT_MS} ms`,
    primary: currentPrimary(after),
    term: Math.max(after.term, after.peer.term),
    timeline: port.timeline(),
  };
}
