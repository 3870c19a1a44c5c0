// The node supervisor (DESIGN.md "Processes on each host"): owns the role, the VIP and the SIP worker child.
// It turns the world into role-machine events (peer link, witnesses, worker, SIP path, operator, VIP results,
// ticks) and carries out the machine's actions in order on one queue, so that a release always completes before
// the resign that follows it and a term is on disk before the VIP that depends on it is added. It decides
// nothing itself: the role, what the peer hears and when the peer is dead are the machine's (role-machine.ts).
import type { Logger } from 'pino';
import type { PermitEvents, PermitStatus } from '../cluster/pair-permit.js';
import type { SiphaConfig } from '../config/schema.js';
import { sipMonitorFromConfig } from '../monitor/from-config.js';
import type { Decision } from '../monitor/health-decision.js';
import type { SipMonitor } from '../monitor/sip-monitor.js';
import type { Probe, WitnessMonitor } from '../monitor/witness.js';
import { type Clock, systemClock } from '../time/clock.js';
import { startTicker } from '../time/ticker.js';
import type { VipDriver } from '../vip/driver.js';
import { AlarmLog } from './alarm-log.js';
import { type HealthPart, INITIAL_HEALTH, updateHealth } from './local-health.js';
import { NodeEffects } from './node-effects.js';
import { peerLinkFromConfig, witnessesFromConfig, workerFromConfig } from './node-parts.js';
import type { PeerChannel } from './peer-link.js';
import {
  advertise,
  initialState,
  isReady,
  isServing,
  type Role,
  type RoleEvent,
  type RoleState,
  step,
} from './role-machine.js';
import { StateWaiters } from './state-waiters.js';
import type { HaStatus, NodeEvent, NodeHandle, SwitchoverReply } from './status.js';
import { switchover } from './switchover.js';
import type { TermStorePort } from './term-store.js';
import { TimelineLog } from './timeline.js';
import { lateTickMs, quorumSettleTicks, roleTimers } from './timers.js';
import type { PeerMessage } from './wire.js';
import type { FenceView, NodeToWorker, ReplicationStatus, WorkerToNode } from './worker-ipc.js';
import type { WorkerEvents, WorkerPort, WorkerSpec } from './worker-supervisor.js';

export type { Alarm, AlarmSeverity, HaStatus, NodeEvent, SwitchoverReply } from './status.js';
export type { WorkerSpec } from './worker-supervisor.js';

export interface HaNodeOptions {
  config: SiphaConfig;
  key: Buffer;
  vip: VipDriver;
  terms: TermStorePort;
  log: Logger;
  /** The SIP worker to fork, or (tests) a worker of the test's own. */
  worker: WorkerSpec | ((events: WorkerEvents) => WorkerPort);
  /** Witness probe; the default runs ping/arping on the VIP's interface. */
  probe?: Probe;
  /**
   * The peer link; the default is UDP on ha.listen/ha.peer. Tests pass a link of their own. `refused`: the peer's
   * kernel refused a heartbeat on a path (ICMP port unreachable).
   */
  link?: (deliver: (m: PeerMessage) => void, refused: (path: number) => void) => PeerChannel;
  /** Monotonic time for ticks and timers, and epoch time for timelines and alarms (tests: a fake clock). */
  clock?: Clock;
  wallNow?: () => number;
  /**
   * Cluster mode: the pair's permit in etcd (src/cluster/pair-permit.ts), built with the events it reports. Every
   * promotion then waits for it (src/ha/role-table.ts); without it the node works as a plain pair.
   */
  permit?: (events: PermitEvents) => PermitPort;
}

/** What the node asks of the pair's permit (src/cluster/pair-permit.ts). */
export interface PermitPort {
  start(): void;
  campaign(wait: boolean): Promise<void>;
  withdraw(): Promise<void>;
  /** undefined when the permit won at `fence` still allows adding the VIP, else why not. */
  mayServe(fence: number): string | undefined;
  status(): PermitStatus;
  close(): Promise<void>;
}

