// Several SIP workers on one node (`sip.workers` > 1): one supervisor each, forked through node:cluster so that they
// share the bound UDP socket. Each worker restarts on its own (same index, same doubling backoff) while the others
// keep serving; the node hears a failure only when no worker is ready any more, and a single worker lost or back
// as onWorkerDown/onWorkerUp (its sip-worker-down alarm). Worker 0 is the state keeper: it holds every worker's
// registrations and calls and runs the replication, so listings and the final drain are its; counters are every
// worker's, summed.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Clock, systemClock, type TimerHandle } from '../time/clock.js';
import { clusterFork } from './cluster-fork.js';
import { sumCounters } from './counters-sum.js';
import type { WorkerMemberStatus, WorkerStatus } from './status.js';
import { workerEnv } from './worker-env.js';
import type { NodeToWorker, SipCounters, WorkerToNode } from './worker-ipc.js';
import {
  type DrainResult,
  type WorkerEvents,
  type WorkerPort,
  type WorkerSpec,
  WorkerSupervisor,
  type WorkerSupervisorOptions,
} from './worker-supervisor.js';

/** How long a counters query waits for every ready worker; the ones that did not answer by then are left out. */
export const POOL_COUNTERS_WAIT_MS = 300;

export interface WorkerPoolOptions extends Omit<WorkerSupervisorOptions, 'fork'> {
  /** How many workers (2 or more; one worker is a plain WorkerSupervisor). */
  count: number;
  countersWaitMs?: number;
  /** How a worker is forked; node:cluster by default. */
  fork?: (spec: WorkerSpec) => ChildProcess;
}

type Listening = Extract<WorkerToNode, { type: 'ready' }>['listening'];

interface Member {
  index: number;
  sup: WorkerSupervisor;
  /** Ready at least once since the pool started. */
  readyOnce: boolean;
  listening: Listening;
  overloaded: boolean;
  stalled: boolean;
  /** Its last reported SIP message count (the pool reports the sum, never going back). */
  sipIn: number;
}

interface CountersQuery {
  waiting: Set<number>;
  answers: Map<number, SipCounters>;
  timer: TimerHandle;
}

export class WorkerPool implements WorkerPort {
  private readonly members: Member[];
  private meshDir: string | undefined;
  /** The node's last role message: a restarted worker hears it again once ready. */
  private lastRole: Extract<NodeToWorker, { type: 'role' }> | undefined;
  /** Whether the node was told onReady (and not onFailed since). */
  private reported = false;
  /** After a total failure the pool is ready again with worker 0 (the others follow one by one). */
  private failedOnce = false;
  private sipInTotal = 0;
  private readonly counters = new Map<number, CountersQuery>();
  private stopping = false;
  private readonly clock: Clock;

  constructor(
    private readonly o: WorkerPoolOptions,
    private readonly events: WorkerEvents,
  ) {
    if (o.count < 2) throw new Error('a worker pool has 2 workers or more');
    this.clock = o.clock ?? systemClock;
    const fork = o.fork ?? clusterFork;
    this.members = Array.from({ length: o.count }, (_, index) => ({
      index,
      readyOnce: false,
      listening: [],
      overloaded: false,
      stalled: false,
      sipIn: 0,
      sup: new WorkerSupervisor(
        {
          ...o,
          log: o.log.child({ worker: index }),
          // Every fork, a restart's too, carries the worker's index (it keeps it) and the mesh directory.
          fork: (spec) => fork({ ...spec, env: { ...spec.env, ...workerEnv(index, o.count, this.mesh()) } }),
        },
        this.memberEvents(index),
      ),
    }));
  }

  /** Worker 0 is ready: it holds the state and the replication, so it speaks for the pool. */
  get ready(): boolean {
    return this.keeper.sup.ready;
  }

  /** The private directory of the workers' Unix sockets (undefined before start and after stop). */
  get meshDirectory(): string | undefined {
    return this.meshDir;
  }

  start(): void {
    if (this.stopping) return;
    this.mesh();
    for (const m of this.members) m.sup.start();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    for (const id of [...this.counters.keys()]) this.answerCounters(id);
    await Promise.all(this.members.map((m) => m.sup.stop()));
    if (this.meshDir !== undefined) rmSync(this.meshDir, { recursive: true, force: true });
    this.meshDir = undefined;
  }

  send(m: NodeToWorker): boolean {
    switch (m.type) {
      case 'query':
        // Worker 0 holds every worker's registrations and calls; counters are each worker's own.
        return m.what === 'counters' ? this.askCounters(m) : this.keeper.sup.send(m);
      case 'drain':
        return this.keeper.sup.send(m);
      case 'role':
        this.lastRole = m;
        return this.broadcast(m);
      default:
        return this.broadcast(m);
    }
  }

  /**
   * The other workers first (each answers once its changes have reached worker 0), then worker 0, whose
   * replication has them all by then: its answer is the pool's. A drain that waits for no replication
   * (timeoutMs 0: the handover ending every worker's connections) asks them all at once, so that releasing the
   * VIP waits `waitMs` at most, as with one worker.
   */
  async drain(timeoutMs: number, handover = false, waitMs = timeoutMs + 200): Promise<DrainResult> {
    if (!this.ready) return { ok: false, detail: 'no SIP worker' };
    const others = this.members.slice(1).filter((m) => m.sup.ready);
    const asked = Promise.all(
      others.map(async (m) => ({ index: m.index, r: await m.sup.drain(timeoutMs, handover, waitMs) })),
    );
    const answers = timeoutMs === 0 ? [] : await asked;
    const own = await this.keeper.sup.drain(timeoutMs, handover, waitMs);
    if (timeoutMs === 0) answers.push(...(await asked));
    const short = answers.filter((a) => !a.r.ok).map((a) => `worker ${a.index}: ${a.r.detail}`);
    return short.length === 0 ? own : { ok: own.ok, detail: `${own.detail} (${short.join('; ')})` };
  }

