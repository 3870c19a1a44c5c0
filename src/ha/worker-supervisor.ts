// The node's SIP worker (DESIGN.md "Processes on each host"): forks it, checks its pulse over IPC every
// heartbeat, gives it a start timeout, restarts it with a doubling backoff, watches its event-loop stalls, and
// asks it to drain replication as a request answered by id. The node hears: ready, failed (with the reason),
// stall alarms, overload (shedding) starting and stopping, and every other message.
import { type ChildProcess, fork } from 'node:child_process';
import type { Logger } from 'pino';
import { NEW_STALL_STATE, observeLag, type StallChange, type StallState } from '../monitor/worker-stall.js';
import { type Clock, systemClock, type TimerHandle } from '../time/clock.js';
import type { WorkerStatus } from './status.js';
import {
  STALL_QUIET_PONGS,
  WORKER_RESTART_MAX_MS,
  WORKER_START_TIMEOUT_MS,
  WORKER_STOP_GRACE_MS,
  WORKER_STOP_KILL_MS,
} from './timers.js';
import { isWorkerToNode, type NodeToWorker, type WorkerToNode } from './worker-ipc.js';

export interface WorkerSpec {
  /** The worker's module (fork()ed) and its argv, e.g. dist/src/app/worker-main.js --config FILE. */
  modulePath: string;
  args: readonly string[];
  execArgv?: readonly string[];
  env?: NodeJS.ProcessEnv;
}

/** What the node hears from its worker. */
export interface WorkerEvents {
  onReady(listening: Extract<WorkerToNode, { type: 'ready' }>['listening']): void;
  onFailed(reason: string): void;
  /** `worker`: which worker of a pool stalled (or was the last to recover); absent with a single worker. */
  onStall(change: NonNullable<StallChange>, worker?: number): void;
  /**
   * The worker's overload control started (true) or stopped (false) shedding new requests; the worker's governor
   * gives it hysteresis already. A worker that fails while shedding stops (its successor starts idle).
   */
  onOverload(shedding: boolean, detail: string): void;
  /** Every message, ready and pongs included, after the supervisor has read it. */
  onMessage(m: WorkerToNode): void;
  /**
   * A pool (`sip.workers` > 1): one worker failed and is being restarted, or is ready again. The node hears
   * `onFailed` only when no worker is ready any more.
   */
  onWorkerDown?(index: number, reason: string): void;
  onWorkerUp?(index: number): void;
}

export interface DrainResult {
  ok: boolean;
  detail: string;
}

/** The node's view of its SIP worker; a test gives the node another implementation. */
export interface WorkerPort {
  start(): void;
  stop(): Promise<void>;
  /** False when there is no worker to send to. */
  send(m: NodeToWorker): boolean;
  /**
   * Asks the worker to wait until the backup has acknowledged every change (or `timeoutMs`); the answer is awaited
   * for `waitMs` (default `timeoutMs` + 200). `handover`: the VIP is about to be released (the disable-vip action;
   * a primary worker first ends its connections, while their FIN can still leave from the VIP).
   */
  drain(timeoutMs: number, handover?: boolean, waitMs?: number): Promise<DrainResult>;
  readonly ready: boolean;
  status(): WorkerStatus;
}

export interface WorkerSupervisorOptions {
  spec: WorkerSpec;
  /** Pulse interval (the HA heartbeat) and the silence after which a ready worker is killed. */
  pulseMs: number;
  deadAfterMs: number;
  restartMs: number;
  stallMs: number;
  log: Logger;
  clock?: Clock;
  /** How long a stopping worker may finish its work (then it is killed a second later); the node's default. */
  stopGraceMs?: number;
  /** How the worker process is made; child_process.fork by default (a pool of workers forks through node:cluster). */
  fork?: (spec: WorkerSpec) => ChildProcess;
}

