// The node supervisor (DESIGN.md "Processes on each host"): owns the role, the VIP and the SIP worker child.
// It turns the world into role-machine events (peer link, witnesses, worker IPC, operator, VIP results, ticks)
// and carries out the machine's actions in order on one queue, so that a release always completes before the
// resign that follows it and a term is on disk before the VIP that depends on it is added.
import { type ChildProcess, fork } from 'node:child_process';
import type { Logger } from 'pino';
import type { SiphaConfig } from '../config/schema.js';
import { sipMonitorFromConfig } from '../monitor/from-config.js';
import type { Decision } from '../monitor/health-decision.js';
import type { SipMonitor, SipMonitorStatus } from '../monitor/sip-monitor.js';
import {
  commandProbe,
  type Probe,
  parseWitness,
  WitnessMonitor,
  type WitnessStatus,
} from '../monitor/witness.js';
import { NEW_STALL_STATE, observeLag, type StallState } from '../monitor/worker-stall.js';
import { errorMessage } from '../net/errors.js';
import type { VipDriver } from '../vip/driver.js';
import { PeerLink, type PeerLinkStatus } from './peer-link.js';
import {
  initialState,
  isReady,
  type PeerView,
  type Role,
  type RoleAction,
  type RoleEvent,
  type RoleState,
  step,
} from './role-machine.js';
import type { TermStore } from './term-store.js';
import { type Timeline, TimelineLog } from './timeline.js';
import type { PeerMessage } from './wire.js';
import { isWorkerToNode, type NodeToWorker, type WorkerToNode } from './worker-ipc.js';

type ReplicationReport = Extract<WorkerToNode, { type: 'replication' }>;
type DrainedReport = Extract<WorkerToNode, { type: 'drained' }>;

export interface WorkerSpec {
  /** The worker's module (fork()ed) and its argv, e.g. dist/src/server/worker-main.js --config FILE. */
  modulePath: string;
  args: readonly string[];
  execArgv?: readonly string[];
  env?: NodeJS.ProcessEnv;
}

export interface HaNodeOptions {
  config: SiphaConfig;
  key: Buffer;
  vip: VipDriver;
  terms: TermStore;
  log: Logger;
  worker: WorkerSpec;
  /** Witness probe; the default runs ping/arping on the VIP's interface. */
  probe?: Probe;
}

export type AlarmSeverity = 'info' | 'warning' | 'critical';

/** A health change (issue 7): raised with a severity and a plain message, and cleared again (an event too). */
export interface Alarm {
  at: number;
  alarm: string;
  detail: string;
  severity: AlarmSeverity;
  state: 'raised' | 'cleared';
}

/** Severity of the role machine's alarms. */
const ROLE_ALARM_SEVERITY: Record<string, AlarmSeverity> = {
  'local-fault': 'critical',
  'dual-primary': 'critical',
  isolated: 'critical',
  'vip-enable-failed': 'critical',
  'vip-release-failed': 'critical',
  'witnesses-lost': 'warning',
};
/** Pongs under the stall threshold before a worker-stall alarm clears (1 s at the default heartbeat). */
const STALL_QUIET_PONGS = 20;

export interface HaStatus {
  node: { id: string; priority: number; pid: number };
  role: Role;
  term: number;
  ready: boolean;
  healthy: boolean;
  healthReason: string;
  vip: { address: string; wanted: boolean };
  peer: PeerView & { link: PeerLinkStatus };
  witnesses: WitnessStatus;
  worker: {
    pid: number | null;
    ready: boolean;
    restarts: number;
    lastPongAgoMs: number | null;
    loopLagMs: number | null;
  };
  /** The SIP worker's replication report (issue 6): synced, lag, bindings and dialogs held; null until one came. */
  replication: (Omit<ReplicationReport, 'type'> & { ageMs: number }) | null;
  timelines: Timeline[];
  /** Alarm events, raised and cleared, oldest first (the last 100). */
  alarms: Alarm[];
  /** The alarms raised and not cleared. */
  activeAlarms: Alarm[];
  /** SIP traffic monitoring (issue 7); null when monitoring.sip_traffic.enabled is false. */
  monitoring:
    | (SipMonitorStatus & { health: Record<'worker' | 'sip', { ok: boolean; reason: string }> })
    | null;
}

