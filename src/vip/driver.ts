// The VIP driver the HA layer uses: enable, disable, isPresent, announce. Every operation is idempotent,
// bounded (timeout × (1 + retries)), timed, and fails with a VipCommandError, never silently.
// linux: one long-lived `ip -batch` coprocess and a primed announcement sender, so a switchover's VIP steps are
// one netlink round trip each; enable/disable are verified right after, off the critical path (verify-failed).
// The other drivers run status, the command and a verifying status as separate processes.
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseVipAddress, type VipAddress } from './address.js';
import { planAix } from './aix.js';
import { Announcer, type BurstReport } from './announcer.js';
import type { VipConfig, VipDriverName } from './config.js';
import { CoprocessError } from './coprocess-error.js';
import { type AttemptRecord, VipCommandError, type VipOperation } from './errors.js';
import { IpBatch } from './ip-batch.js';
import { planLinux } from './linux.js';
import type { PlanInput, PresenceInfo, VipPlan } from './plan.js';
import { PrimedAnnouncer } from './primed-announcer.js';
import { type CommandResult, type CommandSpec, type RunOutput, runCommand } from './runner.js';
import { planScript } from './script.js';
import { planSolaris } from './solaris.js';
import { planWindows } from './windows.js';

export type VipEvent =
  | {
      type: 'command';
      operation: VipOperation;
      argv: readonly string[];
      ok: boolean;
      attempts: number;
      durationMs: number;
      /** How it ran: a process of its own, or a line to a long-lived coprocess (argv is then its equivalent). */
      via?: 'spawn' | 'coprocess';
    }
  | { type: 'announce-error'; error: unknown }
  /** The check right after an enable/disable found the VIP in the wrong state (or could not look). */
  | { type: 'verify-failed'; operation: 'enable' | 'disable'; detail: string };

export interface VipDriverOptions {
  /** Put in front of every argv, e.g. ['ip', 'netns', 'exec', NS] to act inside a lab host. */
  wrap?: readonly string[];
  /** Every command run and every background announcement failure, in order. */
  onEvent?: (event: VipEvent) => void;
  /** false: no coprocess and no primed sender, every command is a process of its own (default true). */
  coprocess?: boolean;
}

export interface VipOutcome {
  operation: 'enable' | 'disable';
  /** False when the VIP was already in the wanted state. */
  changed: boolean;
  durationMs: number;
}

export interface VipPresence extends PresenceInfo {
  durationMs: number;
}

export interface AnnounceOutcome {
  /**
   * sent: the first burst went out; os: the platform announces by itself; off: announce.count is 0 or the VIP
   * is not held; cancelled: disable() came first.
   */
  mode: 'sent' | 'os' | 'off' | 'cancelled';
  count: number;
  durationMs: number;
}

export interface VipDriver {
  readonly name: VipDriverName;
  readonly address: VipAddress;
  readonly plan: VipPlan;
  enable(): Promise<VipOutcome>;
  disable(): Promise<VipOutcome>;
  isPresent(): Promise<VipPresence>;
  /**
   * Sends the first burst (resolves when it is out) and schedules the repeat and refresh bursts.
   * Only after enable() and until disable(); otherwise it sends nothing (mode 'off').
   */
  announce(): Promise<AnnounceOutcome>;
  /** Stops every pending and periodic announcement at once; disable() does it first thing. */
  cancelAnnouncements(): void;
  readonly announcing: boolean;
  /**
   * Starts what the critical path needs ahead of time (linux: the ip coprocess and the announcement sender) and
   * keeps it started; resolves once it is up, rejects when it could not start (operations then fall back).
   */
  prime(): Promise<void>;
  /** Stops announcing and ends every child process the driver keeps; waits until they are gone. */
  close(): Promise<void>;
}

export function planFor(config: VipConfig): VipPlan {
  const input: PlanInput = {
    address: parseVipAddress(config.address),
    interface: config.interface,
    label: config.label,
    script: config.script,
  };
  switch (config.driver) {
    case 'linux':
      return planLinux(input);
    case 'windows':
      return planWindows(input);
    case 'aix':
      return planAix(input);
    case 'solaris':
      return planSolaris(input);
    case 'script':
      return planScript(input);
  }
}

export function createVipDriver(config: VipConfig, opts: VipDriverOptions = {}): VipDriver {
  return new PlannedVipDriver(planFor(config), config, opts);
}

/** A driver for a given plan (tests use plans of their own). */
export function createPlannedVipDriver(
  plan: VipPlan,
  config: VipConfig,
  opts: VipDriverOptions = {},
): VipDriver {
  return new PlannedVipDriver(plan, config, opts);
}

