// Switchover timelines: every change of primary leaves one record with its cause, the old and new
// term and the wall-clock times of each phase, so that "how long did the takeover take" is a lookup, not a guess.
// The new primary's record carries the old primary's VIP removal time when the old primary resigned explicitly.
import type { Cause } from './role-machine.js';

export type Phase = 'vipRemovedAt' | 'vipAddedAt' | 'announcedAt' | 'firstServedAt';

/**
 * How long a promotion's timeline waits, after the VIP was added and announced, for the first request served.
 * Without traffic the first request may come seconds later and would say nothing about the takeover: the
 * timeline then ends at the announcement. (Here rather than timers.ts: only the timeline uses it.)
 */
export const FIRST_SERVED_WAIT_MS = 1000;

export interface Timeline {
  seq: number;
  node: string;
  /** promote: this node took the VIP; demote: it gave it up. */
  kind: 'promote' | 'demote';
  cause: Cause;
  oldTerm: number;
  newTerm: number;
  /** Epoch ms when this node decided (peer silence declared, resign received, fault seen…). */
  detectedAt: number;
  vipRemovedAt: number | null;
  vipAddedAt: number | null;
  announcedAt: number | null;
  firstServedAt: number | null;
  /**
   * Detection → first request served on this node (promote) when one came within FIRST_SERVED_WAIT_MS of the
   * announcement, else detection → announced (or VIP added); detection → VIP removed (demote).
   */
  durationMs: number | null;
  /** Promotions: whether this node's replica was synced when it took over; null when unknown. */
  synced: boolean | null;
  done: boolean;
}

export class TimelineLog {
  private readonly items: Timeline[] = [];
  private seq = 0;

  constructor(
    private readonly node: string,
    private readonly keep = 50,
    private readonly onDone: (t: Timeline) => void = () => {},
  ) {}

  begin(t: Pick<Timeline, 'kind' | 'cause' | 'oldTerm' | 'newTerm' | 'detectedAt'>): Timeline {
    // A timeline still open when the next begins is closed as it is (e.g. a promotion that never served).
    const open = this.current;
    if (open !== undefined && !open.done) this.finish(open);
    const item: Timeline = {
      seq: ++this.seq,
      node: this.node,
      ...t,
      vipRemovedAt: null,
      vipAddedAt: null,
      announcedAt: null,
      firstServedAt: null,
      durationMs: null,
      synced: null,
      done: false,
    };
    this.items.push(item);
    if (this.items.length > this.keep) this.items.shift();
    return item;
  }

  get current(): Timeline | undefined {
    return this.items.at(-1);
  }

  /**
   * Stamps a phase of the latest timeline (first stamp wins); closes it when its last phase is in. A phase that
   * reports late (the announcement burst resolves after the first request was served) still lands on it; the
   * first request served after the timeline closed does not (it came after FIRST_SERVED_WAIT_MS).
   */
  stamp(phase: Phase, at: number): void {
    const t = this.current;
    if (t === undefined || t[phase] !== null) return;
    if (t.done && phase === 'firstServedAt') return;
    t[phase] = at;
    if (t.done) return;
    if (t.kind === 'demote' && phase === 'vipRemovedAt') this.finish(t);
    if (t.kind === 'promote' && phase === 'firstServedAt') this.finish(t);
  }

  /** Records whether the latest promotion had a synced replica (first report wins). */
  markSynced(synced: boolean): void {
    const t = this.current;
    if (t !== undefined && t.kind === 'promote' && t.synced === null) t.synced = synced;
  }

  /** Closes the open timeline without waiting for the missing phases (e.g. no SIP traffic after a takeover). */
  finishOpen(): void {
    const t = this.current;
    if (t !== undefined && !t.done) this.finish(t);
  }

  list(): Timeline[] {
    return this.items.map((t) => ({ ...t }));
  }

  private finish(t: Timeline): void {
    t.done = true;
    const end = t.kind === 'promote' ? (t.firstServedAt ?? t.announcedAt ?? t.vipAddedAt) : t.vipRemovedAt;
    t.durationMs = end === null ? null : end - t.detectedAt;
    this.onDone({ ...t });
  }
}
