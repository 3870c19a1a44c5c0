// SIP traffic on the VIP, pure: the SIP worker's received-message counter (reported with every IPC pong) and a
// clock in; active or idle out. Only the VIP holder receives anything (its worker serves the VIP; the backup's
// is bound to an address it does not hold), and the backup's cross-probe OPTIONS count too: in a quiet
// deployment they keep a healthy primary "active".

export interface TrafficWatch {
  /** The last counter value seen; undefined before the first report. */
  count: number | undefined;
  /** When the counter last went up (ms, any monotonic clock); undefined: never. */
  lastRiseAt: number | undefined;
}

export const NEW_TRAFFIC_WATCH: TrafficWatch = { count: undefined, lastRiseAt: undefined };

/** Folds a counter reading in. A smaller value is a restarted worker: a new base, not traffic. */
export function observe(w: TrafficWatch, count: number, now: number): TrafficWatch {
  if (w.count !== undefined && count > w.count) return { count, lastRiseAt: now };
  return { count, lastRiseAt: w.lastRiseAt };
}

/** active: SIP came in within idleMs; idle: none for idleMs; unknown: no counter reported yet. */
export function trafficState(w: TrafficWatch, now: number, idleMs: number): 'active' | 'idle' | 'unknown' {
  if (w.count === undefined) return 'unknown';
  return w.lastRiseAt !== undefined && now - w.lastRiseAt < idleMs ? 'active' : 'idle';
}
