// Whether `sipha status` should exit 1: the pair is degraded when it could not survive losing a node now.
// Pure, so that the health-check rule is tested without a pair.
import type { NodeAnswer } from '../mgmt/status-table.js';

/** The reasons the pair is degraded, one per problem; empty when it is healthy. */
export function degradedReasons(answers: readonly NodeAnswer[]): string[] {
  const reasons: string[] = [];
  for (const a of answers) {
    const s = a.status;
    if (s === null) {
      reasons.push(`${a.url}: unreachable (${a.error ?? 'no answer'})`);
      continue;
    }
    const id = s.node.id;
    if (s.peer.status !== 'alive') reasons.push(`${id}: peer ${s.peer.id || '?'} is ${s.peer.status}`);
    // No report yet counts as not synced: a takeover now could lose what the backup never got.
    if (s.replication === null) reasons.push(`${id}: no replication report`);
    else if (!s.replication.synced) reasons.push(`${id}: replication not synced`);
    for (const x of s.activeAlarms)
      if (x.severity === 'critical') reasons.push(`${id}: critical alarm ${x.alarm}: ${x.detail}`);
  }
  return reasons;
}
