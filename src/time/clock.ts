// The time source for timers (SIP transaction timers A–M, the HA node's ticks). Injectable so that tests drive
// time without waiting (RFC 3261 §17; etcd-io/raft-style ticks for the role machine).

declare const timerHandleBrand: unique symbol;
/** Opaque handle returned by `Clock.setTimeout`. */
export interface TimerHandle {
  readonly [timerHandleBrand]: true;
}

export interface Clock {
  /** Milliseconds on a monotonic scale (only differences are meaningful). */
  now(): number;
  /**
   * Calls `fn(arg)` after `ms`. The argument form lets a transaction pass a static function and itself, so
   * arming a timer allocates no closure.
   */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  setTimeout<A>(fn: (arg: A) => void, ms: number, arg: A): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

class SystemClock implements Clock {
  now(): number {
    return performance.now();
  }
  setTimeout(fn: () => void, ms: number): TimerHandle;
  setTimeout<A>(fn: (arg: A) => void, ms: number, arg: A): TimerHandle;
  setTimeout<A>(fn: (arg: A) => void, ms: number, arg?: A): TimerHandle {
    return setTimeout(fn, ms, arg as A) as unknown as TimerHandle;
  }
  clearTimeout(handle: TimerHandle): void {
    clearTimeout(handle as unknown as NodeJS.Timeout);
  }
}

/** Real time: `performance.now()` and Node's timers. */
export const systemClock: Clock = new SystemClock();

interface FakeTimer {
  due: number;
  /** Creation order: timers due at the same instant fire in the order they were set, like Node's. */
  seq: number;
  fire: () => void;
}

/** Virtual time for tests: nothing fires until `advance` moves the clock past a timer's due time. */
export class FakeClock implements Clock {
  private time: number;
  private seq = 0;
  /** Pending timers sorted by (due, seq). */
  private readonly timers: FakeTimer[] = [];

  constructor(start = 0) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle;
  setTimeout<A>(fn: (arg: A) => void, ms: number, arg: A): TimerHandle;
  setTimeout<A>(fn: (arg: A) => void, ms: number, arg?: A): TimerHandle {
    const timer: FakeTimer = {
      due: this.time + Math.max(0, ms),
      seq: this.seq++,
      fire: () => fn(arg as A),
    };
    // Binary search for the first timer that is due later (keeps equal-due timers in creation order).
    let lo = 0;
    let hi = this.timers.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.timers[mid]!.due <= timer.due) lo = mid + 1;
      else hi = mid;
    }
    this.timers.splice(lo, 0, timer);
    return timer as unknown as TimerHandle;
  }

  clearTimeout(handle: TimerHandle): void {
    const i = this.timers.indexOf(handle as unknown as FakeTimer);
    if (i !== -1) this.timers.splice(i, 1);
  }

  /**
   * Moves time forward by `ms`, firing every timer that falls due on the way in time order, including timers
   * set by the callbacks themselves. Each callback sees `now()` equal to its own due time.
   */
  advance(ms: number): void {
    const target = this.time + ms;
    for (;;) {
      const next = this.timers[0];
      if (next === undefined || next.due > target) break;
      this.timers.shift();
      // After a stall, overdue timers fire late, at the time it is now.
      this.time = Math.max(this.time, next.due);
      next.fire();
    }
    this.time = target;
  }

  /**
   * Time passes while this process does not run (SIGSTOP, a frozen VM): nothing fires now; the timers that came
   * due meanwhile fire late, on the next `advance`.
   */
  stall(ms: number): void {
    this.time += ms;
  }

  /** Advances to the next pending timer and fires everything due then; false if nothing is pending. */
  runNext(): boolean {
    const next = this.timers[0];
    if (next === undefined) return false;
    this.advance(next.due - this.time);
    return true;
  }

  get pendingTimers(): number {
    return this.timers.length;
  }
}
