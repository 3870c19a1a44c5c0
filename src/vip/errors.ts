// The one error every VIP driver raises: the HA layer turns it into an alarm, so it carries all the facts.
import type { VipDriverName } from './config.js';

export type VipOperation = 'enable' | 'disable' | 'status' | 'announce';

/** One try of one command. */
export interface AttemptRecord {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  stderr: string;
  durationMs: number;
}

export class VipCommandError extends Error {
  readonly operation: VipOperation;
  readonly driver: VipDriverName;
  readonly argv: readonly string[];
  /** Number of tries made (1 + retries used). */
  readonly attempts: number;
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stderr: string;
  /** True when the last try was killed because it ran past timeout_ms. */
  readonly timedOut: boolean;
  /** Wall time over all tries, including the waits between them. */
  readonly durationMs: number;
  readonly history: readonly AttemptRecord[];

  constructor(fields: {
    operation: VipOperation;
    driver: VipDriverName;
    argv: readonly string[];
    history: readonly AttemptRecord[];
    durationMs: number;
    reason?: string;
  }) {
    const last = fields.history.at(-1);
    const how =
      fields.reason ??
      (last === undefined
        ? 'not run'
        : last.timedOut
          ? 'timed out'
          : last.signal !== null
            ? `killed by ${last.signal}`
            : `exited ${last.exitCode}`);
    const stderr = last?.stderr.trim() ?? '';
    super(
      `vip ${fields.operation} (${fields.driver}) failed after ${fields.history.length} attempt(s) in ` +
        `${Math.round(fields.durationMs)} ms: ${fields.argv.join(' ')}: ${how}${stderr === '' ? '' : `: ${stderr}`}`,
    );
    this.name = 'VipCommandError';
    this.operation = fields.operation;
    this.driver = fields.driver;
    this.argv = fields.argv;
    this.attempts = fields.history.length;
    this.exitCode = last?.exitCode ?? null;
    this.signal = last?.signal ?? null;
    this.stderr = stderr;
    this.timedOut = last?.timedOut ?? false;
    this.durationMs = fields.durationMs;
    this.history = fields.history;
  }
}