  status(): WorkerStatus {
    const workers: WorkerMemberStatus[] = this.members.map((m) => ({ index: m.index, ...m.sup.status() }));
    const worst = (get: (w: WorkerMemberStatus) => number | null): number | null =>
      workers.reduce<number | null>((a, w) => {
        const v = get(w);
        return v === null ? a : a === null ? v : Math.max(a, v);
      }, null);
    return {
      pid: workers[0]?.pid ?? null,
      ready: this.ready,
      restarts: workers.reduce((a, w) => a + w.restarts, 0),
      lastPongAgoMs: worst((w) => w.lastPongAgoMs),
      loopLagMs: worst((w) => w.loopLagMs),
      workers,
    };
  }

  private get keeper(): Member {
    return this.members[0] as Member;
  }

  private mesh(): string {
    this.meshDir ??= mkdtempSync(join(tmpdir(), 'sipha-workers-'));
    return this.meshDir;
  }

  private broadcast(m: NodeToWorker): boolean {
    let sent = false;
    for (const w of this.members) sent = w.sup.send(m) || sent;
    return sent;
  }

  private askCounters(m: Extract<NodeToWorker, { type: 'query' }>): boolean {
    const waiting = new Set(this.members.filter((w) => w.sup.ready && w.sup.send(m)).map((w) => w.index));
    if (waiting.size === 0) return false;
    const timer = this.clock.setTimeout(
      () => this.answerCounters(m.id),
      this.o.countersWaitMs ?? POOL_COUNTERS_WAIT_MS,
    );
    this.counters.set(m.id, { waiting, answers: new Map(), timer });
    return true;
  }

  /** One answer for the asker, with the counters of the workers that answered (none: the asker times out). */
  private answerCounters(id: number): void {
    const q = this.counters.get(id);
    if (q === undefined) return;
    this.counters.delete(id);
    this.clock.clearTimeout(q.timer);
    const sum = sumCounters([...q.answers.values()], q.answers.get(0));
    if (sum !== undefined && !this.stopping) this.events.onMessage({ type: 'answer', id, counters: sum });
  }

  private memberEvents(i: number): WorkerEvents {
    // (The events run after the constructor, when the member exists.)
    const at = () => this.members[i] as Member;
    return {
      onReady: (listening) => {
        const member = at();
        member.listening = listening;
        member.readyOnce = true;
        // A restarted worker starts as a backup: it hears the role the others have.
        if (this.lastRole !== undefined) member.sup.send(this.lastRole);
        if (this.reported) {
          this.events.onWorkerUp?.(i);
          return;
        }
        const keeperReady = this.keeper.sup.ready;
        const enough = this.failedOnce || this.members.every((m) => m.readyOnce);
        if (keeperReady && enough) {
          this.reported = true;
          this.events.onReady(this.keeper.listening);
        }
      },
      onFailed: (reason) => {
        at().sipIn = 0;
        for (const [id, q] of this.counters)
          if (q.waiting.delete(i) && q.waiting.size === 0) this.answerCounters(id);
        this.events.onWorkerDown?.(i, reason);
        if (this.members.some((m) => m.sup.ready)) return;
        if (this.reported) this.failedOnce = true;
        this.reported = false;
        this.events.onFailed(`no SIP worker ready (worker ${i}: ${reason})`);
      },
      onStall: (change) => {
        at().stalled = change.type === 'raise';
        // Raised by any worker (each raise names it), cleared when the last one is responsive again.
        if (change.type === 'raise' || !this.members.some((m) => m.stalled)) this.events.onStall(change, i);
      },
      onOverload: (shedding, detail) => {
        at().overloaded = shedding;
        if (shedding || !this.members.some((m) => m.overloaded))
          this.events.onOverload(shedding, `${detail} (worker ${i})`);
      },
      onMessage: (m) => this.onMemberMessage(at(), m),
    };
  }

  private onMemberMessage(member: Member, m: WorkerToNode): void {
    if (m.type === 'answer') {
      const q = this.counters.get(m.id);
      if (q !== undefined) {
        if (q.waiting.delete(member.index) && m.counters !== undefined)
          q.answers.set(member.index, m.counters);
        if (q.waiting.size === 0) this.answerCounters(m.id);
        return;
      }
    }
    // Only worker 0 replicates; another's report would not be the pool's.
    if (m.type === 'replication' && member.index !== 0) return;
    if (m.type === 'pong' && m.sipIn !== undefined) {
      // The node's traffic watch wants one count that only grows: the sum of every worker's increments.
      this.sipInTotal += m.sipIn >= member.sipIn ? m.sipIn - member.sipIn : m.sipIn;
      member.sipIn = m.sipIn;
      this.events.onMessage({ ...m, sipIn: this.sipInTotal });
      return;
    }
    this.events.onMessage(m);
  }
}