/** What the management layer hears from the node (issue 8): in order, as it happens. */
export type NodeEvent =
  | { type: 'role'; from: Role; to: Role; term: number; cause: string; at: number }
  | { type: 'alarm'; alarm: Alarm }
  | { type: 'timeline'; timeline: Timeline }
  /** Every message of the SIP worker (calls, registrations, query answers, replication reports). */
  | { type: 'worker'; message: WorkerToNode };

export interface SwitchoverReply {
  ok: boolean;
  detail: string;
  /** Who is primary once it is over, as seen from this node (null when it did not settle in time). */
  primary: string | null;
  term: number;
  timeline?: Timeline;
}

const SWITCHOVER_WAIT_MS = 5000;
/** A replication report older than this says nothing about now. */
const REPORT_FRESH_MS = 1000;
/** How long a manual switchover waits for the backup to acknowledge everything before giving up. */
const DRAIN_MS = 2000;
/** The last drain, between removing the VIP and resigning: it lengthens the gap, so it is short. */
const FINAL_DRAIN_MS = 50;
const TIMELINE_CLOSE_MS = 10_000;
const WORKER_START_TIMEOUT_MS = 15_000;

export class HaNode {
  private state: RoleState;
  private readonly link: PeerLink;
  private readonly witnesses: WitnessMonitor;
  private readonly timelines: TimelineLog;
  private readonly alarms: Alarm[] = [];
  private readonly activeAlarms = new Map<string, Alarm>();
  /** Local health is the worker's and the SIP path's together; the role machine hears the combination. */
  private readonly health = {
    worker: { ok: false, reason: 'worker not ready' },
    sip: { ok: true, reason: 'SIP path healthy' },
  };
  private readonly sip: SipMonitor | undefined;
  private sipAlarm: string | undefined;
  private stall: StallState = NEW_STALL_STATE;
  private queue: Promise<void> = Promise.resolve();
  private tickTimer: NodeJS.Timeout | undefined;
  private worker: ChildProcess | undefined;
  private workerReady = false;
  private workerRestarts = 0;
  private restartDelay: number;
  private restartTimer: NodeJS.Timeout | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  private pingSeq = 0;
  private lastPong: number | null = null;
  private loopLagMs: number | null = null;
  private vipWanted = false;
  /** Releases of a VIP this node held that are queued or running. */
  private releasing = 0;
  private heldTerm = 0;
  /** When the worker ping timer last ran: a late run means this process was stalled, not the worker. */
  private lastPingRun = 0;
  private stopping = false;
  private pendingReply: ((r: { ok: boolean; detail: string }) => void) | undefined;
  /** The worker's latest replication report, with when it came. */
  private replication: (ReplicationReport & { receivedAt: number }) | undefined;
  private drainWaiters: Array<(m: DrainedReport) => void> = [];
  /** Resign messages queued behind VIP commands; heartbeats wait behind them meanwhile. */
  private resignsQueued = 0;
  /** vipRemovedAt from the peer's last resign, for our promotion's timeline. */
  private peerRemovedAt: number | null = null;
  private timelineCloser: NodeJS.Timeout | undefined;
  private readonly ha: NonNullable<SiphaConfig['ha']>;
  private readonly log: Logger;
  private readonly listeners = new Set<(e: NodeEvent) => void>();

