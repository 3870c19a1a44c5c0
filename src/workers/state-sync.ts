// One view of registrations and calls across the SIP workers of a node. Worker 0 is the keeper: every other worker
// (a member) sends it the changes it makes itself; the keeper applies them and streams every change it makes or
// applies — its own, the members', the HA primary's replication stream on a backup — numbered, in one order, to
// every member, the sender included. So all workers converge on the keeper's order, a REGISTER handled by one
// worker makes its user callable through every other, and the keeper holds the union: it alone runs replication
// to the backup node and expires bindings (one owner per side effect).
//
// The keeper's stream is the replication stream's (src/ha/replication/): a snapshot, then changes each exactly
// the next seq, applied by the same ReplicaApplier. A member that (re)connects to the keeper first sends it
// everything it holds (a dump): a restarted keeper rebuilds the union from its members, and a restarted member
// (empty) sends nothing. Then the keeper sends that member a snapshot.

import { applyWireChange, ReplicaApplier, ReplicationProtocolError } from '../ha/replication/applier.js';
import { toWireBinding, toWireDialog } from '../ha/replication/convert.js';
import { asReplMessage, type WireChange } from '../ha/replication/messages.js';
import type { ReplicatedStores } from '../ha/replication/replicated-stores.js';
import { toWireChange } from '../ha/replication/replication-listener.js';
import { sourceChange } from '../ha/replication/source.js';
import type { Unsubscribe } from '../server/change-feed.js';

/** What workers say to each other about state (the head of a `state` frame). */
export type StateMessage =
  /** Member → keeper, on (re)connecting: everything the member holds. */
  | { t: 'dump'; c: WireChange[] }
  /** Member → keeper: changes the member made itself, in order; `last` numbers the last of them. */
  | { t: 'up'; c: WireChange[]; last: number }
  /**
   * Keeper → member: the backup has acknowledged the member's changes up to `seq` — or there is no synced backup
   * to wait for (`synced` false): acknowledged means replicated, for every worker's responses.
   */
  | { t: 'acked'; seq: number; synced: boolean }
  /** Member → keeper: answer `barrier-ok` once everything sent before has been applied. */
  | { t: 'barrier'; id: number }
  | { t: 'barrier-ok'; id: number }
  /** Keeper → member: the replication stream's frames. */
  | { t: 'snap-begin'; seq: number; bindings: number; dialogs: number }
  | { t: 'snap'; b: unknown[]; d: unknown[] }
  | { t: 'snap-end'; seq: number }
  | { t: 'ch'; head: number; c: WireChange[] };

/** What the keeper reads of its replication to the backup node (src/ha/replication/worker-replication.ts). */
export interface KeeperReplication {
  readonly lastSeq: number;
  readonly ackedSeq: number;
  /** A synced backup is connected and this node is primary: worth waiting for. */
  readonly waitable: boolean;
}

/** How often the keeper looks again at acknowledgements owed to members (a backup gone, a bound passed). */
const ACK_CHECK_MS = 20;

export interface StatePort {
  /** Sends to sibling `to`; false when it is not connected. */
  send(to: number, m: StateMessage): boolean;
}

const SNAPSHOT_CHUNK = 1000;
const KEEPER = 0;

interface Clocks {
  mono: () => number;
  epoch: () => number;
}
const SYSTEM_CLOCKS: Clocks = { mono: () => performance.now(), epoch: Date.now };

/** Every binding and dialog held, as changes (a dump). */
function dumpOf(stores: ReplicatedStores, clocks: Clocks): WireChange[] {
  const { bindings, dialogs } = stores.snapshot();
  const m = clocks.mono();
  const e = clocks.epoch();
  return [
    ...bindings.map((b): WireChange => ({ s: 0, k: 'b', b: toWireBinding(b, m) })),
    ...dialogs.map((d): WireChange => ({ s: 0, k: 'd', d: toWireDialog(d, e) })),
  ];
}

/** Changes (already checked) applied to `stores` as they are: puts and removals. */
function applyAll(stores: ReplicatedStores, changes: readonly WireChange[], clocks: Clocks): void {
  const m = clocks.mono();
  const e = clocks.epoch();
  for (const c of changes) applyWireChange(stores, c, m, e);
}

