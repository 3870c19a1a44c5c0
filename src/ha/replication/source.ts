// The primary's side of replication, pure (no sockets): sequence numbers, the outbox of changes for the connected
// backup, its acknowledgements, the lag they show, and whether the backup counts as synced.
import type { Dialog } from '../../server/dialogs.js';
import type { Binding } from '../../server/location-service.js';
import { LagHistogram, LagWindow } from './lag-histogram.js';
import type { StoreChange } from './replicated-stores.js';

export type SourceChange =
  /** Added or refreshed; a Binding is replaced on refresh, never changed, so the reference is the state. */
  | { k: 'b'; binding: Binding }
  | { k: 'u'; aor: string; contact: string }
  /** Created or confirmed: a copy, because the store changes its dialogs in place. */
  | { k: 'd'; dialog: Dialog }
  | { k: 'e'; id: string };

/** What a store change puts in the stream. */
export function sourceChange(c: StoreChange): SourceChange {
  switch (c.kind) {
    case 'added':
    case 'refreshed':
      return { k: 'b', binding: c.binding };
    case 'removed':
      return { k: 'u', aor: c.aor, contact: c.contact };
    case 'created':
    case 'confirmed':
      return { k: 'd', dialog: { ...c.dialog } };
    case 'terminated':
      return { k: 'e', id: c.dialog.id };
  }
}

export interface PendingChange {
  seq: number;
  change: SourceChange;
}

export interface SourceOptions {
  /** Monotonic ms. */
  now: () => number;
  /** The backup is still synced while its oldest unacknowledged change is younger than this. */
  syncedLagMs?: number;
  /** More unsent changes than this (a stuck backup): the session overflows and must be dropped. */
  maxPending?: number;
  lagWindowMs?: number;
}

interface Session {
  snapshotSeq: number;
  snapshotAcked: boolean;
  overflowed: boolean;
}

/** Change times are kept for this many recent sequence numbers (a power of two). */
const TIME_SLOTS = 1 << 16;

export class ReplicationSource {
  /** The last sequence number given to a change (0: none yet). */
  private seq = 0;
  private acked = 0;
  private session: Session | undefined;
  /**
   * An acknowledgement wait timed out (acknowledged means replicated): the backup counts as unsynced until it has
   * acknowledged every change made up to then, whatever its recent lag says. Not "up to the newest change": under
   * steady load there is always a newer one, and the backup would never count as synced again.
   */
  private lagging = false;
  private laggingUntil = 0;
  private pending: PendingChange[] = [];
  private readonly times = new Float64Array(TIME_SLOTS);
  /** Every lag sample since start (benchmarks). */
  readonly lagTotal = new LagHistogram();
  /** Lags of the last few seconds (status, metrics). */
  readonly lagRecent: LagWindow;
  /** Called when the outbox goes from empty to non-empty, so that the transport schedules a flush. */
  onPending: () => void = () => {};
  private readonly syncedLagMs: number;
  private readonly maxPending: number;

  constructor(private readonly o: SourceOptions) {
    this.syncedLagMs = o.syncedLagMs ?? 1000;
    this.maxPending = o.maxPending ?? 200_000;
    this.lagRecent = new LagWindow(o.lagWindowMs ?? 10_000, o.now());
  }

  get lastSeq(): number {
    return this.seq;
  }

  /** The highest seq the backup acknowledged in this session (0 before its snapshot is acknowledged). */
  get ackedSeq(): number {
    return this.acked;
  }

  get connected(): boolean {
    return this.session !== undefined;
  }

  get snapshotAcked(): boolean {
    return this.session?.snapshotAcked ?? false;
  }

  get overflowed(): boolean {
    return this.session?.overflowed ?? false;
  }

  get isLagging(): boolean {
    return this.lagging;
  }

  /** The backup missed an acknowledgement bound: unsynced until it catches up with everything (see `lagging`). */
  markLagging(): void {
    if (this.session !== undefined && this.acked !== this.seq) {
      this.lagging = true;
      this.laggingUntil = this.seq;
    }
  }

  get pendingCount(): number {
    return this.pending.length;
  }

  /** Numbers a change; queues it for the backup when one is connected. */
  record(change: SourceChange): number {
    const seq = ++this.seq;
    this.times[seq & (TIME_SLOTS - 1)] = this.o.now();
    const s = this.session;
    if (s !== undefined && !s.overflowed) {
      if (this.pending.length >= this.maxPending) {
        s.overflowed = true;
        this.pending = [];
      } else {
        this.pending.push({ seq, change });
        if (this.pending.length === 1) this.onPending();
      }
    }
    return seq;
  }

  /** A backup connected: its snapshot holds every change up to the returned seq; later ones go to the outbox. */
  beginSession(): number {
    this.session = { snapshotSeq: this.seq, snapshotAcked: false, overflowed: false };
    this.pending = [];
    this.acked = 0;
    this.lagging = false;
    return this.seq;
  }

  endSession(): void {
    this.session = undefined;
    this.pending = [];
    this.acked = 0;
    this.lagging = false;
  }

  takePending(): PendingChange[] {
    const out = this.pending;
    this.pending = [];
    return out;
  }

  /** The backup applied everything up to `seq`. Lag samples are taken for stream changes, not the snapshot. */
  ack(seq: number): { ok: true } | { ok: false; detail: string } {
    const s = this.session;
    if (s === undefined) return { ok: false, detail: 'no session' };
    if (seq > this.seq) return { ok: false, detail: `ack ${seq} beyond the last seq ${this.seq}` };
    if (seq < s.snapshotSeq)
      return { ok: false, detail: `ack ${seq} before the snapshot's seq ${s.snapshotSeq}` };
    if (seq < this.acked) return { ok: false, detail: `ack ${seq} after ack ${this.acked}` };
    const now = this.o.now();
    const from = Math.max(this.acked, s.snapshotSeq, this.seq - TIME_SLOTS) + 1;
    for (let i = from; i <= seq; i++) {
      const lag = now - (this.times[i & (TIME_SLOTS - 1)] ?? now);
      this.lagTotal.record(lag);
      this.lagRecent.record(lag, now);
    }
    this.acked = seq;
    if (seq >= this.laggingUntil) this.lagging = false;
    s.snapshotAcked = true;
    return { ok: true };
  }

  /** The backup holds every change made so far. */
  get drained(): boolean {
    return this.snapshotAcked && this.acked === this.seq;
  }

  /** Snapshot applied and acknowledgements keeping up (the oldest unacknowledged change is recent). */
  get synced(): boolean {
    if (!this.snapshotAcked || this.overflowed || this.lagging) return false;
    if (this.acked === this.seq) return true;
    const oldest = this.acked + 1;
    if (this.seq - oldest >= TIME_SLOTS) return false;
    return this.o.now() - (this.times[oldest & (TIME_SLOTS - 1)] ?? 0) <= this.syncedLagMs;
  }
}
