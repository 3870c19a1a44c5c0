// Waiting for a state to come about, checked on every change instead of polled.
import type { Clock, TimerHandle } from '../time/clock.js';

export class StateWaiters<S> {
  private readonly waiters = new Set<() => void>();

  constructor(
    private readonly current: () => S,
    private readonly clock: Clock,
  ) {}

  /** Resolves true once `done(state)` holds (now or after a change), false after `timeoutMs`. */
  until(done: (s: S) => boolean, timeoutMs: number): Promise<boolean> {
    if (done(this.current())) return Promise.resolve(true);
    return new Promise((resolve) => {
      let timer: TimerHandle | undefined;
      const finish = (ok: boolean) => {
        this.waiters.delete(check);
        if (timer !== undefined) this.clock.clearTimeout(timer);
        resolve(ok);
      };
      const check = () => {
        if (done(this.current())) finish(true);
      };
      timer = this.clock.setTimeout(() => finish(false), timeoutMs);
      this.waiters.add(check);
    });
  }

  /** The state changed: every waiter checks. */
  changed(): void {
    for (const check of [...this.waiters]) check();
  }
}
