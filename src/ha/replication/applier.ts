// The backup's side of replication, pure (no sockets): applies a snapshot and then the ordered change stream to the
// local stores, as changes of origin `replica` (the backup never acts on this state until promoted).
import { fromWireBinding, fromWireDialog } from './convert.js';
import type { WireBinding, WireChange, WireDialog } from './messages.js';
import type { ReplicatedStores } from './replicated-stores.js';

export interface ApplierClocks {
  /** The location service's monotonic clock (performance.now()). */
  mono: () => number;
  /** The dialog store's clock (Date.now()). */
  epoch: () => number;
}

export class ReplicationProtocolError extends Error {}

/** One change as the stream carries it, applied to the stores (`mono`, `epoch`: the receiver's clocks now). */
export function applyWireChange(stores: ReplicatedStores, c: WireChange, mono: number, epoch: number): void {
  switch (c.k) {
    case 'b':
      stores.putBinding(fromWireBinding(c.b, mono));
      break;
    case 'u':
      stores.removeBinding(c.aor, c.contact);
      break;
    case 'd':
      stores.putDialog(fromWireDialog(c.d, epoch));
      break;
    case 'e':
      stores.removeDialog(c.id);
      break;
  }
}

type Phase = 'idle' | 'snapshot' | 'streaming';

const bindingKey = (aor: string, contact: string) => `${aor}\n${contact}`;

export class ReplicaApplier {
  private phase: Phase = 'idle';
  private applied = 0;
  private head = 0;
  /** What the snapshot brought: anything else held from before is gone on the primary. */
  private seenBindings = new Set<string>();
  private seenDialogs = new Set<string>();
  /** Changes applied since the last snapshot (status). */
  changesApplied = 0;

  constructor(
    private readonly stores: ReplicatedStores,
    private readonly clocks: ApplierClocks = { mono: () => performance.now(), epoch: Date.now },
    /** The chaos checker's self-test only (src/ha/test-break.ts): changes counted as applied but not applied. */
    private readonly drop: (c: WireChange) => boolean = () => false,
  ) {}

  /** The last seq applied in this session. */
  get appliedSeq(): number {
    return this.applied;
  }

  /** The primary's latest seq as last reported. */
  get headSeq(): number {
    return this.head;
  }

  get snapshotApplied(): boolean {
    return this.phase === 'streaming';
  }

  /** Snapshot applied and every change the primary reported having made is applied. */
  get synced(): boolean {
    return this.phase === 'streaming' && this.applied >= this.head;
  }

  /**
   * A new snapshot. The state held so far stays until its end (a stale but whole view beats half of a new one if
   * the primary dies in the middle); the end removes what the snapshot did not bring.
   */
  beginSnapshot(seq: number): void {
    this.phase = 'snapshot';
    this.applied = seq;
    this.head = seq;
    this.seenBindings = new Set();
    this.seenDialogs = new Set();
    this.changesApplied = 0;
  }

  snapshotChunk(bindings: readonly WireBinding[], dialogs: readonly WireDialog[]): void {
    if (this.phase !== 'snapshot') throw new ReplicationProtocolError('snapshot chunk outside a snapshot');
    const mono = this.clocks.mono();
    const epoch = this.clocks.epoch();
    for (const w of bindings) {
      this.stores.putBinding(fromWireBinding(w, mono));
      this.seenBindings.add(bindingKey(w.aor, w.contact));
    }
    for (const w of dialogs) {
      const d = fromWireDialog(w, epoch);
      this.stores.putDialog(d);
      this.seenDialogs.add(d.id);
    }
  }

  endSnapshot(seq: number): void {
    if (this.phase !== 'snapshot' || seq !== this.applied)
      throw new ReplicationProtocolError(`snapshot end ${seq} does not match its begin ${this.applied}`);
    const held = this.stores.snapshot();
    for (const b of held.bindings)
      if (!this.seenBindings.has(bindingKey(b.aor, b.contact))) this.stores.removeBinding(b.aor, b.contact);
    for (const d of held.dialogs) if (!this.seenDialogs.has(d.id)) this.stores.removeDialog(d.id);
    this.seenBindings = new Set();
    this.seenDialogs = new Set();
    this.phase = 'streaming';
  }

  /** Changes in order, each exactly the next seq: a gap or a repeat means the stream is broken. */
  applyChanges(changes: readonly WireChange[], head: number): void {
    if (this.phase !== 'streaming') throw new ReplicationProtocolError('changes before the snapshot ended');
    const mono = this.clocks.mono();
    const epoch = this.clocks.epoch();
    for (const c of changes) {
      if (c.s !== this.applied + 1)
        throw new ReplicationProtocolError(`change ${c.s} where ${this.applied + 1} was due`);
      if (this.drop(c)) {
        this.applied = c.s;
        continue;
      }
      applyWireChange(this.stores, c, mono, epoch);
      this.applied = c.s;
      this.changesApplied++;
    }
    this.noteHead(head);
  }

  /** The primary's latest seq (from a tick or a change frame). */
  noteHead(head: number): void {
    if (head < this.applied)
      throw new ReplicationProtocolError(`head ${head} behind applied ${this.applied}`);
    this.head = head;
  }

  /** The connection is gone: the state stays (it is the best there is) but it is no longer synced. */
  disconnected(): void {
    this.phase = 'idle';
    this.seenBindings = new Set();
    this.seenDialogs = new Set();
  }
}
