// The CTI event stream's source (GET /api/v1/cti): call events from this node's SIP worker while it is primary
// (a backup's replicated dialogs raise none), numbered per stream so that a client can resume.
//
// Sequence design, for a client that follows the primary across a switchover:
// - `stream` names this node's run (node id + start time) and `seq` counts its events: a client that lost its
//   connection resumes with (stream, seq) and gets what it missed from the history, without repeats.
// - Each call event is also identified pair-wide by (dialogId, index), index 1 ringing, 2 answered, 3 ended:
//   each happens once, on whichever node was primary then. The client keeps one connection to each node and
//   drops any (dialogId, index) it already has, so replays and both nodes' streams merge without duplicates.
import type { CallView, WorkerToNode } from '../ha/worker-ipc.js';

export type CtiEventName = 'ringing' | 'answered' | 'ended';

export interface CtiEvent {
  stream: string;
  seq: number;
  node: string;
  event: CtiEventName;
  /** Position in the call's life: 1 ringing, 2 answered, 3 ended. */
  index: 1 | 2 | 3;
  dialogId: string;
  callId: string;
  caller: string;
  callee: string;
  at: number;
  /** Why it ended (BYE, a final status such as 486, timeout); null before. */
  reason: string | null;
}

type CallMessage = Extract<WorkerToNode, { type: 'call' }>;

const NAMES = {
  created: ['ringing', 1],
  confirmed: ['answered', 2],
  terminated: ['ended', 3],
} as const satisfies Record<CallMessage['change'], readonly [CtiEventName, 1 | 2 | 3]>;

export function ctiEventOf(m: CallMessage): Omit<CtiEvent, 'stream' | 'seq' | 'node'> {
  const [event, index] = NAMES[m.change];
  const c: CallView = m.call;
  return {
    event,
    index,
    dialogId: c.id,
    callId: c.callId,
    caller: c.caller,
    callee: c.callee,
    at: m.at,
    reason: m.change === 'terminated' ? c.endReason : null,
  };
}

export class CtiFeed {
  readonly stream: string;
  private readonly items: CtiEvent[] = [];
  private readonly subscribers = new Set<(e: CtiEvent) => void>();
  private seq = 0;

  constructor(
    readonly node: string,
    private readonly keep = 10_000,
    startedAt = Date.now(),
  ) {
    this.stream = `${node}.${startedAt}`;
  }

  get lastSeq(): number {
    return this.seq;
  }

  push(m: CallMessage): CtiEvent {
    const e: CtiEvent = { stream: this.stream, seq: ++this.seq, node: this.node, ...ctiEventOf(m) };
    this.items.push(e);
    if (this.items.length > this.keep) this.items.shift();
    for (const fn of this.subscribers) fn(e);
    return e;
  }

  /**
   * What a (re)connecting client missed: after `seq` when it names this stream; everything held when it names
   * another (this node restarted, or the client saw only the peer so far); nothing when it asks for live only.
   */
  replay(stream: string | undefined, seq: number | undefined): CtiEvent[] {
    if (seq === undefined) return [];
    if (stream === this.stream) return this.items.filter((e) => e.seq > seq);
    return [...this.items];
  }

  subscribe(fn: (e: CtiEvent) => void): () => void {
    this.subscribers.add(fn);
    return () => this.subscribers.delete(fn);
  }
}