/** The changes of an `up`/`dump`, checked with the replication protocol's own shape checks. */
function checkedChanges(c: unknown): WireChange[] | undefined {
  const m = asReplMessage({ t: 'ch', head: 0, c });
  return m?.t === 'ch' ? m.c : undefined;
}

export class StateKeeper {
  private seq = 0;
  /** Changes recorded since the last flush, for every member streaming. */
  private batch: WireChange[] = [];
  private flushScheduled = false;
  /** Members being streamed to, with the seq their snapshot covered. */
  private readonly streaming = new Map<number, number>();
  /** Members whose dump came in and whose snapshot is still to be sent (their link was not up yet). */
  private readonly owedSnapshot = new Set<number>();
  private unsubscribe: Unsubscribe | undefined;
  /** Changes received from members (status). */
  received = 0;
  private replication: KeeperReplication | undefined;
  /**
   * Members' changes not yet acknowledged: the member's number, the replication's, and whether every other member
   * has been sent them (registered means callable through every worker).
   */
  private owedAcks: Array<{ member: number; memberSeq: number; replSeq: number; broadcast: boolean }> = [];
  /** Waiting for the next flush (the keeper's own confirming responses). */
  private flushWaiters: Array<() => void> = [];
  private ackTimer: NodeJS.Timeout | undefined;

  constructor(
    /** Applied changes carry origin `sibling`. */
    private readonly stores: ReplicatedStores,
    private readonly port: StatePort,
    private readonly clocks: Clocks = SYSTEM_CLOCKS,
  ) {}

  start(): void {
    this.unsubscribe = this.stores.subscribe((c) => {
      this.seq++;
      this.batch.push(
        toWireChange({ seq: this.seq, change: sourceChange(c) }, this.clocks.mono(), this.clocks.epoch()),
      );
      this.scheduleFlush();
    });
  }

  stop(): void {
    this.unsubscribe?.();
    if (this.ackTimer !== undefined) clearInterval(this.ackTimer);
  }

  /** The replication to the backup (HA mode): members' changes are acknowledged as it acknowledges them. */
  attachReplication(r: KeeperReplication): void {
    this.replication = r;
  }

  /** The backup acknowledged more (or went away): pass it on to the members waiting. */
  checkAcks(): void {
    const r = this.replication;
    if (this.owedAcks.length === 0) return;
    const waitable = r?.waitable === true;
    const acked = r?.ackedSeq ?? Number.POSITIVE_INFINITY;
    const last = new Map<number, number>();
    const keep: typeof this.owedAcks = [];
    for (const o of this.owedAcks) {
      if (!o.broadcast || (waitable && o.replSeq > acked)) keep.push(o);
      else last.set(o.member, Math.max(last.get(o.member) ?? 0, o.memberSeq));
    }
    this.owedAcks = keep;
    for (const [member, seq] of last) this.port.send(member, { t: 'acked', seq, synced: waitable });
    if (keep.length === 0 && this.ackTimer !== undefined) {
      clearInterval(this.ackTimer);
      this.ackTimer = undefined;
    }
  }

  get lastSeq(): number {
    return this.seq;
  }

  get members(): number {
    return this.streaming.size;
  }

  /** A `state` frame from member `from`. */
  onMessage(from: number, head: unknown): void {
    const m = head as { t?: unknown; c?: unknown; id?: unknown } | null;
    switch (m?.t) {
      case 'dump': {
        const changes = checkedChanges(m.c);
        if (changes === undefined) return;
        this.streaming.delete(from);
        applyAll(this.stores, changes, this.clocks);
        this.owedSnapshot.add(from);
        this.sendSnapshot(from);
        return;
      }
      case 'up': {
        const changes = checkedChanges(m.c);
        if (changes === undefined) return;
        this.received += changes.length;
        applyAll(this.stores, changes, this.clocks);
        const last = (m as { last?: unknown }).last;
        if (typeof last === 'number') {
          // Applied: the replication recorded them, up to its lastSeq now.
          this.owedAcks.push({
            member: from,
            memberSeq: last,
            replSeq: this.replication?.lastSeq ?? 0,
            broadcast: false,
          });
          // Acknowledged at the flush that sends them on, at the earliest.
          this.scheduleFlush();
          this.ackTimer ??= setInterval(() => this.checkAcks(), ACK_CHECK_MS);
        }
        return;
      }
      case 'barrier':
        // Frames from one member arrive in order and are applied as they come: all it sent before is in.
        if (typeof m.id === 'number') this.port.send(from, { t: 'barrier-ok', id: m.id });
        return;
    }
  }

