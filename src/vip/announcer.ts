// Schedules announcement bursts: one now, one again after repeat_after_ms, then every refresh_s.
// cancel() stops pending timers and kills a burst in flight at once: a node that keeps announcing a VIP it
// no longer holds pulls the clients back to itself.

export interface BurstReport {
  /** Announcements in the burst (all sent when the burst resolves). */
  count: number;
  durationMs: number;
}

export interface AnnouncerOptions {
  count: number;
  intervalMs: number;
  repeatAfterMs: number;
  refreshS: number;
  /** Sends one burst; must stop early when the signal aborts. Rejects when the burst could not be sent. */
  sendBurst(count: number, intervalMs: number, signal: AbortSignal): Promise<BurstReport>;
  /** Failures of the bursts after the first (the first one's failure is returned by start()). */
  onError(err: unknown): void;
}

export class Announcer {
  private readonly controller = new AbortController();
  private readonly timers = new Set<NodeJS.Timeout>();
  private inFlight = false;
  private burstsStarted = 0;

  constructor(private readonly opts: AnnouncerOptions) {}

  get cancelled(): boolean {
    return this.controller.signal.aborted;
  }

  /** Number of bursts started so far. */
  get bursts(): number {
    return this.burstsStarted;
  }

  /** Sends the first burst (its result or failure is the promise's) and schedules the later ones. */
  start(): Promise<BurstReport> {
    const { repeatAfterMs, refreshS } = this.opts;
    if (repeatAfterMs > 0) this.later(setTimeout(() => this.background(), repeatAfterMs));
    if (refreshS > 0) this.later(setInterval(() => this.background(), refreshS * 1000));
    return this.burst();
  }

  cancel(): void {
    for (const t of this.timers) clearTimeout(t); // clears intervals too
    this.timers.clear();
    this.controller.abort();
  }

  private later(timer: NodeJS.Timeout): void {
    // Timers must not keep a CLI or test process alive on their own.
    timer.unref();
    this.timers.add(timer);
  }

  private background(): void {
    if (this.cancelled || this.inFlight) return;
    this.burst().catch((err: unknown) => {
      if (!this.cancelled) this.opts.onError(err);
    });
  }

  private async burst(): Promise<BurstReport> {
    this.burstsStarted++;
    this.inFlight = true;
    try {
      return await this.opts.sendBurst(this.opts.count, this.opts.intervalMs, this.controller.signal);
    } finally {
      this.inFlight = false;
    }
  }
}
