// "Acknowledged means replicated": the primary's responses that confirm a change (a REGISTER's 200, the 2xx that
// confirms a dialog) wait until the backup has acknowledged that change, for at most `waitMs`. Pure: the source's
// numbers and a clock go in. A missed bound lets the response go anyway, is counted, and marks the backup lagging
// (unsynced) so that nothing else waits on it until it has caught up. No synced backup: nothing waits.
import type { CommitGate } from '../../server/commit-gate.js';
import type { Clock, TimerHandle } from '../../time/clock.js';

/** What the barrier reads of the replication source. */
export interface AckSource {
  readonly lastSeq: number;
  readonly ackedSeq: number;
  readonly synced: boolean;
  markLagging(): void;
}

export interface AckBarrierOptions {
  source: AckSource;
  /** The bound (`ha.replication.ack_wait_ms`); 0 turns waiting off. */
  waitMs: number;
  clock: Clock;
  /** Only a primary's responses wait (a backup records nothing). */
  active: () => boolean;
  /** The backup was just marked lagging (its synced state flipped). */
  onLagging?: () => void;
}

export interface AckWaitStats {
  /** Responses that waited. */
  waits: number;
  /** Released by the backup's acknowledgement. */
  acked: number;
  /** Released by the bound (the backup is then marked lagging). */
  timeouts: number;
  /** Released because the backup went away or this node stopped being primary. */
  released: number;
  /** Total and worst time spent waiting, ms. */
  waitedMs: number;
  maxWaitMs: number;
}

interface Waiter {
  seq: number;
  start: number;
  resolve: () => void;
}

export class AckBarrier implements CommitGate {
  readonly stats: AckWaitStats = { waits: 0, acked: 0, timeouts: 0, released: 0, waitedMs: 0, maxWaitMs: 0 };
  /** In order of seq and of deadline alike: seqs only grow and every wait has the same bound. */
  private queue: Waiter[] = [];
  private timer: TimerHandle | undefined;
  private readonly fire = () => this.onTimer();

  constructor(private readonly o: AckBarrierOptions) {}

  get waiting(): number {
    return this.queue.length;
  }

  afterChange(): Promise<void> | undefined {
    const o = this.o;
    if (o.waitMs === 0 || !o.active()) return undefined;
    const s = o.source;
    const seq = s.lastSeq;
    if (s.ackedSeq >= seq || !s.synced) return undefined;
    this.stats.waits++;
    return new Promise<void>((resolve) => {
      this.queue.push({ seq, start: o.clock.now(), resolve });
      if (this.timer === undefined) this.timer = o.clock.setTimeout(this.fire, o.waitMs);
    });
  }

  /** The backup acknowledged more: what it covers goes. */
  onAck(): void {
    const acked = this.o.source.ackedSeq;
    let n = 0;
    while (n < this.queue.length && (this.queue[n] as Waiter).seq <= acked) n++;
    if (n > 0) this.releaseFirst(n, 'acked');
  }

  /** No backup to wait for any more (it went away, this node was demoted or stops): everything goes now. */
  releaseAll(): void {
    if (this.queue.length > 0) this.releaseFirst(this.queue.length, 'released');
  }

  private onTimer(): void {
    this.timer = undefined;
    const head = this.queue[0];
    if (head === undefined) return;
    const waited = this.o.clock.now() - head.start;
    if (waited < this.o.waitMs) {
      this.timer = this.o.clock.setTimeout(this.fire, this.o.waitMs - waited);
      return;
    }
    // The backup missed the bound: it is no longer synced, so no later response waits on it either.
    this.o.source.markLagging();
    this.releaseFirst(this.queue.length, 'timeouts');
    this.o.onLagging?.();
  }

  private releaseFirst(n: number, why: 'acked' | 'timeouts' | 'released'): void {
    const now = this.o.clock.now();
    const out = this.queue.splice(0, n);
    this.stats[why] += out.length;
    for (const w of out) {
      const waited = now - w.start;
      this.stats.waitedMs += waited;
      if (waited > this.stats.maxWaitMs) this.stats.maxWaitMs = waited;
      w.resolve();
    }
    if (this.queue.length === 0 && this.timer !== undefined) {
      this.o.clock.clearTimeout(this.timer);
      this.timer = undefined;
    }
  }
}