export class HaNode implements NodeHandle {
  private state: RoleState;
  private readonly link: PeerChannel;
  private readonly worker: WorkerPort;
  private readonly witnesses: WitnessMonitor;
  private readonly timelines: TimelineLog;
  private readonly alarms: AlarmLog;
  private readonly effects: NodeEffects;
  private readonly sip: SipMonitor | undefined;
  private readonly permit: PermitPort | undefined;
  /** The highest fencing token seen, and the highest told to the worker. */
  private highestFence = 0;
  private toldFence = 0;
  private health = INITIAL_HEALTH;
  private stopTicks: () => void = () => {};
  private readonly tickMs: number;
  /** Stopping: only the results of what is already queued (and time) still reach the machine. */
  private closing = false;
  private closed = false;
  private pendingReply: ((r: { ok: boolean; detail: string }) => void) | undefined;
  private replication: { report: ReplicationStatus; receivedAt: number } | undefined;
  /** Signs that the peer's process is gone, counted for the status (the machine forgets them when it hears it). */
  private readonly peerGone = { icmp: 0, tcp: 0 };
  private readonly listeners = new Set<(e: NodeEvent) => void>();
  private readonly waiters: StateWaiters<RoleState>;
  private readonly clock: Clock;
  private readonly wallNow: () => number;
  private readonly ha: NonNullable<SiphaConfig['ha']>;
  private readonly log: Logger;

  constructor(private readonly o: HaNodeOptions) {
    const ha = o.config.ha;
    if (ha === undefined) throw new Error('HaNode needs an ha section');
    this.ha = ha;
    this.log = o.log;
    this.clock = o.clock ?? systemClock;
    this.wallNow = o.wallNow ?? Date.now;
    const node = o.config.node;
    // (Its callbacks read the state and the witnesses when they run, after the constructor.)
    this.sip = sipMonitorFromConfig(o.config, {
      witnesses: ha.witnesses.length > 0 ? () => this.witnesses.current : undefined,
      serving: () => isServing(this.state),
      onDecision: (d) => this.onSipDecision(d),
      log: this.log,
    });
    const timers = roleTimers(ha, this.sip?.canProbeVip === true);
    this.tickMs = timers.tickMs;
    this.waiters = new StateWaiters(() => this.state, this.clock);
    this.state = initialState(
      {
        id: node.id,
        priority: node.priority,
        preempt: ha.preempt,
        paths: ha.listen.length,
        ...timers.config,
      },
      0,
      ha.witnesses.length > 0,
      o.permit === undefined
        ? undefined
        : {
            failsafe: o.config.cluster?.failsafe ?? true,
            settleTicks: quorumSettleTicks(
              o.config.cluster?.lease_ttl_s ?? 2,
              o.config.cluster?.request_timeout_ms ?? 1000,
              ha.heartbeat_ms,
              timers.tickMs,
            ),
          },
    );
    this.timelines = new TimelineLog(node.id, 50, (t) => {
      this.log.info({ timeline: t }, 'switchover timeline');
      this.emit({ type: 'timeline', timeline: t });
    });
    this.alarms = new AlarmLog(this.log, this.wallNow, (alarm) => this.emit({ type: 'alarm', alarm }));
    const cfg = { ...o.config, ha };
    const deliver = (m: PeerMessage) => this.onPeerMessage(m);
    const refused = (path: number) => this.onPeerGone({ type: 'peer-gone', via: 'icmp', path });
    this.link = o.link?.(deliver, refused) ?? peerLinkFromConfig(cfg, o.key, deliver, this.log, refused);
    const events = this.workerEvents();
    this.worker =
      typeof o.worker === 'function'
        ? o.worker(events)
        : workerFromConfig(cfg, o.worker, events, this.log, this.clock);
    this.witnesses = witnessesFromConfig(
      cfg,
      o.probe,
      (reachable) => {
        // Warnings are for trouble only: witnesses coming back is good news (journalctl -p warning stays quiet).
        this.log[reachable ? 'info' : 'warn'](
          { reachable },
          `witnesses ${reachable ? 'reachable' : 'unreachable'}`,
        );
        this.dispatch({ type: 'witnesses', reachable });
      },
      this.clock,
    );
    this.permit = o.permit?.(this.permitEvents());
    this.effects = new NodeEffects({
      ...o,
      permit: this.permit,
      fence: () => this.fenceView(),
      timelines: this.timelines,
      worker: this.worker,
      link: this.link,
      alarms: this.alarms,
      log: this.log,
      clock: this.clock,
      wallNow: this.wallNow,
      dispatch: (e) => this.dispatch(e),
      heartbeat: () => this.sendHeartbeat(),
      reply: (ok, detail) => this.reply(ok, detail),
    });
  }