/** The single worker's fork: its own process, its own sockets. */
export function forkWorker(w: WorkerSpec): ChildProcess {
  return fork(w.modulePath, [...w.args], {
    execArgv: w.execArgv === undefined ? undefined : [...w.execArgv],
    env: w.env,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
}

export class WorkerSupervisor implements WorkerPort {
  private child: ChildProcess | undefined;
  private workerReady = false;
  private restarts = 0;
  private restartDelay: number;
  private restartTimer: TimerHandle | undefined;
  private pulseTimer: TimerHandle | undefined;
  private pingSeq = 0;
  private lastPong: number | null = null;
  private loopLagMs: number | null = null;
  /** When the pulse last ran: a late run means this process was stalled, not the worker. */
  private lastPulse = 0;
  private stall: StallState = NEW_STALL_STATE;
  private overloaded = false;
  private drainSeq = 0;
  private readonly drains = new Map<number, (r: DrainResult) => void>();
  private stopping = false;
  private readonly clock: Clock;

  constructor(
    private readonly o: WorkerSupervisorOptions,
    private readonly events: WorkerEvents,
  ) {
    this.clock = o.clock ?? systemClock;
    this.restartDelay = o.restartMs;
  }

  get ready(): boolean {
    return this.child !== undefined && this.workerReady;
  }

  status(): WorkerStatus {
    return {
      pid: this.child?.pid ?? null,
      ready: this.workerReady,
      restarts: this.restarts,
      lastPongAgoMs: this.lastPong === null ? null : Math.round(this.clock.now() - this.lastPong),
      loopLagMs: this.loopLagMs,
    };
  }

  start(): void {
    if (this.stopping) return;
    const child = (this.o.fork ?? forkWorker)(this.o.spec);
    this.child = child;
    this.workerReady = false;
    this.lastPong = this.clock.now();
    this.o.log.info({ workerPid: child.pid }, 'SIP worker started');
    child.on('message', (m: unknown) => {
      if (child === this.child && isWorkerToNode(m)) this.onMessage(m);
    });
    child.on('exit', (code, signal) => {
      if (child !== this.child) return;
      this.child = undefined;
      this.failed(`worker exited (${signal ?? `code ${code}`})`);
    });
    child.on('error', (err) => this.o.log.error({ err }, 'SIP worker error'));
    this.armPulse();
  }

  send(m: NodeToWorker): boolean {
    const w = this.child;
    if (w === undefined || !w.connected) return false;
    try {
      w.send(m);
      return true;
    } catch {
      // The channel is closing: the exit handler takes it from here.
      return false;
    }
  }

  drain(timeoutMs: number, handover = false, waitMs = timeoutMs + 200): Promise<DrainResult> {
    if (!this.ready) return Promise.resolve({ ok: false, detail: 'no SIP worker' });
    const id = ++this.drainSeq;
    return new Promise((resolve) => {
      const timer = this.clock.setTimeout(() => {
        this.drains.delete(id);
        resolve({ ok: false, detail: `no answer within ${waitMs} ms` });
      }, waitMs);
      this.drains.set(id, (r) => {
        this.clock.clearTimeout(timer);
        resolve(r);
      });
      this.send({ type: 'drain', id, timeoutMs, ...(handover ? { handover } : {}) });
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.restartTimer !== undefined) this.clock.clearTimeout(this.restartTimer);
    this.disarmPulse();
    const w = this.child;
    this.child = undefined;
    if (w === undefined || w.exitCode !== null) return;
    const exited = new Promise<void>((res) => w.once('exit', () => res()));
    const graceMs = this.o.stopGraceMs ?? WORKER_STOP_GRACE_MS;
    if (w.connected) w.send({ type: 'stop', graceMs } satisfies NodeToWorker);
    const timer = setTimeout(() => w.kill('SIGKILL'), WORKER_STOP_KILL_MS - WORKER_STOP_GRACE_MS + graceMs);
    await exited;
    clearTimeout(timer);
  }

  private onMessage(m: WorkerToNode): void {
    switch (m.type) {
      case 'pong': {
        this.lastPong = this.clock.now();
        this.loopLagMs = m.loopLagMs;
        const { state, change } = observeLag(this.stall, m.loopLagMs, this.o.stallMs, STALL_QUIET_PONGS);
        this.stall = state;
        if (change !== undefined) this.events.onStall(change);
        if (m.overload !== undefined && m.overload !== this.overloaded) {
          this.overloaded = m.overload;
          this.events.onOverload(
            m.overload,
            m.overload
              ? 'SIP worker overloaded: new requests answered 503'
              : 'SIP worker admits every request again',
          );
        }
        break;
      }
      case 'ready':
        this.workerReady = true;
        this.lastPong = this.clock.now();
        this.restartDelay = this.o.restartMs;
        this.o.log.info({ listening: m.listening }, 'SIP worker ready');
        this.events.onReady(m.listening);
        break;
      case 'drained': {
        const done = this.drains.get(m.id);
        this.drains.delete(m.id);
        done?.({ ok: m.ok, detail: m.detail });
        break;
      }
      case 'fatal':
        this.o.log.error({ message: m.message }, 'SIP worker reports a fatal error');
        this.kill(`worker fatal: ${m.message}`);
        break;
    }
    this.events.onMessage(m);
  }

  private armPulse(): void {
    this.disarmPulse();
    this.lastPulse = 0;
    const beat = () => {
      this.pulseTimer = this.clock.setTimeout(beat, this.o.pulseMs);
      this.pulse();
    };
    this.pulseTimer = this.clock.setTimeout(beat, this.o.pulseMs);
  }

  private disarmPulse(): void {
    if (this.pulseTimer !== undefined) this.clock.clearTimeout(this.pulseTimer);
    this.pulseTimer = undefined;
  }

  private pulse(): void {
    const now = this.clock.now();
    const gap = this.lastPulse === 0 ? 0 : now - this.lastPulse;
    this.lastPulse = now;
    if (gap > this.o.deadAfterMs / 2) {
      // This node was stopped or starved (SIGSTOP, a frozen VM), so the worker's answers could not be read:
      // give it a fresh window instead of killing a healthy worker for our own stall.
      this.o.log.warn({ stalledMs: gap }, 'supervisor was stalled; worker pulse window restarted');
      this.lastPong = now;
    }
    const limit = this.workerReady ? this.o.deadAfterMs : WORKER_START_TIMEOUT_MS;
    const silent = this.lastPong === null ? 0 : now - this.lastPong;
    if (silent > limit) {
      this.kill(
        this.workerReady
          ? `worker silent for ${Math.round(silent)} ms`
          : `worker not ready after ${Math.round(silent)} ms`,
      );
      return;
    }
    this.send({ type: 'ping', seq: ++this.pingSeq });
  }

  /** Unhealthy now (the release comes first), then the worker is killed and restarted. */
  private kill(reason: string): void {
    const child = this.child;
    this.child = undefined;
    this.failed(reason);
    child?.kill('SIGKILL');
  }

  private failed(reason: string): void {
    this.workerReady = false;
    this.disarmPulse();
    for (const done of this.drains.values()) done({ ok: false, detail: reason });
    this.drains.clear();
    this.o.log.error({ reason }, 'SIP worker failed');
    this.events.onFailed(reason);
    if (this.overloaded) {
      this.overloaded = false;
      this.events.onOverload(false, `SIP worker gone while overloaded (${reason})`);
    }
    if (this.stopping) return;
    this.restarts++;
    const delay = this.restartDelay;
    this.restartDelay = Math.min(this.restartDelay * 2, WORKER_RESTART_MAX_MS);
    if (this.restartTimer !== undefined) this.clock.clearTimeout(this.restartTimer);
    this.restartTimer = this.clock.setTimeout(() => this.start(), delay);
  }
}
