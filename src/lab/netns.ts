// Small wrappers around `ip netns`: list, run in, and tear down namespaces (async, and sync for exit hooks).
import { execFileSync } from 'node:child_process';
import { type RunOutput, runOnce } from '../vip/runner.js';

export class LabCommandError extends Error {
  constructor(
    readonly argv: readonly string[],
    readonly output: RunOutput,
  ) {
    super(
      `${argv.join(' ')}: ${output.timedOut ? 'timed out' : `exited ${output.exitCode ?? output.signal}`}` +
        `${output.stderr.trim() === '' ? '' : `: ${output.stderr.trim()}`}`,
    );
    this.name = 'LabCommandError';
  }
}

export interface ExecOptions {
  timeoutMs?: number;
  /** Return the output instead of throwing when the exit code is not 0. */
  allowFailure?: boolean;
  env?: Record<string, string>;
}

/** Runs argv (no shell) and throws LabCommandError unless it exits 0. */
export async function run(argv: readonly string[], opts: ExecOptions = {}): Promise<RunOutput> {
  const out = await runOnce({ argv, env: opts.env }, { timeoutMs: opts.timeoutMs ?? 10_000 });
  if ((out.exitCode !== 0 || out.timedOut) && opts.allowFailure !== true)
    throw new LabCommandError(argv, out);
  return out;
}

export function nsWrap(netns: string): string[] {
  return ['ip', 'netns', 'exec', netns];
}

export async function listNamespaces(): Promise<string[]> {
  const out = await run(['ip', 'netns', 'list']);
  return parseNetnsList(out.stdout);
}

/** `ip netns list` prints "name" or "name (id: 3)" per line. */
export function parseNetnsList(stdout: string): string[] {
  return stdout
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n !== '');
}

/** Kills whatever still runs inside the namespaces (it would keep them alive), then deletes them. */
export async function destroyNamespaces(names: readonly string[]): Promise<void> {
  const existing = new Set(await listNamespaces());
  for (const ns of names) {
    if (!existing.has(ns)) continue;
    const pids = await run(['ip', 'netns', 'pids', ns], { allowFailure: true });
    killAll(pids.stdout);
    await run(['ip', 'netns', 'del', ns], { allowFailure: true });
  }
}

export function destroyNamespacesSync(names: readonly string[]): void {
  let existing: Set<string>;
  try {
    existing = new Set(parseNetnsList(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })));
  } catch {
    return;
  }
  for (const ns of names) {
    if (!existing.has(ns)) continue;
    try {
      killAll(execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }));
      execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    } catch {
      // Best effort on the way out; the next run's cleanupStale() catches the rest.
    }
  }
}

function killAll(pidLines: string): void {
  for (const word of pidLines.split(/\s+/)) {
    const pid = Number(word);
    if (!Number.isInteger(pid) || pid <= 1 || pid === process.pid) continue;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}
