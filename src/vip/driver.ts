// The VIP driver the HA layer uses: enable, disable, isPresent, announce. Every operation is idempotent,
// bounded (timeout × (1 + retries)), timed, and fails with a VipCommandError, never silently.
import { performance } from 'node:perf_hooks';
import { parseVipAddress, type VipAddress } from './address.js';
import { planAix } from './aix.js';
import { Announcer, type BurstReport } from './announcer.js';
import type { VipConfig, VipDriverName } from './config.js';
import { VipCommandError, type VipOperation } from './errors.js';
import { planLinux } from './linux.js';
import type { PlanInput, PresenceInfo, VipPlan } from './plan.js';
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
    }
  | { type: 'announce-error'; error: unknown };

export interface VipDriverOptions {
  /** Put in front of every argv, e.g. ['ip', 'netns', 'exec', NS] to act inside a lab host. */
  wrap?: readonly string[];
  /** Every command run and every background announcement failure, in order. */
  onEvent?: (event: VipEvent) => void;
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

class PlannedVipDriver implements VipDriver {
  private announcer: Announcer | undefined;
  /** What the HA layer asked for last; announcing a VIP we are letting go would pull clients back to us. */
  private held = false;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly plan: VipPlan,
    private readonly config: VipConfig,
    private readonly opts: VipDriverOptions,
  ) {}

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
    return this.serial(() => this.change('enable'));
  }

  disable(): Promise<VipOutcome> {
    // Before queueing: no announcement may leave this host once the HA layer decided to let the VIP go.
    this.held = false;
    this.cancelAnnouncements();
    return this.serial(() => this.change('disable'));
  }

  isPresent(): Promise<VipPresence> {
    return this.serial(async () => {
      const started = performance.now();
      const info = await this.status();
      return { ...info, durationMs: performance.now() - started };
    });
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
    // A burst is its own retry: no retries, and the timeout grows with the burst's length.
    const result = await this.run('announce', spec, {
      retries: 0,
      timeoutMs: this.config.timeout_ms + count * intervalMs,
      signal,
    });
    return { count, durationMs: result.durationMs };
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
    const result = await this.run('status', this.plan.status, { accept: (o) => this.plan.statusAccepted(o) });
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