  /** The keeper's link to `member` came up (send what is owed) or went down (stop streaming to it). */
  onLink(member: number, up: boolean): void {
    if (up) {
      if (this.owedSnapshot.has(member)) this.sendSnapshot(member);
    } else this.streaming.delete(member);
  }

  private sendSnapshot(to: number): void {
    // What is batched now is in the snapshot: the member's stream starts after it.
    const seq = this.seq;
    const { bindings, dialogs } = this.stores.snapshot();
    if (!this.port.send(to, { t: 'snap-begin', seq, bindings: bindings.length, dialogs: dialogs.length }))
      return;
    const m = this.clocks.mono();
    const e = this.clocks.epoch();
    for (let i = 0; i < Math.max(bindings.length, dialogs.length); i += SNAPSHOT_CHUNK)
      this.port.send(to, {
        t: 'snap',
        b: bindings.slice(i, i + SNAPSHOT_CHUNK).map((b) => toWireBinding(b, m)),
        d: dialogs.slice(i, i + SNAPSHOT_CHUNK).map((d) => toWireDialog(d, e)),
      });
    this.port.send(to, { t: 'snap-end', seq });
    this.owedSnapshot.delete(to);
    this.streaming.set(to, seq);
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  /**
   * Resolves once what changed so far has been sent to every member (the keeper's own REGISTER 200 waits for it:
   * registered means callable through every worker); undefined when no member follows.
   */
  nextFlush(): Promise<void> | undefined {
    if (this.streaming.size === 0) return undefined;
    this.scheduleFlush();
    return new Promise((resolve) => this.flushWaiters.push(resolve));
  }

  /** The batch to every member streaming, each from after its snapshot; then the acknowledgements it allows. */
  flush(): void {
    this.flushScheduled = false;
    const batch = this.batch;
    this.batch = [];
    if (batch.length > 0) {
      const head = this.seq;
      const first = (batch[0] as WireChange).s;
      for (const [member, from] of this.streaming) {
        const c = from < first ? batch : batch.filter((x) => x.s > from);
        if (c.length > 0 && !this.port.send(member, { t: 'ch', head, c })) this.streaming.delete(member);
      }
    }
    for (const o of this.owedAcks) o.broadcast = true;
    this.checkAcks();
    const waiters = this.flushWaiters;
    this.flushWaiters = [];
    for (const w of waiters) w();
  }
}

export class StateMember {
  private readonly applier: ReplicaApplier;
  private outbox: WireChange[] = [];
  private flushScheduled = false;
  private keeperUp = false;
  private barrierSeq = 0;
  private readonly barriers = new Map<number, () => void>();
  private unsubscribe: Unsubscribe | undefined;
  /** Streams from the keeper that broke (a gap): each asked for a new snapshot (status). */
  resyncs = 0;
  /** This member's own changes, numbered; the last the keeper acknowledged (sent on, and on the backup if any). */
  private localSeq = 0;
  private ackedSeq = 0;
  private lagging = false;
  /** The backup (through the keeper) acknowledged more. */
  onAcked: (() => void) | undefined;

