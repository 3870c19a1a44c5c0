// A steady tick on a clock: the next tick keeps the rate (no drift from slow callbacks), and a tick that comes
// much later than due says so — this process did not run (SIGSTOP, a frozen VM, a stalled event loop) — and
// the ticks start afresh from then.
import type { Clock, TimerHandle } from './clock.js';

/** Starts ticking every `tickMs`; returns the function that stops it. */
export function startTicker(
  clock: Clock,
  tickMs: number,
  lateAfterMs: number,
  onTick: (late: boolean) => void,
): () => void {
  let due = clock.now() + tickMs;
  let timer: TimerHandle | undefined;
  const tick = () => {
    const now = clock.now();
    const late = now - due > lateAfterMs;
    due = late ? now + tickMs : due + tickMs;
    timer = clock.setTimeout(tick, Math.max(0, due - now));
    onTick(late);
  };
  timer = clock.setTimeout(tick, tickMs);
  return () => {
    if (timer !== undefined) clock.clearTimeout(timer);
  };
}
