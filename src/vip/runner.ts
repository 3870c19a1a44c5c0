// Runs one planned command (argv, never a shell) with a timeout, bounded retries and a measured duration.
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { VipDriverName } from './config.js';
import { type AttemptRecord, VipCommandError, type VipOperation } from './errors.js';

export interface CommandSpec {
  argv: readonly string[];
  /** Added to the inherited environment. */
  env?: Readonly<Record<string, string>>;
}

export interface RunOutput extends AttemptRecord {
  stdout: string;
}

export interface RunOnceOptions {
  timeoutMs: number;
  signal?: AbortSignal;
}

const MAX_OUTPUT = 1 << 20;

/** One try. Never rejects: spawn failures come back as exit code null with the reason in stderr. */
export function runOnce(spec: CommandSpec, opts: RunOnceOptions): Promise<RunOutput> {
  const started = performance.now();
  return new Promise((resolvePromise) => {
    const [file, ...args] = spec.argv;
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    let settled = false;
    const finish = (exitCode: number | null, signal: NodeJS.Signals | null, extra = ''): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      const durationMs = performance.now() - started;
      resolvePromise({ exitCode, signal, timedOut, stdout, stderr: stderr + extra, durationMs });
    };
    if (file === undefined) {
      resolvePromise({
        exitCode: null,
        signal: null,
        timedOut: false,
        stdout: '',
        stderr: 'empty argv',
        durationMs: 0,
      });
      return;
    }
    // Own process group, so a timeout also kills what a user script started (a `sleep` would keep our pipes open).
    const child = spawn(file, args, {
      env: spec.env === undefined ? process.env : { ...process.env, ...spec.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const killGroup = (): void => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, opts.timeoutMs);
    const onAbort = (): void => killGroup();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    if (opts.signal?.aborted === true) killGroup();
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      if (stdout.length < MAX_OUTPUT) stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      if (stderr.length < MAX_OUTPUT) stderr += d;
    });
    child.on('error', (err) => finish(null, null, `${err.message}`));
    child.on('close', (code, signal) => finish(code, signal));
  });
}

export interface RunCommandOptions {
  operation: VipOperation;
  driver: VipDriverName;
  timeoutMs: number;
  retries: number;
  retryDelayMs: number;
  /** Which outputs count as success; default: exit code 0. */
  accept?: (out: RunOutput) => boolean;
  signal?: AbortSignal;
}

export interface CommandResult {
  output: RunOutput;
  attempts: number;
  durationMs: number;
}

/** Tries up to 1 + retries times; throws VipCommandError carrying every try when none succeeds. */
export async function runCommand(spec: CommandSpec, opts: RunCommandOptions): Promise<CommandResult> {
  const accept = opts.accept ?? ((o: RunOutput) => o.exitCode === 0);
  const started = performance.now();
  const history: AttemptRecord[] = [];
  for (let attempt = 0; attempt <= opts.retries; attempt++) {
    if (attempt > 0 && opts.retryDelayMs > 0) await sleep(opts.retryDelayMs);
    if (opts.signal?.aborted === true) break;
    const output = await runOnce(spec, { timeoutMs: opts.timeoutMs, signal: opts.signal });
    history.push({
      exitCode: output.exitCode,
      signal: output.signal,
      timedOut: output.timedOut,
      stderr: output.stderr,
      durationMs: output.durationMs,
    });
    if (!output.timedOut && accept(output)) {
      return { output, attempts: history.length, durationMs: performance.now() - started };
    }
  }
  throw new VipCommandError({
    operation: opts.operation,
    driver: opts.driver,
    argv: spec.argv,
    history,
    durationMs: performance.now() - started,
    reason: opts.signal?.aborted === true ? 'cancelled' : undefined,
  });
}