  constructor(private readonly o: HaNodeOptions) {
    const ha = o.config.ha;
    if (ha === undefined) throw new Error('HaNode needs an ha section');
    this.ha = ha;
    this.log = o.log;
    this.restartDelay = ha.worker_restart_ms;
    const node = o.config.node;
    const holdTicks = Math.ceil((2 * ha.dead_after_ms) / ha.heartbeat_ms);
    this.state = initialState(
      { id: node.id, priority: node.priority, preempt: ha.preempt, holdTicks },
      0,
      ha.witnesses.length > 0,
    );
    this.timelines = new TimelineLog(node.id, 50, (t) => {
      this.log.info({ timeline: t }, 'switchover timeline');
      this.emit({ type: 'timeline', timeline: t });
    });
    this.link = new PeerLink({
      id: node.id,
      paths: ha.listen.map((listen, i) => ({ listen, peer: ha.peer[i] as string })),
      key: o.key,
      heartbeatMs: ha.heartbeat_ms,
      deadAfterMs: ha.dead_after_ms,
      maxSkewMs: ha.max_skew_ms,
      // What the peer hears is what is true on this host: while a release is in flight this node still holds
      // the VIP, so it still says primary (and does not yield), or the peer could add the VIP before it is gone.
      heartbeat: () => ({
        type: 'hb',
        role: this.releasing > 0 ? 'primary' : this.state.role,
        // …in the term it held it under, not one adopted since: a higher-term primary must still win.
        term: this.releasing > 0 ? this.heldTerm : this.state.term,
        priority: node.priority,
        ready: this.releasing === 0 && isReady(this.state),
        yielding: this.releasing === 0 && this.state.hold > 0,
        sip: this.sip?.report(),
      }),
      onMessage: (m) => this.onPeerMessage(m),
      onPeerStatus: (s) => {
        this.log.warn({ peer: s }, `peer is ${s}`);
        if (s === 'dead') {
          this.sip?.setPeer(undefined);
          this.dispatch({ type: 'peer-dead' });
        }
      },
      onReject: (reason, detail, path) => this.log.warn({ reason, detail, path }, 'peer message rejected'),
    });
    this.witnesses = new WitnessMonitor({
      witnesses: ha.witnesses.map(parseWitness),
      probe: o.probe ?? commandProbe({ interface: o.config.vip?.interface }),
      intervalMs: ha.witness_interval_ms,
      timeoutMs: ha.witness_timeout_ms,
      failRounds: ha.witness_fail_rounds,
      onChange: (reachable) => {
        this.log.warn({ reachable }, `witnesses ${reachable ? 'reachable' : 'unreachable'}`);
        this.dispatch({ type: 'witnesses', reachable });
      },
    });
    this.sip = sipMonitorFromConfig(o.config, {
      witnesses: ha.witnesses.length > 0 ? () => this.witnesses.current : undefined,
      serving: () => this.state.role === 'primary' || this.releasing > 0,
      onDecision: (d) => this.onSipDecision(d),
      log: this.log,
    });
  }

