// What this pair still has to write to the directory: an AoR's entry when it gains its first binding, its removal
// when it loses its last (never on a refresh), gathered and sent in batches — one etcd transaction per
// `cluster.batch_ms`. Pure: the timer is injected, the etcd write is directory.ts's.

export type PendingOp = { op: 'put'; aor: string; at: number } | { op: 'delete'; aor: string };

/** Schedules `fn` once after `ms`; returns a cancel function. */
export type Schedule = (fn: () => void, ms: number) => () => void;

/** etcd refuses a transaction of more operations than --max-txn-ops (128 by default). */
export const MAX_TXN_OPS = 100;

export class DirectoryPublisher {
  /** Per AoR the latest wish only: a put then a delete within one batch is just the delete. */
  private readonly pending = new Map<string, PendingOp>();
  private cancel: (() => void) | undefined;

  constructor(
    private readonly batchMs: number,
    private readonly schedule: Schedule,
    /** Called when a batch is due (take() it). */
    private readonly due: () => void,
  ) {}

  get size(): number {
    return this.pending.size;
  }

  put(aor: string, at: number): void {
    this.pending.set(aor, { op: 'put', aor, at });
    this.arm();
  }

  delete(aor: string): void {
    this.pending.set(aor, { op: 'delete', aor });
    this.arm();
  }

  /** Drops what is pending for an AoR (it moved to another pair: our entry must not overwrite theirs). */
  forget(aor: string): void {
    this.pending.delete(aor);
  }

  /** Up to `max` pending operations, removed from the pending set (the oldest wishes first). */
  take(max = MAX_TXN_OPS): PendingOp[] {
    const out: PendingOp[] = [];
    for (const [aor, op] of this.pending) {
      if (out.length >= max) break;
      out.push(op);
      this.pending.delete(aor);
    }
    if (this.pending.size > 0) this.arm();
    return out;
  }

  /** A batch that failed goes back, unless a newer wish for its AoR came meanwhile; retried after `retryMs`. */
  giveBack(ops: readonly PendingOp[], retryMs: number): void {
    for (const op of ops) if (!this.pending.has(op.aor)) this.pending.set(op.aor, op);
    this.arm(retryMs);
  }

  clear(): void {
    this.pending.clear();
    this.cancel?.();
    this.cancel = undefined;
  }

  private arm(ms = this.batchMs): void {
    if (this.cancel !== undefined || this.pending.size === 0) return;
    this.cancel = this.schedule(() => {
      this.cancel = undefined;
      this.due();
    }, ms);
  }
}
