// SIP worker hang detection, the part the node's IPC pulse does not cover (a worker silent for
// ha.worker_dead_after_ms is killed and restarted by the node): event-loop stalls shorter than that, which the
// worker reports as loopLagMs in every pong. A stall is an alarm, not a kill: a worker that stalls for 600 ms is
// sick, but killing it would cost more than the stall. Pure: lag readings in, raise/clear out.

export interface StallState {
  stalled: boolean;
  worstMs: number;
  /** Consecutive readings under the threshold since the stall (clearing waits for a quiet spell). */
  quiet: number;
}

export const NEW_STALL_STATE: StallState = { stalled: false, worstMs: 0, quiet: 0 };

export type StallChange = { type: 'raise'; lagMs: number } | { type: 'clear'; worstMs: number } | undefined;

export function observeLag(
  s: StallState,
  lagMs: number,
  thresholdMs: number,
  quietReadings: number,
): { state: StallState; change: StallChange } {
  if (lagMs >= thresholdMs) {
    const worstMs = Math.max(s.stalled ? s.worstMs : 0, lagMs);
    return {
      state: { stalled: true, worstMs, quiet: 0 },
      change: s.stalled ? undefined : { type: 'raise', lagMs },
    };
  }
  if (!s.stalled) return { state: s, change: undefined };
  const quiet = s.quiet + 1;
  if (quiet < quietReadings) return { state: { ...s, quiet }, change: undefined };
  return { state: NEW_STALL_STATE, change: { type: 'clear', worstMs: s.worstMs } };
}