/** After a coprocess could not be started, operations run one-shot for this long before it is tried again. */
const SPAWN_BACKOFF_MS = 5000;

class PlannedVipDriver implements VipDriver {
  private announcer: Announcer | undefined;
  /** What the HA layer asked for last; announcing a VIP we are letting go would pull clients back to us. */
  private held = false;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly batch: IpBatch | undefined;
  private readonly sender: PrimedAnnouncer | undefined;
  private batchFailedAt = Number.NEGATIVE_INFINITY;
  /** Counts enable/disable requests: a late verification must not judge a state a later request changed. */
  private generation = 0;

  constructor(
    readonly plan: VipPlan,
    private readonly config: VipConfig,
    private readonly opts: VipDriverOptions,
  ) {
    const co = opts.coprocess !== false;
    this.batch = co && plan.batch !== undefined ? new IpBatch(opts.wrap ?? []) : undefined;
    this.sender =
      co && plan.announceServe !== undefined
        ? new PrimedAnnouncer(this.wrapped(plan.announceServe), config.timeout_ms)
        : undefined;
  }

  /** pids of the children kept between operations (tests). */
  get childPids(): { batch: number | undefined; sender: number | undefined } {
    return { batch: this.batch?.pid, sender: this.sender?.pid };
  }

  get name(): VipDriverName {
    return this.plan.driver;
  }

  get address(): VipAddress {
    return this.plan.input.address;
  }

  get announcing(): boolean {
    return this.announcer !== undefined && !this.announcer.cancelled;
  }

  enable(): Promise<VipOutcome> {
    this.held = true;
    const gen = ++this.generation;
    return this.serial(() =>
      this.batch !== undefined ? this.changeFast('enable', gen) : this.change('enable'),
    );
  }

  disable(): Promise<VipOutcome> {
    // Before queueing: no announcement may leave this host once the HA layer decided to let the VIP go.
    this.held = false;
    this.cancelAnnouncements();
    const gen = ++this.generation;
    return this.serial(() =>
      this.batch !== undefined ? this.changeFast('disable', gen) : this.change('disable'),
    );
  }

  isPresent(): Promise<VipPresence> {
    return this.serial(async () => {
      const started = performance.now();
      const info = await this.status();
      return { ...info, durationMs: performance.now() - started };
    });
  }

  async prime(): Promise<void> {
    this.batchFailedAt = Number.NEGATIVE_INFINITY;
    const wanted: Promise<void>[] = [];
    if (this.batch !== undefined) wanted.push(this.batch.prime(this.config.timeout_ms));
    if (this.sender !== undefined && this.config.announce.count > 0) wanted.push(this.sender.prime());
    const results = await Promise.allSettled(wanted);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
  }

  async close(): Promise<void> {
    this.cancelAnnouncements();
    // A verification cut short by the close is dropped, not retried on a new coprocess.
    this.generation++;
    await Promise.all([this.batch?.close(), this.sender?.close()]);
  }

  async announce(): Promise<AnnounceOutcome> {
    this.cancelAnnouncements();
    const { count, interval_ms, repeat_after_ms, refresh_s } = this.config.announce;
    if (count === 0 || !this.held) return { mode: 'off', count: 0, durationMs: 0 };
    if (this.plan.announceBurst(count, interval_ms) === undefined)
      return { mode: 'os', count: 0, durationMs: 0 };
    const announcer = new Announcer({
      count,
      intervalMs: interval_ms,
      repeatAfterMs: repeat_after_ms,
      refreshS: refresh_s,
      sendBurst: (n, interval, signal) => this.sendBurst(n, interval, signal),
      onError: (error) => this.opts.onEvent?.({ type: 'announce-error', error }),
    });
    this.announcer = announcer;
    const started = performance.now();
    try {
      const report = await announcer.start();
      return { mode: 'sent', count: report.count, durationMs: report.durationMs };
    } catch (err) {
      if (announcer.cancelled)
        return { mode: 'cancelled', count: 0, durationMs: performance.now() - started };
      throw err;
    }
  }

  cancelAnnouncements(): void {
    this.announcer?.cancel();
    this.announcer = undefined;
  }

  private async sendBurst(count: number, intervalMs: number, signal: AbortSignal): Promise<BurstReport> {
    const spec = this.plan.announceBurst(count, intervalMs);
    if (spec === undefined) return { count: 0, durationMs: 0 };
    if (this.sender !== undefined) {
      const primed = await this.sendPrimed(spec, count, intervalMs, signal);
      if (primed !== undefined) return primed;
    }
    // A burst is its own retry: no retries, and the timeout grows with the burst's length.
    const result = await this.run('announce', spec, {
      retries: 0,
      timeoutMs: this.config.timeout_ms + count * intervalMs,
      signal,
    });
    return { count, durationMs: result.durationMs };
  }