  /** Subscribes to the node's events (management API); returns the unsubscribe function. */
  onEvent(fn: (e: NodeEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Sends a message to the SIP worker (management queries); false when there is no worker to send to. */
  toWorker(m: NodeToWorker): boolean {
    return this.worker.send(m);
  }

  get role(): Role {
    return this.state.role;
  }

  get term(): number {
    return this.state.term;
  }

  /** Safe start, then everything else: the VIP is released before this node listens to anyone. */
  async start(): Promise<void> {
    let releaseOk = true;
    try {
      const out = await this.o.vip.disable();
      this.log.info({ changed: out.changed, ms: Math.round(out.durationMs) }, 'safe start: VIP released');
    } catch (err) {
      releaseOk = false;
      this.log.error({ err }, 'safe start: could not release the VIP');
    }
    const term = await this.o.terms.load();
    this.dispatch({ type: 'restored', term });
    this.log.info({ term }, 'starting');
    if (!releaseOk)
      this.dispatch({ type: 'vip-result', op: 'disable', ok: false, reason: 'safe start release failed' });
    await this.link.start();
    this.permit?.start();
    this.witnesses.start();
    await this.sip?.start();
    // On the real clock a tick is handled after the I/O the kernel already holds (setImmediate runs after the
    // poll phase): a heartbeat that waited in the socket while this process was busy counts before the silence.
    const afterIo = this.o.clock === undefined ? setImmediate : (fn: () => void) => fn();
    this.stopTicks = startTicker(this.clock, this.tickMs, lateTickMs(this.ha), (late) =>
      afterIo(() => this.dispatch({ type: 'tick', late })),
    );
    this.worker.start();
    this.dispatch({ type: 'started' });
  }

  /** Stops: hands over first when primary and the peer is ready, then releases the VIP and stops the worker. */
  async stop(): Promise<void> {
    if (this.closing) return;
    if (this.state.role === 'primary') this.dispatch({ type: 'switchover-requested' });
    // The machine releases the VIP and then tells the peer at once that we are gone (it promotes on a peer fault
    // without waiting for dead_after_ms).
    this.dispatch({ type: 'stopping' });
    this.closing = true;
    await this.effects.idle();
    this.closed = true;
    this.stopTicks();
    this.effects.close();
    this.witnesses.stop();
    this.sip?.stop();
    await this.link.close();
    // After the release and the withdraw (queued by the stop): revoking the lease drops anything left under it.
    await this.permit?.close();
    await this.worker.stop();
    await this.o.terms.close?.();
  }

  status(): HaStatus {
    const s = this.state;
    const r = this.replication;
    return {
      node: { id: s.config.id, priority: s.config.priority, pid: process.pid },
      role: s.role,
      term: s.term,
      ready: isReady(s),
      healthy: s.healthy,
      healthReason: s.healthReason,
      vip: { address: this.o.config.vip?.address ?? '', wanted: s.vip === 'adding' || s.vip === 'held' },
      peer: {
        ...s.peer,
        link: {
          ...this.link.status(),
          peer: s.peer.status,
          stalls: s.stalls,
          peerGone: { ...this.peerGone },
        },
      },
      witnesses: this.witnesses.status(),
      worker: this.worker.status(),
      replication: r === undefined ? null : { ...r.report, ageMs: this.wallNow() - r.receivedAt },
      timelines: this.timelines.list(),
      alarms: this.alarms.list(),
      activeAlarms: this.alarms.raised(),
      cluster:
        this.permit === undefined
          ? null
          : {
              pairId: this.o.config.cluster?.pair_id ?? '',
              failsafe: s.quorum.failsafe,
              quorum: { etcd: s.quorum.etcd, permit: s.quorum.permit, fence: s.quorum.fence },
              etcd: this.permit.status(),
            },
      monitoring:
        this.sip === undefined
          ? null
          : {
              ...this.sip.status(),
              health: { worker: { ...this.health.worker }, sip: { ...this.health.sip } },
            },
    };
  }

  /** Manual switchover, on either node (src/ha/switchover.ts). */
  switchover(force = false): Promise<SwitchoverReply> {
    return switchover(
      {
        state: () => this.state,
        replication: () =>
          this.replication === undefined
            ? undefined
            : { report: this.replication.report, ageMs: this.wallNow() - this.replication.receivedAt },
        drain: (ms) => this.worker.drain(ms),
        request: () =>
          new Promise((resolve) => {
            this.pendingReply = resolve;
            this.dispatch({ type: 'switchover-requested' });
            // The machine always answers a switchover request in the same step; this is only a safety net.
            if (this.pendingReply === resolve) {
              this.pendingReply = undefined;
              resolve({ ok: false, detail: 'no answer from the role machine' });
            }
          }),
        until: (done, timeoutMs) => this.waiters.until(done, timeoutMs),
        timeline: () => this.timelines.current,
      },
      force,
    );
  }

  /**
   * The VIP driver checked, just after an enable or disable it reported done, and found the VIP in the wrong state
   * (the check runs off the takeover's critical path): for the machine that is the command failing.
   */
  vipVerifyFailed(op: 'enable' | 'disable', detail: string): void {
    this.log.error({ op, detail }, `VIP ${op} did not take effect`);
    this.dispatch({ type: 'vip-result', op, ok: false, reason: `verification after ${op}: ${detail}` });
  }

  // ---- events in ----

  private dispatch(event: RoleEvent): void {
    if (this.closed) return;
    if (this.closing && !['vip-result', 'resign-sent', 'tick'].includes(event.type)) return;
    const before = this.state;
    const { state, actions } = step(before, event);
    this.state = state;
    this.observe(before, state, event);
    for (const a of actions) {
      // The reply to an operator is not an effect on the world: it goes out now, not behind the VIP commands.
      if (a.type === 'switchover-result') this.reply(a.ok, a.detail);
      else if (a.type === 'send-heartbeat' && !a.queued) this.sendHeartbeat();
      else if (a.type === 'probe-vip') this.probeVip(a.seq, a.timeoutTicks);
      // A campaign may wait for a lease to expire: beside the queue, never in it; it answers with an event.
      else if (a.type === 'campaign') void this.permit?.campaign(a.wait);
      else this.effects.enqueue(a);
    }
    this.waiters.changed();
  }

  /** The role machine's VIP check: at once, beside the VIP commands (a takeover may wait on its answer). */
  private probeVip(seq: number, timeoutTicks: number): void {
    // (Without a prober the machine's check is off and asks nothing; the answer is never synchronous, so that
    // dispatch is not re-entered from its own action loop.)
    const sip = this.sip;
    const asked =
      sip === undefined
        ? Promise.reject(new Error('no SIP monitor'))
        : sip.probeVip(Math.max(1, timeoutTicks * this.tickMs));
    asked.then(
      (r) => {
        // Either way it decides a takeover: the operator sees why.
        if (r.ok) this.log.info({ rttMs: r.rttMs, status: r.status }, 'VIP check: the VIP answers SIP');
        else this.log.info({ detail: r.detail }, 'VIP check: the VIP does not answer SIP');
        this.dispatch({ type: 'vip-probe', seq, answered: r.ok });
      },
      () => this.dispatch({ type: 'vip-probe', seq, answered: false }),
    );
  }

  /** Logs and events for what changed in the machine's state. */
  private observe(before: RoleState, after: RoleState, event: RoleEvent): void {
    if (after.role !== before.role) {
      const change = { from: before.role, to: after.role, term: after.term };
      this.log.info({ ...change, event: event.type }, 'role change');
      this.emit({ type: 'role', ...change, cause: event.type, at: this.wallNow() });
    }
    if (after.peer.status !== before.peer.status) {
      this.log.warn(
        { peer: after.peer.status, by: after.peerDeadBy, silentTicks: after.peerSilentTicks },
        `peer is ${after.peer.status}`,
      );
      if (after.peer.status === 'dead') this.sip?.setPeer(undefined);
    }
    if (after.peerGone !== undefined && before.peerGone === undefined)
      this.log.info({ ...after.peerGone, peer: after.peer.status }, 'peer process gone? (unauthenticated)');
    if (after.stalls > before.stalls)
      this.log.warn({ stalls: after.stalls }, 'this process stalled; peer window restarted');
    // Cluster mode: a newer fencing token heard (the peer won the permit) reaches the worker's replication now.
    const fence = this.fenceView();
    if (fence !== undefined && fence.highest > this.toldFence) {
      this.toldFence = fence.highest;
      this.toWorker({ type: 'role', role: after.role === 'primary' ? 'primary' : 'backup', fence });
    }
  }

  /** Cluster mode: this node's fencing token and the highest it has seen, its own or its peer's; else undefined. */
  private fenceView(): FenceView | undefined {
    if (this.permit === undefined) return undefined;
    this.highestFence = Math.max(this.highestFence, this.state.quorum.fence, this.state.peer.fence);
    return { own: this.state.quorum.fence, highest: this.highestFence };
  }

  /** The permit's reports as machine events; an unreachable etcd is a warning alarm while it lasts. */
  private permitEvents(): PermitEvents {
    return {
      reachable: (ok, detail) => {
        if (ok) this.alarms.clear('etcd-unreachable', 'etcd lease renewed');
        else
          this.alarms.raise(
            'etcd-unreachable',
            'warning',
            `etcd lease not renewed in time (${detail}): no promotion; a primary keeps the VIP only under failsafe`,
          );
        this.dispatch({ type: 'etcd', reachable: ok });
      },
      won: (fence) => {
        this.log.info({ fence }, 'pair permit won in etcd');
        this.dispatch({ type: 'permit', held: true, fence });
      },
      lost: (detail) => {
        this.log.warn({ detail }, 'pair permit is not ours');
        this.dispatch({ type: 'permit', held: false, detail });
      },
    };
  }

  private workerEvents(): WorkerEvents {
    return {
      onReady: () => {
        // The worker starts as a backup; tell it what it is now.
        const role = this.state.role === 'primary' ? 'primary' : 'backup';
        const fence = this.fenceView();
        this.toWorker(fence === undefined ? { type: 'role', role } : { type: 'role', role, fence });
        const count = this.workersReady();
        this.setHealth('worker', true, count ?? 'worker ready');
        // A pool's worker lost while starting (or in a total failure) and back by now.
        if (this.worker.status().workers?.every((w) => w.ready) === true)
          this.alarms.clear('sip-worker-down', `all SIP workers ready (${count})`);
      },
      onFailed: (reason) => this.setHealth('worker', false, reason),
      onStall: (c, worker) => {
        const which = worker === undefined ? '' : ` ${worker}`;
        if (c.type === 'raise')
          this.alarms.raise(
            'worker-stall',
            'warning',
            `SIP worker${which} event loop stalled for ${Math.round(c.lagMs)} ms`,
          );
        else
          this.alarms.clear(
            'worker-stall',
            `SIP worker${which} event loop responsive again (worst stall ${Math.round(c.worstMs)} ms)`,
          );
      },
      // Several workers: one lost is a restart while the others serve (a warning), not a fault of the node.
      onWorkerDown: (index, reason) => {
        const count = this.workersReady() ?? '';
        this.alarms.raise('sip-worker-down', 'warning', `SIP worker ${index} down (${reason}); ${count}`);
        this.noteWorkerCount(count);
      },
      onWorkerUp: (index) => {
        const count = this.workersReady() ?? '';
        const all = this.worker.status().workers?.every((w) => w.ready) === true;
        if (all) this.alarms.clear('sip-worker-down', `SIP worker ${index} back; ${count}`);
        else this.alarms.raise('sip-worker-down', 'warning', `SIP worker ${index} back; ${count}`);
        this.noteWorkerCount(count);
      },
      // A warning, not a fault: shedding is the worker protecting its calls, and the peer would be as loaded.
      onOverload: (shedding, detail) =>
        shedding
          ? this.alarms.raise('sip-overload', 'warning', detail)
          : this.alarms.clear('sip-overload', detail),
      onMessage: (m) => this.onWorkerMessage(m),
    };
  }

  private onPeerMessage(m: PeerMessage): void {
    const b = m.body;
    switch (b.type) {
      case 'hb': {
        const { type: _t, sip, ...advert } = b;
        this.dispatch({ type: 'peer-heartbeat', ...advert, id: m.from });
        this.sip?.setPeer(sip === undefined ? undefined : { serving: b.role === 'primary', report: sip });
        return;
      }
      case 'resign':
        this.log.info({ term: b.term }, 'peer resigned');
        this.effects.peerResigned(b.vipRemovedAt);
        this.dispatch({ type: 'peer-resigned', term: b.term });
        return;
      case 'resign-request':
        this.log.info({ reason: b.reason }, 'peer asks this node to resign');
        this.dispatch({ type: 'resign-requested', reason: b.reason });
        return;
    }
  }

  private onWorkerMessage(m: WorkerToNode): void {
    if (m.type === 'pong' && m.sipIn !== undefined) this.sip?.onSipIn(m.sipIn);
    if (m.type === 'peer-conn-lost') this.onPeerGone({ type: 'peer-gone', via: 'tcp' });
    if (m.type === 'served' && this.state.role === 'primary')
      this.timelines.stamp('firstServedAt', m.atEpochMs);
    if (m.type === 'replication') {
      const { type: _t, ...report } = m;
      this.replication = { report, receivedAt: this.wallNow() };
      // The takeover's timeline says whether the new primary had a synced replica.
      if (m.role === 'primary' && m.promotedSynced !== null) this.timelines.markSynced(m.promotedSynced);
    }
    this.emit({ type: 'worker', message: m });
  }

  /** The peer's kernel refused a heartbeat (ICMP) or closed the replication connection (TCP): evidence only. */
  private onPeerGone(e: Extract<RoleEvent, { type: 'peer-gone' }>): void {
    this.peerGone[e.via]++;
    this.dispatch(e);
  }

  /** "3/4 SIP workers ready" with several workers; undefined with one. */
  private workersReady(): string | undefined {
    const ws = this.worker.status().workers;
    if (ws === undefined || ws.length < 2) return undefined;
    return `${ws.filter((w) => w.ready).length}/${ws.length} SIP workers ready`;
  }

  /** The worker health's reason follows the count while it stays healthy (news for the status, not the machine). */
  private noteWorkerCount(reason: string): void {
    if (this.health.worker.ok && reason !== '')
      this.health = { ...this.health, worker: { ok: true, reason } };
  }

  /** One part of local health changed (src/ha/local-health.ts decides what the machine hears). */
  private setHealth(part: HealthPart, ok: boolean, reason: string): void {
    const { parts, report } = updateHealth(this.health, part, ok, reason);
    this.health = parts;
    if (report === undefined) return;
    this.dispatch({ type: 'local-health', ...report });
    if (report.ok) this.alarms.clear('local-fault', `healthy again: ${reason}`);
  }

  private onSipDecision(d: Decision): void {
    this.log[d.fault ? 'warn' : 'info'](
      { rule: d.rule, fault: d.fault, severity: d.severity },
      `SIP path: ${d.message}`,
    );
    this.alarms.sipPath(d);
    this.setHealth('sip', !d.fault, d.message);
  }

  private sendHeartbeat(): void {
    this.link.send({ type: 'hb', ...advertise(this.state), sip: this.sip?.report() });
  }

  private reply(ok: boolean, detail: string): void {
    const pending = this.pendingReply;
    this.pendingReply = undefined;
    if (pending !== undefined) pending({ ok, detail });
    else this.log.info({ ok, detail }, 'switchover');
  }

  private emit(e: NodeEvent): void {
    for (const fn of this.listeners) {
      try {
        fn(e);
      } catch (err) {
        this.log.error({ err }, 'node event listener failed');
      }
    }
  }
}
