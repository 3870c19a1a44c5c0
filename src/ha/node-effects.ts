// The node's hands: the role machine's actions carried out in order on one queue, so that a release always
// completes before the resign that follows it and a term is on disk before the VIP that depends on it is added.
// VIP command results, and a resignation sent, go back to the machine as events.
import type { Logger } from 'pino';
import { errorMessage } from '../net/errors.js';
import type { Clock, TimerHandle } from '../time/clock.js';
import type { VipDriver } from '../vip/driver.js';
import type { AlarmLog } from './alarm-log.js';
import type { PermitPort } from './node.js';
import type { PeerChannel } from './peer-link.js';
import type { RoleAction, RoleEvent } from './role-events.js';
import type { TermStorePort } from './term-store.js';
import { FIRST_SERVED_WAIT_MS, type TimelineLog } from './timeline.js';
import { FINAL_DRAIN_MS, TIMELINE_CLOSE_MS } from './timers.js';
import type { FenceView } from './worker-ipc.js';
import type { WorkerPort } from './worker-supervisor.js';

/** What carrying out the actions takes. */

/** How long releasing the VIP waits for the worker to end its connections. */
const HANDOVER_WAIT_MS = 50;
export interface EffectsPort {
  vip: VipDriver;
  terms: TermStorePort;
  timelines: TimelineLog;
  worker: WorkerPort;
  link: PeerChannel;
  alarms: AlarmLog;
  log: Logger;
  clock: Clock;
  wallNow: () => number;
  /** Back to the role machine. */
  dispatch(e: RoleEvent): void;
  /** Sends the heartbeat as the machine's state is now. */
  heartbeat(): void;
  /** The machine's answer to an operator's switchover. */
  reply(ok: boolean, detail: string): void;
  /** Cluster mode: the pair's permit (the fence check before adding the VIP, the withdraw after releasing it). */
  permit?: PermitPort | undefined;
  /** Cluster mode: the fencing tokens the worker is told with its role (its replication carries and checks them). */
  fence?: () => FenceView | undefined;
}

export class NodeEffects {
  private queue: Promise<void> = Promise.resolve();
  /** vipRemovedAt from the peer's last resign, for our promotion's timeline. */
  private peerRemovedAt: number | null = null;
  private timelineCloser: TimerHandle | undefined;
  /** Stopped: an announcement settling late arms no timer. */
  private closed = false;

  constructor(private readonly p: EffectsPort) {}

  /** Resolves when everything queued so far has been carried out. */
  idle(): Promise<void> {
    return this.queue;
  }

  /** The peer resigned, having removed the VIP at `at` (epoch ms): our promotion's timeline starts there. */
  peerResigned(at: number | null): void {
    this.peerRemovedAt = at;
  }

  close(): void {
    this.closed = true;
    this.clearTimelineCloser();
  }

  private clearTimelineCloser(): void {
    if (this.timelineCloser !== undefined) this.p.clock.clearTimeout(this.timelineCloser);
  }

  /** Runs `a` in its turn, after everything queued before it. */
  enqueue(a: RoleAction): void {
    const detectedAt = this.p.wallNow();
    this.queue = this.queue
      .then(() => this.run(a, detectedAt))
      .catch((err: unknown) => this.p.log.error({ err, action: a.type }, 'action failed'));
  }