  /** Subscribes to the node's events (management API); returns the unsubscribe function. */
  onEvent(fn: (e: NodeEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Sends a message to the SIP worker (management queries); false when there is no worker to send to. */
  toWorker(m: NodeToWorker): boolean {
    if (this.worker?.connected !== true) return false;
    this.sendWorker(m);
    return true;
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
    this.state = { ...this.state, term };
    this.log.info({ term, node: this.o.config.node.id }, 'starting');
    if (!releaseOk)
      this.dispatch({ type: 'vip-result', op: 'disable', ok: false, reason: 'safe start release failed' });
    await this.link.start();
    this.witnesses.start();
    await this.sip?.start();
    this.tickTimer = setInterval(() => this.dispatch({ type: 'tick' }), this.ha.heartbeat_ms);
    this.startWorker();
    this.dispatch({ type: 'started' });
  }

  /** Stops: hands over first when primary and the peer is ready, then releases the VIP and stops the worker. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    if (this.state.role === 'primary') this.dispatch({ type: 'switchover-requested' });
    this.stopping = true;
    await this.queue;
    clearInterval(this.tickTimer);
    clearTimeout(this.restartTimer);
    clearTimeout(this.timelineCloser);
    this.witnesses.stop();
    this.sip?.stop();
    this.vipWanted = false;
    try {
      await this.o.vip.disable();
    } catch (err) {
      this.log.error({ err }, 'stop: could not release the VIP');
    }
    // Tell the peer at once that we are gone (it promotes on a peer fault without waiting for dead_after_ms).
    this.state = { ...this.state, role: 'fault', healthy: false, healthReason: 'stopping' };
    this.link.sendHeartbeat();
    await this.link.close();
    await this.stopWorker();
  }

  status(): HaStatus {
    const s = this.state;
    return {
      node: { id: s.config.id, priority: s.config.priority, pid: process.pid },
      role: s.role,
      term: s.term,
      ready: isReady(s),
      healthy: s.healthy,
      healthReason: s.healthReason,
      vip: { address: this.o.config.vip?.address ?? '', wanted: this.vipWanted },
      peer: { ...s.peer, link: this.link.status() },
      witnesses: this.witnesses.status(),
      worker: {
        pid: this.worker?.pid ?? null,
        ready: this.workerReady,
        restarts: this.workerRestarts,
        lastPongAgoMs: this.lastPong === null ? null : Date.now() - this.lastPong,
        loopLagMs: this.loopLagMs,
      },
      replication: this.replicationStatus(),
      timelines: this.timelines.list(),
      alarms: [...this.alarms],
      activeAlarms: [...this.activeAlarms.values()],
      monitoring:
        this.sip === undefined
          ? null
          : {
              ...this.sip.status(),
              health: { worker: { ...this.health.worker }, sip: { ...this.health.sip } },
            },
    };
  }

  private replicationStatus(): HaStatus['replication'] {
    const r = this.replication;
    if (r === undefined) return null;
    const { type: _type, receivedAt, ...rest } = r;
    return { ...rest, ageMs: Date.now() - receivedAt };
  }

  /**
   * Manual switchover, on either node: the primary resigns explicitly, the backup asks its primary peer to.
   * Resolves once the other node is seen as primary in a higher term (or with the refusal).
   */
  async switchover(force = false): Promise<SwitchoverReply> {
    const before = { role: this.state.role, term: this.state.term };
    const refuse = (detail: string): SwitchoverReply => ({
      ok: false,
      detail,
      primary: this.currentPrimary(),
      term: this.state.term,
    });
    // Issue 6: only a synced backup is a safe target (on the primary, "synced" means its backup keeps up).
    if (!force && (before.role === 'primary' || before.role === 'backup')) {
      const r = this.replication;
      if (r === undefined || Date.now() - r.receivedAt > REPORT_FRESH_MS) {
        return refuse(
          'backup not synced (no replication report from the SIP worker); use --force to switch anyway',
        );
      }
      if (!r.synced) {
        return refuse(
          `backup not synced (acknowledged ${r.ackedSeq} of ${r.lastSeq}); use --force to switch anyway`,
        );
      }
    }
    // Lossless handover: the backup acknowledges everything before the primary lets go of the VIP.
    if (before.role === 'primary' && !force) {
      const drained = await this.drain(DRAIN_MS);
      if (!drained.ok)
        return refuse(`replication did not drain: ${drained.detail}; use --force to switch anyway`);
    }
    const reply = await new Promise<{ ok: boolean; detail: string }>((resolve) => {
      this.pendingReply = resolve;
      this.dispatch({ type: 'switchover-requested' });
      // The machine always answers a switchover request in the same step; this is only a safety net.
      if (this.pendingReply === resolve) {
        this.pendingReply = undefined;
        resolve({ ok: false, detail: 'no answer from the role machine' });
      }
    });
    if (!reply.ok) return { ...reply, primary: this.currentPrimary(), term: this.state.term };
    const wantPeer = before.role === 'primary';
    const settled = await this.waitFor(
      () =>
        wantPeer
          ? this.state.peer.status === 'alive' &&
            this.state.peer.role === 'primary' &&
            this.state.peer.term > before.term
          : this.state.role === 'primary' &&
            this.state.term > before.term &&
            this.timelines.current?.vipAddedAt !== null,
      SWITCHOVER_WAIT_MS,
    );
    return {
      ok: settled,
      detail: settled ? reply.detail : `${reply.detail}; no new primary within ${SWITCHOVER_WAIT_MS} ms`,
      primary: this.currentPrimary(),
      term: Math.max(this.state.term, this.state.peer.term),
      timeline: this.timelines.current,
    };
  }

  // ---- events ----

  private dispatch(event: RoleEvent): void {
    if (this.stopping) return;
    const before = this.state;
    const { state, actions } = step(before, event);
    this.state = state;
    if (state.role !== before.role) {
      this.log.info(
        { from: before.role, to: state.role, term: state.term, event: event.type },
        'role change',
      );
      this.emit({
        type: 'role',
        from: before.role,
        to: state.role,
        term: state.term,
        cause: event.type,
        at: Date.now(),
      });
    }
    // The role machine forgot a stale 'dead' verdict on leaving fault; the link starts a fresh window to match.
    if (before.role === 'fault' && state.role === 'backup' && state.peer.status === 'unknown')
      this.link.forgetDeadPeer();
    if (before.role === 'primary' && actions.some((a) => a.type === 'disable-vip')) {
      this.releasing++;
      this.heldTerm = before.term;
    }
    if (actions.some((a) => a.type === 'send-resign')) this.resignsQueued++;
    for (const a of actions) {
      // The reply to an operator is not an effect on the world: it goes out now, not behind the VIP commands.
      if (a.type === 'switchover-result') this.reply(a.ok, a.detail);
      // Heartbeats never wait behind VIP commands (an `ip` command on a busy host can take longer than
      // dead_after_ms, and the peer would declare this node dead). Their content is read from the state at send
      // time, which already says "primary" until a release is done.
      // Except while a resign is queued: the peer must hear "resigned" before a heartbeat that says "backup".
      else if (a.type === 'send-heartbeat' && this.resignsQueued === 0) this.link.sendHeartbeat();
      else this.enqueue(a);
    }
  }

  private reply(ok: boolean, detail: string): void {
    const pending = this.pendingReply;
    this.pendingReply = undefined;
    if (pending !== undefined) pending({ ok, detail });
    else this.log.info({ ok, detail }, 'switchover');
  }

  private onPeerMessage(m: PeerMessage): void {
    const b = m.body;
    switch (b.type) {
      case 'hb':
        this.dispatch({
          type: 'peer-heartbeat',
          term: b.term,
          role: b.role,
          priority: b.priority,
          id: m.from,
          ready: b.ready,
          yielding: b.yielding,
        });
        this.sip?.setPeer(b.sip === undefined ? undefined : { serving: b.role === 'primary', report: b.sip });
        return;
      case 'resign':
        this.log.info({ term: b.term }, 'peer resigned');
        this.peerRemovedAt = b.vipRemovedAt;
        this.dispatch({ type: 'peer-resigned', term: b.term });
        return;
      case 'resign-request':
        this.log.info({ reason: b.reason }, 'peer asks this node to resign');
        this.dispatch({ type: 'resign-requested', reason: b.reason });
        return;
    }
  }

  // ---- actions: one queue, in order; sync ones run in their turn too so that order is kept ----

  private enqueue(a: RoleAction): void {
    const detectedAt = Date.now();
    this.queue = this.queue.then(
      () => this.run(a, detectedAt),
      () => this.run(a, detectedAt),
    );
    this.queue = this.queue.catch((err: unknown) => this.log.error({ err, action: a.type }, 'action failed'));
  }

  private async run(a: RoleAction, detectedAt: number): Promise<void> {
    switch (a.type) {
      case 'timeline': {
        this.timelines.begin({
          kind: a.kind,
          cause: a.cause,
          oldTerm: a.oldTerm,
          newTerm: a.newTerm,
          detectedAt,
        });
        if (a.kind === 'promote' && a.cause === 'switchover' && this.peerRemovedAt !== null)
          this.timelines.stamp('vipRemovedAt', this.peerRemovedAt);
        this.peerRemovedAt = null;
        clearTimeout(this.timelineCloser);
        this.timelineCloser = setTimeout(() => this.timelines.finishOpen(), TIMELINE_CLOSE_MS);
        this.timelineCloser.unref();
        return;
      }
      case 'persist-term':
        await this.o.terms.save(a.term);
        return;
      case 'enable-vip': {
        this.vipWanted = true;
        try {
          await this.o.vip.enable();
          this.timelines.stamp('vipAddedAt', Date.now());
          this.dispatch({ type: 'vip-result', op: 'enable', ok: true });
        } catch (err) {
          this.log.error({ err }, 'VIP enable failed');
          this.dispatch({ type: 'vip-result', op: 'enable', ok: false, reason: errorMessage(err) });
        }
        return;
      }
      case 'disable-vip': {
        this.vipWanted = false;
        const wasHeld = this.releasing > 0;
        try {
          await this.o.vip.disable();
          this.timelines.stamp('vipRemovedAt', Date.now());
          if (wasHeld) this.releasing--;
          this.dispatch({ type: 'vip-result', op: 'disable', ok: true });
        } catch (err) {
          // Still (maybe) held: keep saying so; the role machine retries the release from fault.
          this.log.error({ err }, 'VIP disable failed');
          this.dispatch({ type: 'vip-result', op: 'disable', ok: false, reason: errorMessage(err) });
        }
        return;
      }
      case 'announce': {
        // Not awaited: the first burst takes count × interval, and nothing else may wait for it. Its first
        // announcement leaves at once, so that is the time recorded.
        const at = Date.now();
        this.o.vip.announce().then(
          (out) => {
            if (out.mode === 'sent' || out.mode === 'os') this.timelines.stamp('announcedAt', at);
          },
          (err: unknown) => this.log.error({ err }, 'VIP announcement failed'),
        );
        return;
      }
      case 'set-worker-role':
        this.sendWorker({ type: 'role', role: a.role });
        return;
      case 'send-heartbeat':
        this.link.sendHeartbeat();
        return;
      case 'send-resign': {
        // The VIP is gone: catch the changes of the last requests it served before the backup takes over.
        const drained = await this.drain(FINAL_DRAIN_MS);
        if (!drained.ok) this.log.warn({ detail: drained.detail }, 'final replication drain incomplete');
        this.link.send({
          type: 'resign',
          term: a.term,
          vipRemovedAt: this.timelines.current?.vipRemovedAt ?? Date.now(),
        });
        this.resignsQueued = Math.max(0, this.resignsQueued - 1);
        return;
      }
      case 'request-resign':
        this.link.send({ type: 'resign-request', reason: a.reason });
        return;
      case 'raise-alarm':
        this.raiseAlarm(a.alarm, ROLE_ALARM_SEVERITY[a.alarm] ?? 'warning', a.detail);
        return;
      case 'switchover-result':
        this.reply(a.ok, a.detail);
        return;
    }
  }

  // ---- the SIP worker ----

  private startWorker(): void {
    if (this.stopping) return;
    const w = this.o.worker;
    const child = fork(w.modulePath, [...w.args], {
      execArgv: w.execArgv === undefined ? undefined : [...w.execArgv],
      env: w.env,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.worker = child;
    this.workerReady = false;
    this.lastPong = Date.now();
    this.log.info({ pid: child.pid }, 'SIP worker started');
    child.on('message', (m: unknown) => {
      if (child !== this.worker || !isWorkerToNode(m)) return;
      this.onWorkerMessage(m);
      this.emit({ type: 'worker', message: m });
    });
    child.on('exit', (code, signal) => {
      if (child !== this.worker) return;
      this.worker = undefined;
      clearInterval(this.pingTimer);
      this.workerFailed(`worker exited (${signal ?? `code ${code}`})`);
    });
    child.on('error', (err) => this.log.error({ err }, 'SIP worker error'));
    clearInterval(this.pingTimer);
    this.pingTimer = setInterval(() => this.pingWorker(child), this.ha.heartbeat_ms);
  }

  private onWorkerMessage(m: WorkerToNode): void {
    switch (m.type) {
      case 'pong':
        this.lastPong = Date.now();
        this.loopLagMs = m.loopLagMs;
        if (m.sipIn !== undefined) this.sip?.onSipIn(m.sipIn);
        this.watchStall(m.loopLagMs);
        return;
      case 'ready':
        this.workerReady = true;
        this.lastPong = Date.now();
        this.restartDelay = this.ha.worker_restart_ms;
        this.log.info({ listening: m.listening }, 'SIP worker ready');
        // The worker starts as a backup; tell it what it is now.
        this.sendWorker({ type: 'role', role: this.state.role === 'primary' ? 'primary' : 'backup' });
        this.setHealth('worker', true, 'worker ready');
        return;
      case 'served':
        if (this.state.role === 'primary') this.timelines.stamp('firstServedAt', m.atEpochMs);
        return;
      case 'replication':
        this.replication = { ...m, receivedAt: Date.now() };
        // The takeover's timeline says whether the new primary had a synced replica (issue 6).
        if (m.role === 'primary' && m.promotedSynced !== null) this.timelines.markSynced(m.promotedSynced);
        return;
      case 'drained':
        for (const w of this.drainWaiters.splice(0)) w(m);
        return;
      case 'fatal':
        this.log.error({ message: m.message }, 'SIP worker reports a fatal error');
        this.killWorker(`worker fatal: ${m.message}`);
        return;
    }
  }

  private pingWorker(child: ChildProcess): void {
    if (child !== this.worker) return;
    const now = Date.now();
    const gap = this.lastPingRun === 0 ? 0 : now - this.lastPingRun;
    const late = gap > this.ha.worker_dead_after_ms / 2;
    this.lastPingRun = now;
    if (late) {
      // This node was stopped or starved (SIGSTOP, a frozen VM), so the worker's answers could not be read:
      // give it a fresh window instead of killing a healthy worker for our own stall.
      this.log.warn({ stalledMs: gap }, 'supervisor was stalled; worker pulse window restarted');
      this.lastPong = now;
    }
    // Until it is ready the worker is loading code and binding sockets: a start timeout applies, not the pulse.
    const limit = this.workerReady ? this.ha.worker_dead_after_ms : WORKER_START_TIMEOUT_MS;
    if (this.lastPong !== null && Date.now() - this.lastPong > limit) {
      this.killWorker(
        this.workerReady
          ? `worker silent for ${Date.now() - this.lastPong} ms`
          : `worker not ready after ${Date.now() - this.lastPong} ms`,
      );
      return;
    }
    this.sendWorker({ type: 'ping', seq: ++this.pingSeq });
  }

  /** Unhealthy now (the release comes first), then the worker is killed and restarted. */
  private killWorker(reason: string): void {
    const child = this.worker;
    this.worker = undefined;
    clearInterval(this.pingTimer);
    this.workerFailed(reason);
    child?.kill('SIGKILL');
  }

  private workerFailed(reason: string): void {
    this.workerReady = false;
    this.log.error({ reason }, 'SIP worker failed');
    this.setHealth('worker', false, reason);
    if (this.stopping) return;
    this.workerRestarts++;
    const delay = this.restartDelay;
    this.restartDelay = Math.min(this.restartDelay * 2, 10_000);
    clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => this.startWorker(), delay);
  }

  private sendWorker(m: NodeToWorker): void {
    const w = this.worker;
    if (w === undefined || !w.connected) return;
    try {
      w.send(m);
    } catch {
      // The channel is closing: the exit handler takes it from here.
    }
  }

  private async stopWorker(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    clearInterval(this.pingTimer);
    if (w === undefined || w.exitCode !== null) return;
    const exited = new Promise<void>((res) => w.once('exit', () => res()));
    if (w.connected) w.send({ type: 'stop', graceMs: 1000 } satisfies NodeToWorker);
    const timer = setTimeout(() => w.kill('SIGKILL'), 2000);
    await exited;
    clearTimeout(timer);
  }

  // ---- health and alarms (issue 7) ----

  /** One part of local health changed: the role machine hears the combination, SIP path first in the reason. */
  private setHealth(part: 'worker' | 'sip', ok: boolean, reason: string): void {
    const changed = this.health[part].ok !== ok;
    this.health[part] = { ok, reason };
    // The worker's reports always went to the machine; a SIP verdict only when it flips.
    if (part === 'sip' && !changed) return;
    const bad = (['sip', 'worker'] as const).find((p) => !this.health[p].ok);
    const healthy = bad === undefined;
    this.dispatch({ type: 'local-health', ok: healthy, reason: healthy ? reason : this.health[bad].reason });
    if (healthy) this.clearAlarm('local-fault', `healthy again: ${reason}`);
  }

  private onSipDecision(d: Decision): void {
    this.log.warn({ rule: d.rule, fault: d.fault, severity: d.severity }, `SIP path: ${d.message}`);
    const name = `sip-${d.rule}`;
    if (this.sipAlarm !== undefined && this.sipAlarm !== name)
      this.clearAlarm(this.sipAlarm, d.severity === null ? 'SIP path healthy again' : `now: ${d.message}`);
    this.sipAlarm = d.severity === null ? undefined : name;
    if (d.severity !== null) this.raiseAlarm(name, d.severity, d.message);
    this.setHealth('sip', !d.fault, d.message);
  }

  private watchStall(lagMs: number): void {
    const stallMs = this.o.config.monitoring?.worker.stall_ms ?? 500;
    const { state, change } = observeLag(this.stall, lagMs, stallMs, STALL_QUIET_PONGS);
    this.stall = state;
    if (change?.type === 'raise')
      this.raiseAlarm(
        'worker-stall',
        'warning',
        `SIP worker event loop stalled for ${Math.round(change.lagMs)} ms`,
      );
    else if (change?.type === 'clear')
      this.clearAlarm(
        'worker-stall',
        `SIP worker event loop responsive again (worst stall ${Math.round(change.worstMs)} ms)`,
      );
  }

  private raiseAlarm(alarm: string, severity: AlarmSeverity, detail: string): void {
    const a: Alarm = { at: Date.now(), alarm, detail, severity, state: 'raised' };
    this.activeAlarms.set(alarm, a);
    this.recordAlarm(a);
  }

  /** Clearing is an event too, for an alarm that is raised. */
  private clearAlarm(alarm: string, detail: string): void {
    if (!this.activeAlarms.delete(alarm)) return;
    this.recordAlarm({ at: Date.now(), alarm, detail, severity: 'info', state: 'cleared' });
  }

  private recordAlarm(a: Alarm): void {
    this.alarms.push(a);
    if (this.alarms.length > 100) this.alarms.shift();
    this.emit({ type: 'alarm', alarm: a });
    if (a.state === 'raised')
      this.log.warn({ alarm: a.alarm, severity: a.severity, detail: a.detail }, 'alarm');
    else this.log.info({ alarm: a.alarm, detail: a.detail }, 'alarm cleared');
  }

  // ---- helpers ----

  private currentPrimary(): string | null {
    if (this.state.role === 'primary') return this.state.config.id;
    if (this.state.peer.status === 'alive' && this.state.peer.role === 'primary') return this.state.peer.id;
    return null;
  }

  /** Asks the worker to wait until the backup has acknowledged every change (or `timeoutMs`). */
  private drain(timeoutMs: number): Promise<{ ok: boolean; detail: string }> {
    if (this.worker === undefined || !this.workerReady)
      return Promise.resolve({ ok: false, detail: 'no SIP worker' });
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.drainWaiters = this.drainWaiters.filter((w) => w !== done);
        resolve({ ok: false, detail: `no answer within ${timeoutMs} ms` });
      }, timeoutMs + 200);
      const done = (m: DrainedReport) => {
        clearTimeout(timer);
        resolve({ ok: m.ok, detail: m.detail });
      };
      this.drainWaiters.push(done);
      this.sendWorker({ type: 'drain', timeoutMs });
    });
  }

  private async waitFor(cond: () => boolean, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!cond()) {
      if (Date.now() > deadline) return false;
      await new Promise((r) => setTimeout(r, 10));
    }
    return true;
  }
}