  /** undefined: the primed sender could not be started, the burst goes the one-shot way. */
  private async sendPrimed(
    spec: CommandSpec,
    count: number,
    intervalMs: number,
    signal: AbortSignal,
  ): Promise<BurstReport | undefined> {
    const sender = this.sender;
    if (sender === undefined) return undefined;
    const argv = this.wrapped(spec).argv;
    const timeoutMs = this.config.timeout_ms + count * intervalMs;
    try {
      const durationMs = await sender.burst(count, intervalMs, timeoutMs, signal);
      this.emitCommand('announce', argv, true, 1, durationMs);
      return { count, durationMs };
    } catch (err) {
      if (!(err instanceof CoprocessError)) throw err;
      if (err.kind === 'spawn') return undefined;
      const attempt: AttemptRecord = {
        exitCode: err.exitCode,
        signal: err.signal,
        timedOut: err.kind === 'timeout',
        stderr: err.kind === 'exit' ? err.message : '',
        durationMs: err.durationMs,
      };
      this.emitCommand('announce', argv, false, 1, err.durationMs);
      throw new VipCommandError({
        operation: 'announce',
        driver: this.name,
        argv,
        history: [attempt],
        durationMs: err.durationMs,
        reason: err.kind === 'cancelled' ? 'cancelled' : undefined,
      });
    }
  }

  /**
   * linux: the command alone (an address already there, or already gone, is success), then a status through the
   * same coprocess whose answer only raises verify-failed: nothing on the critical path waits for it.
   */
  private async changeFast(op: 'enable' | 'disable', gen: number): Promise<VipOutcome> {
    const spec = op === 'enable' ? this.plan.enable : this.plan.disable;
    const line = op === 'enable' ? this.plan.batch?.enable : this.plan.batch?.disable;
    if (line === undefined) return this.change(op);
    const result = await this.runLine(
      op,
      line,
      spec,
      (out) => out.exitCode === 0 || this.plan.alreadyDone(op, out),
    );
    this.verifyLater(op, gen);
    return { operation: op, changed: result.output.exitCode === 0, durationMs: result.durationMs };
  }

  private verifyLater(op: 'enable' | 'disable', gen: number): void {
    const want = op === 'enable';
    const judge = (info: PresenceInfo): void => {
      if (info.present !== want)
        this.emitVerifyFailed(op, `the VIP is ${want ? 'absent' : 'still present'} right after ${op}`);
    };
    const late = (first: unknown): void => {
      // The coprocess went away under the check: look again in turn, unless a later request moved the VIP.
      void this.serial(async () => {
        if (gen !== this.generation) return;
        try {
          judge(await this.status());
        } catch (err) {
          this.emitVerifyFailed(op, `could not check: ${errorText(err)} (first try: ${errorText(first)})`);
        }
      });
    };
    const status = this.plan.batch?.status;
    if (this.batch === undefined || status === undefined || !this.batchUsable()) {
      late('no coprocess');
      return;
    }
    // Written now, before any later request's line: ip answers it in that order.
    this.batch.exec(status, this.config.timeout_ms).then((reply) => {
      const output = batchOutput(reply.ok, reply.output, reply.durationMs);
      this.emitCommand(
        'status',
        this.wrapped(this.plan.status).argv,
        reply.ok,
        1,
        reply.durationMs,
        'coprocess',
      );
      if (this.plan.statusAccepted(output)) judge(this.plan.parseStatus(output));
      else late(reply.output);
    }, late);
  }

  private emitVerifyFailed(operation: 'enable' | 'disable', detail: string): void {
    this.opts.onEvent?.({ type: 'verify-failed', operation, detail });
  }

  private batchUsable(): boolean {
    return performance.now() - this.batchFailedAt >= SPAWN_BACKOFF_MS;
  }