  private async run(a: RoleAction, detectedAt: number): Promise<void> {
    switch (a.type) {
      case 'timeline':
        this.openTimeline(a, detectedAt);
        return;
      case 'persist-term': {
        if (this.p.terms.write === undefined) {
          await this.p.terms.save(a.term);
          return;
        }
        // Written (a crash of this process cannot lose it) before the VIP that depends on it is added; on disk
        // while the VIP is being added (src/ha/term-store.ts says why that order is safe).
        const { durable } = await this.p.terms.write(a.term);
        durable.catch((err: unknown) => {
          this.p.log.error({ err, term: a.term }, 'term not on disk');
          this.p.alarms.raise(
            'term-not-durable',
            'critical',
            `term ${a.term} not on disk: ${errorMessage(err)}`,
          );
        });
        return;
      }
      case 'enable-vip': {
        // The fencing token's check, as late as possible: a node whose permit lapsed or was won again since the
        // decision does not add the VIP (the machine hears that the permit is not its own and demotes).
        const refused = a.fence === undefined ? undefined : this.p.permit?.mayServe(a.fence);
        if (refused !== undefined) {
          this.p.log.warn({ fence: a.fence, refused }, 'VIP not added: fenced');
          this.p.dispatch({
            type: 'permit',
            held: false,
            detail: `fenced before adding the VIP: ${refused}`,
          });
          return;
        }
        await this.vipCommand('enable');
        return;
      }
      case 'withdraw':
        await this.p.permit?.withdraw();
        return;
      case 'disable-vip':
        // A primary worker ends its TCP, TLS and WebSocket connections first, while their FIN can still leave from
        // the VIP: their clients reconnect to the new primary at once (README "TLS and WebSocket"). Bounded: a
        // busy or absent worker delays the release by HANDOVER_WAIT_MS at most.
        await this.p.worker.drain(0, true, HANDOVER_WAIT_MS);
        await this.vipCommand('disable');
        return;
      case 'announce': {
        // Not awaited: the first burst takes count × interval, and nothing else may wait for it. Its first
        // announcement leaves at once, so that is the time recorded.
        const at = this.p.wallNow();
        this.p.vip
          .announce()
          .then(
            (out) => {
              if (out.mode === 'sent' || out.mode === 'os') this.p.timelines.stamp('announcedAt', at);
            },
            (err: unknown) => this.p.log.error({ err }, 'VIP announcement failed'),
          )
          .finally(() => this.awaitFirstServed(at));
        return;
      }
      case 'set-worker-role': {
        const fence = this.p.fence?.();
        this.p.worker.send(
          fence === undefined ? { type: 'role', role: a.role } : { type: 'role', role: a.role, fence },
        );
        return;
      }
      case 'send-heartbeat':
        this.p.heartbeat();
        return;
      case 'send-resign': {
        // The VIP is gone: catch the changes of the last requests it served before the backup takes over.
        const drained = await this.p.worker.drain(FINAL_DRAIN_MS);
        if (!drained.ok) this.p.log.warn({ detail: drained.detail }, 'final replication drain incomplete');
        this.p.link.send({
          type: 'resign',
          term: a.term,
          vipRemovedAt: this.p.timelines.current?.vipRemovedAt ?? this.p.wallNow(),
        });
        this.p.dispatch({ type: 'resign-sent' });
        return;
      }
      case 'request-resign':
        this.p.link.send({ type: 'resign-request', reason: a.reason });
        return;
      case 'raise-alarm':
        this.p.alarms.raiseRole(a.alarm, a.detail);
        return;
      case 'clear-alarm':
        this.p.alarms.clear(a.alarm, a.detail);
        return;
      case 'switchover-result':
        this.p.reply(a.ok, a.detail);
        return;
    }
  }

  private async vipCommand(op: 'enable' | 'disable'): Promise<void> {
    try {
      await (op === 'enable' ? this.p.vip.enable() : this.p.vip.disable());
      this.p.timelines.stamp(op === 'enable' ? 'vipAddedAt' : 'vipRemovedAt', this.p.wallNow());
      this.p.dispatch({ type: 'vip-result', op, ok: true });
    } catch (err) {
      // A failed release: still (maybe) held, and the machine keeps saying so and retries from fault.
      this.p.log.error({ err }, `VIP ${op} failed`);
      this.p.dispatch({ type: 'vip-result', op, ok: false, reason: errorMessage(err) });
    }
  }

  /**
   * The promotion's VIP is added and announced (or its announcement is off or failed): the timeline waits for
   * the first request served until FIRST_SERVED_WAIT_MS after the announcement, then ends without it.
   */
  private awaitFirstServed(announcedAt: number): void {
    const t = this.p.timelines.current;
    if (this.closed || t === undefined || t.done || t.kind !== 'promote' || t.vipAddedAt === null) return;
    const seq = t.seq;
    this.clearTimelineCloser();
    const wait = Math.max(0, FIRST_SERVED_WAIT_MS - (this.p.wallNow() - announcedAt));
    this.timelineCloser = this.p.clock.setTimeout(() => {
      // Only the promotion it was set for (a later timeline re-arms the closer in openTimeline).
      if (this.p.timelines.current?.seq === seq) this.p.timelines.finishOpen();
    }, wait);
  }

  private openTimeline(a: Extract<RoleAction, { type: 'timeline' }>, detectedAt: number): void {
    this.p.timelines.begin({
      kind: a.kind,
      cause: a.cause,
      oldTerm: a.oldTerm,
      newTerm: a.newTerm,
      detectedAt,
    });
    if (a.kind === 'promote' && a.cause === 'switchover' && this.peerRemovedAt !== null)
      this.p.timelines.stamp('vipRemovedAt', this.peerRemovedAt);
    this.peerRemovedAt = null;
    this.clearTimelineCloser();
    this.timelineCloser = this.p.clock.setTimeout(() => this.p.timelines.finishOpen(), TIMELINE_CLOSE_MS);
  }
}