  constructor(
    /** Applied changes carry origin `sibling`; the member's own are `local`. */
    private readonly stores: ReplicatedStores,
    private readonly port: StatePort,
    private readonly clocks: Clocks = SYSTEM_CLOCKS,
  ) {
    this.applier = new ReplicaApplier(stores, clocks);
    const member = this;
    this.ackSource = {
      get lastSeq() {
        return member.localSeq;
      },
      get ackedSeq() {
        return member.ackedSeq;
      },
      // With a keeper there is always something to wait for: the other workers' view, and the backup's if any.
      get synced() {
        return member.keeperUp && !member.lagging;
      },
      markLagging() {
        member.lagging = true;
      },
    };
  }

  start(): void {
    this.unsubscribe = this.stores.subscribe((c) => {
      if (c.origin !== 'local') return;
      this.localSeq++;
      this.outbox.push(
        toWireChange({ seq: 0, change: sourceChange(c) }, this.clocks.mono(), this.clocks.epoch()),
      );
      this.scheduleFlush();
    });
  }

  stop(): void {
    this.unsubscribe?.();
    for (const done of this.barriers.values()) done();
    this.barriers.clear();
  }

  /**
   * The acknowledgement wait's view of this member (src/ha/replication/ack-barrier.ts): its own changes, those the
   * backup has, and whether there is a backup worth waiting for.
   */
  readonly ackSource: {
    readonly lastSeq: number;
    readonly ackedSeq: number;
    readonly synced: boolean;
    markLagging(): void;
  };

  /** Whether the keeper's snapshot is applied and its stream followed. */
  get synced(): boolean {
    return this.keeperUp && this.applier.snapshotApplied;
  }

  get appliedSeq(): number {
    return this.applier.appliedSeq;
  }

  /** The link to the keeper came up (send everything held: it rebuilds the union from it) or went down. */
  onKeeperLink(up: boolean): void {
    this.keeperUp = up;
    this.applier.disconnected();
    if (!up) return;
    this.outbox = [];
    this.port.send(KEEPER, { t: 'dump', c: dumpOf(this.stores, this.clocks) });
  }

  /** A `state` frame from the keeper. */
  onMessage(head: unknown): void {
    const t = (head as { t?: unknown } | null)?.t;
    if (t === 'acked') {
      const { seq } = head as { seq?: unknown };
      if (typeof seq !== 'number') return;
      this.ackedSeq = Math.max(this.ackedSeq, seq);
      this.lagging = false;
      this.onAcked?.();
      return;
    }
    if (t === 'barrier-ok') {
      const id = (head as { id?: unknown }).id;
      if (typeof id === 'number') {
        this.barriers.get(id)?.();
        this.barriers.delete(id);
      }
      return;
    }
    const m = asReplMessage(head);
    if (m === undefined) return;
    try {
      switch (m.t) {
        case 'snap-begin':
          this.applier.beginSnapshot(m.seq);
          break;
        case 'snap':
          this.applier.snapshotChunk(m.b, m.d);
          break;
        case 'snap-end':
          this.applier.endSnapshot(m.seq);
          break;
        case 'ch':
          this.applier.applyChanges(m.c, m.head);
          break;
      }
    } catch (err) {
      if (!(err instanceof ReplicationProtocolError)) throw err;
      // A gap (a frame lost while the keeper restarted): start over from a new snapshot.
      this.resyncs++;
      this.onKeeperLink(this.keeperUp);
    }
  }

  /**
   * Resolves true once everything this member changed has reached the keeper (before a handover: the keeper then
   * drains it to the backup), false when the keeper is away or `timeoutMs` passed.
   */
  flushToKeeper(timeoutMs: number): Promise<boolean> {
    this.flush();
    if (!this.keeperUp) return Promise.resolve(false);
    const id = ++this.barrierSeq;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.barriers.delete(id);
        resolve(false);
      }, timeoutMs);
      this.barriers.set(id, () => {
        clearTimeout(timer);
        resolve(true);
      });
      if (!this.port.send(KEEPER, { t: 'barrier', id })) {
        clearTimeout(timer);
        this.barriers.delete(id);
        resolve(false);
      }
    });
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.outbox.length === 0) return;
    // Keeper away: what it misses comes with the dump when the link is back.
    if (this.keeperUp) this.port.send(KEEPER, { t: 'up', c: this.outbox, last: this.localSeq });
    this.outbox = [];
  }
}