  /** One batch line with today's retry rules; falls back to the one-shot command when ip cannot be started. */
  private async runLine(
    operation: VipOperation,
    line: string,
    spec: CommandSpec,
    accept: (o: RunOutput) => boolean,
  ): Promise<CommandResult> {
    const batch = this.batch;
    if (batch === undefined || !this.batchUsable()) return this.run(operation, spec, { accept });
    const argv = this.wrapped(spec).argv;
    const started = performance.now();
    const history: AttemptRecord[] = [];
    for (let attempt = 0; attempt <= this.config.retries; attempt++) {
      if (attempt > 0 && this.config.retry_delay_ms > 0) await sleep(this.config.retry_delay_ms);
      let output: RunOutput;
      try {
        const reply = await batch.exec(line, this.config.timeout_ms);
        output = batchOutput(reply.ok, reply.output, reply.durationMs);
      } catch (err) {
        if (!(err instanceof CoprocessError)) throw err;
        if (err.kind === 'spawn') {
          this.batchFailedAt = performance.now();
          return this.run(operation, spec, { accept });
        }
        output = {
          exitCode: err.exitCode,
          signal: err.signal,
          timedOut: err.kind === 'timeout',
          stdout: '',
          stderr: err.message,
          durationMs: err.durationMs,
        };
      }
      const { stdout: _stdout, ...record } = output;
      history.push(record);
      if (!output.timedOut && output.signal === null && accept(output)) {
        const durationMs = performance.now() - started;
        this.emitCommand(operation, argv, true, history.length, durationMs, 'coprocess');
        return { output, attempts: history.length, durationMs };
      }
    }
    const durationMs = performance.now() - started;
    this.emitCommand(operation, argv, false, history.length, durationMs, 'coprocess');
    throw new VipCommandError({ operation, driver: this.name, argv, history, durationMs });
  }

  private emitCommand(
    operation: VipOperation,
    argv: readonly string[],
    ok: boolean,
    attempts: number,
    durationMs: number,
    via: 'spawn' | 'coprocess' = 'coprocess',
  ): void {
    this.opts.onEvent?.({ type: 'command', operation, argv, ok, attempts, durationMs, via });
  }

  private async change(op: 'enable' | 'disable'): Promise<VipOutcome> {
    const started = performance.now();
    const want = op === 'enable';
    const before = await this.status();
    if (before.present === want)
      return { operation: op, changed: false, durationMs: performance.now() - started };
    const spec = op === 'enable' ? this.plan.enable : this.plan.disable;
    const result = await this.run(op, spec, {
      accept: (out) => out.exitCode === 0 || this.plan.alreadyDone(op, out),
    });
    // Verify: a command that "succeeded" without effect must not pass for a switchover.
    const after = await this.status();
    if (after.present !== want) {
      throw new VipCommandError({
        operation: op,
        driver: this.name,
        argv: this.wrapped(spec).argv,
        history: [],
        durationMs: performance.now() - started,
        reason: `succeeded but the VIP is ${want ? 'still absent' : 'still present'} afterwards`,
      });
    }
    const changed = result.output.exitCode === 0;
    return { operation: op, changed, durationMs: performance.now() - started };
  }

  private async status(): Promise<PresenceInfo> {
    const accept = (o: RunOutput): boolean => this.plan.statusAccepted(o);
    const line = this.plan.batch?.status;
    const result =
      line !== undefined && this.batch !== undefined
        ? await this.runLine('status', line, this.plan.status, accept)
        : await this.run('status', this.plan.status, { accept });
    return this.plan.parseStatus(result.output);
  }

  private wrapped(spec: CommandSpec): CommandSpec {
    const wrap = this.opts.wrap ?? [];
    return wrap.length === 0 ? spec : { ...spec, argv: [...wrap, ...spec.argv] };
  }

  private async run(
    operation: VipOperation,
    spec: CommandSpec,
    over: { accept?: (o: RunOutput) => boolean; retries?: number; timeoutMs?: number; signal?: AbortSignal },
  ): Promise<CommandResult> {
    const full = this.wrapped(spec);
    try {
      const result = await runCommand(full, {
        operation,
        driver: this.name,
        timeoutMs: over.timeoutMs ?? this.config.timeout_ms,
        retries: over.retries ?? this.config.retries,
        retryDelayMs: this.config.retry_delay_ms,
        accept: over.accept,
        signal: over.signal,
      });
      this.opts.onEvent?.({
        type: 'command',
        operation,
        argv: full.argv,
        ok: true,
        attempts: result.attempts,
        durationMs: result.durationMs,
        via: 'spawn',
      });
      return result;
    } catch (err) {
      if (err instanceof VipCommandError) {
        this.opts.onEvent?.({
          type: 'command',
          operation,
          argv: full.argv,
          ok: false,
          attempts: err.attempts,
          durationMs: err.durationMs,
          via: 'spawn',
        });
      }
      throw err;
    }
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }
}

/** A batch answer in the shape of a process's: ip's lines are stdout and stderr at once (they come merged). */
function batchOutput(ok: boolean, text: string, durationMs: number): RunOutput {
  return {
    exitCode: ok ? 0 : 1,
    signal: null,
    timedOut: false,
    stdout: text,
    stderr: ok ? '' : text,
    durationMs,
  };
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
