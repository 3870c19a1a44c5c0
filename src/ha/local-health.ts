// Local health is the SIP worker's and the SIP path's together; the role machine hears the combination. Pure.
// The SIP path comes first in the reason: a dead NIC explains a silent worker, not the other way round.

export type HealthPart = 'worker' | 'sip';
export type HealthParts = Record<HealthPart, { ok: boolean; reason: string }>;

export const INITIAL_HEALTH: HealthParts = {
  worker: { ok: false, reason: 'worker not ready' },
  sip: { ok: true, reason: 'SIP path healthy' },
};

export interface HealthUpdate {
  parts: HealthParts;
  /** The combination to tell the role machine, or undefined when it need not hear about this change. */
  report: { ok: boolean; reason: string } | undefined;
}

/**
 * One part changed. The worker's reports always go to the machine (each is news: ready, exited, silent); a SIP
 * path verdict only when it flips.
 */
export function updateHealth(
  parts: HealthParts,
  part: HealthPart,
  ok: boolean,
  reason: string,
): HealthUpdate {
  const changed = parts[part].ok !== ok;
  const next: HealthParts = { ...parts, [part]: { ok, reason } };
  if (part === 'sip' && !changed) return { parts: next, report: undefined };
  const bad = (['sip', 'worker'] as const).find((p) => !next[p].ok);
  return {
    parts: next,
    report: bad === undefined ? { ok: true, reason } : { ok: false, reason: next[bad].reason },
  };
}
