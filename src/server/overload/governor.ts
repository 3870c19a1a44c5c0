// THE ADMISSION DECISION for new out-of-dialog requests under overload (RFC 3261 §21.5.4, with RFC 7339's "loss"
// algorithm and RFC 6357's lesson that on/off rejection oscillates): what fraction of new requests the worker turns
// away, from its own event-loop delay. Pure: lag samples and the time in (injected), decisions out; no timers.
//
// Every control interval (INTERVAL_MS of fed time) closes with the mean lag of its samples, then:
//
//  measured                          rejection fraction f                          shedding (log, alarm)
//  mean lag >  max_loop_delay_ms     f + STEP_UP, at most MAX_FRACTION             starts when f leaves 0
//  mean lag <= max_loop_delay_ms     f − STEP_DOWN, at least 0                     —
//  f = 0 for QUIET_MS                —                                             stops (hysteresis)
//  forced (tests)                    the forced value, whatever the lag            as for any f
//
// Per request (`admit`), a request that may be shed (the caller decides which: new, out of dialog) is rejected
// when its accept credit runs out: credit += f per request, a rejection spends 1. So exactly f of them are turned
// away, spread evenly, and deterministically (no Math.random: tests reproduce). f = 0 never rejects and clears the
// credit, so an idle governor sheds nothing. The mean, not the max, of an interval: a single GC pause in an
// otherwise idle interval is not overload; a loop that stays late is. Rising faster than falling: being late costs
// every caller (retransmissions at T1 add load), shedding a little too long costs a few retries.

/** Control interval: long enough for several samples (lag is sampled every ~10 ms), short enough to react. */
export const INTERVAL_MS = 100;
export const STEP_UP = 0.1;
export const STEP_DOWN = 0.05;
/** Never all: a trickle still gets through, so the measured lag keeps saying whether the load went down. */
export const MAX_FRACTION = 0.98;
/** Shedding stops being reported only after this long at f = 0 (no alarm flapping at the edge). */
export const QUIET_MS = 1000;

export interface GovernorOptions {
  /** `sip.overload.max_loop_delay_ms`: the mean loop delay of an interval above which the worker sheds. */
  maxLoopDelayMs: number;
}

/** Shedding started or stopped (for logs and the HA alarm). */
export type GovernorChange =
  | { type: 'start'; lagMs: number; fraction: number }
  | { type: 'stop'; rejected: number; worstLagMs: number }
  | undefined;

export interface GovernorCounters {
  /** Requests asked about (`admit`) and how many of them were rejected, since creation. */
  asked: number;
  rejected: number;
  /** Control intervals closed over the threshold. */
  lateIntervals: number;
}

export class OverloadGovernor {
  private f = 0;
  /** Rejections owed, in thousandths of a request. */
  private credit = 0;
  private forced: number | undefined;
  private intervalStart: number | undefined;
  private lagSum = 0;
  private samples = 0;
  private sheddingSince: number | undefined;
  /** When f last went to 0 while shedding (the quiet spell's start). */
  private idleSince: number | undefined;
  /** For the stop line: what this shedding episode cost. */
  private episodeRejected = 0;
  private worstLagMs = 0;
  readonly counters: GovernorCounters = { asked: 0, rejected: 0, lateIntervals: 0 };

  constructor(private readonly o: GovernorOptions) {}

  /** The fraction of sheddable requests rejected now (0 to 1). */
  get fraction(): number {
    return this.forced ?? this.f;
  }

  /** Whether the worker is shedding, with hysteresis: from f > 0 until QUIET_MS at f = 0. */
  get shedding(): boolean {
    return this.sheddingSince !== undefined;
  }

  /**
   * One loop-lag sample at `now` (monotonic ms). Returns the change of the shedding state it caused, if any.
   */
  sample(lagMs: number, now: number): GovernorChange {
    if (this.intervalStart === undefined) this.intervalStart = now;
    this.lagSum += lagMs;
    this.samples++;
    if (now - this.intervalStart < INTERVAL_MS) return undefined;
    const mean = this.lagSum / this.samples;
    this.intervalStart = now;
    this.lagSum = 0;
    this.samples = 0;
    if (mean > this.o.maxLoopDelayMs) {
      this.counters.lateIntervals++;
      this.f = Math.min(MAX_FRACTION, round(this.f + STEP_UP));
    } else {
      this.f = Math.max(0, round(this.f - STEP_DOWN));
    }
    return this.track(mean, now);
  }

  /**
   * Overrides the control loop with a fixed fraction (1: reject every sheddable request), or gives it back
   * (`undefined`). Lets tests put the worker in overload without burning CPU.
   */
  force(fraction: number | undefined, now: number): GovernorChange {
    this.forced = fraction === undefined ? undefined : Math.min(1, Math.max(0, fraction));
    return this.track(0, now);
  }

  /** Whether to take this sheddable request; false: answer it 503 (counted). */
  admit(): boolean {
    const f = this.fraction;
    if (f <= 0) {
      this.credit = 0;
      return true;
    }
    this.counters.asked++;
    // In thousandths: ten times 0.1 in floating point is not 1.
    this.credit += Math.round(f * 1000);
    if (this.credit < 1000) return true;
    this.credit -= 1000;
    this.counters.rejected++;
    this.episodeRejected++;
    return false;
  }

  private track(lagMs: number, now: number): GovernorChange {
    const f = this.fraction;
    if (f > 0) {
      this.idleSince = undefined;
      this.worstLagMs = Math.max(this.worstLagMs, lagMs);
      if (this.sheddingSince !== undefined) return undefined;
      this.sheddingSince = now;
      this.episodeRejected = 0;
      return { type: 'start', lagMs, fraction: f };
    }
    if (this.sheddingSince === undefined) return undefined;
    this.idleSince ??= now;
    if (now - this.idleSince < QUIET_MS) return undefined;
    const change: GovernorChange = {
      type: 'stop',
      rejected: this.episodeRejected,
      worstLagMs: this.worstLagMs,
    };
    this.sheddingSince = undefined;
    this.idleSince = undefined;
    this.worstLagMs = 0;
    return change;
  }
}

/** Tenths and twentieths without float drift (0.1 + 0.2 ≠ 0.3), so f really comes back to 0. */
function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
