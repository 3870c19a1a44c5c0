// The side of overload control that touches the world: measures the worker's event-loop delay and feeds the
// governor (governor.ts). A timer every SAMPLE_MS: how late it fires is how long the loop was busy with other work,
// which is how long a SIP message that just arrived waits before we even read it.
import { performance } from 'node:perf_hooks';
import type { GovernorChange, OverloadGovernor } from './governor.js';

/** Fine enough for several samples per control interval (governor.ts INTERVAL_MS); cheap (one timer). */
export const SAMPLE_MS = 10;

export class LoopLagMonitor {
  private timer: NodeJS.Timeout | undefined;
  private expected = 0;

  constructor(
    private readonly governor: OverloadGovernor,
    /** Shedding started or stopped. */
    private readonly onChange: (change: NonNullable<GovernorChange>) => void,
  ) {}

  start(): void {
    if (this.timer !== undefined) return;
    this.expected = performance.now() + SAMPLE_MS;
    this.timer = setInterval(() => this.tick(), SAMPLE_MS);
    // Measuring must never keep a process alive that has nothing else to do.
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  private tick(): void {
    const now = performance.now();
    const lag = Math.max(0, now - this.expected);
    // setInterval does not catch up after a late run: the next one is due a period after this one.
    this.expected = now + SAMPLE_MS;
    const change = this.governor.sample(lag, now);
    if (change !== undefined) this.onChange(change);
  }
}
