// Schedules announcement bursts: one now, again after repeat_after_ms and then at twice, four times… that delay
// from the start while within RE_ANNOUNCE_WINDOW_MS, and every refresh_s. The doubling repeats are for announcements
// lost on the way (a switch port still coming up, a client's ARP briefly dropped): a client that missed every one
// keeps the old owner's MAC until its entry goes stale (tens of seconds on Linux), sending into the void.
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

/** How long after a takeover the doubling repeats go on (the last one at or before it). */
export const RE_ANNOUNCE_WINDOW_MS = 60_000;

/** When the repeats go, in ms from the first burst: repeat_after_ms × 1, 2, 4, … up to the window (pure). */
export function repeatTimes(repeatAfterMs: number): number[] {
  const out: number[] = [];
  if (repeatAfterMs <= 0) return out;
  for (let at = repeatAfterMs; at <= RE_ANNOUNCE_WINDOW_MS; at *= 2) out.push(at);
  // A repeat_after_ms beyond the window still repeats once.
  return out.length > 0 ? out : [repeatAfterMs];
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
    for (const at of repeatTimes(repeatAfterMs)) this.later(setTimeout(() => this.background(), at));
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
