// The announcement sender kept running between bursts (announce-sender.ts, "serve" form): its raw socket is open
// before a takeover, so the first gratuitous ARP (RFC 5227) or unsolicited NA (RFC 4861) leaves as soon as the
// request line is written instead of after a perl start. One burst at a time (the Announcer never overlaps them).
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { CoprocessError } from './coprocess-error.js';
import type { CommandSpec } from './runner.js';

class SenderProcess {
  readonly child: ChildProcessWithoutNullStreams;
  readonly ready: Promise<void>;
  readonly exited: Promise<void>;
  dead = false;
  up = false;
  private buf = '';
  private stderr = '';
  private waiter:
    | ((line: string | undefined, code: number | null, sig: NodeJS.Signals | null) => void)
    | undefined;

  constructor(spec: CommandSpec, startTimeoutMs: number) {
    const [file, ...args] = spec.argv as [string, ...string[]];
    this.child = spawn(file, args, {
      env: spec.env === undefined ? process.env : { ...process.env, ...spec.env },
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
    });
    // Primed and idle, it must not keep a process alive; a burst in flight has its timer for that.
    this.child.unref();
    this.hold(false);
    this.child.stdin.on('error', () => undefined);
    this.child.stderr.setEncoding('utf8').on('data', (d: string) => {
      if (this.stderr.length < 4096) this.stderr += d;
    });
    this.child.stdout.setEncoding('utf8').on('data', (d: string) => {
      this.buf += d;
      let nl = this.buf.indexOf('\n');
      while (nl >= 0) {
        const line = this.buf.slice(0, nl);
        this.buf = this.buf.slice(nl + 1);
        this.waiter?.(line, null, null);
        nl = this.buf.indexOf('\n');
      }
    });
    this.exited = new Promise((resolveExit) => {
      const gone = (code: number | null, sig: NodeJS.Signals | null): void => {
        this.dead = true;
        this.waiter?.(undefined, code, sig);
        resolveExit();
      };
      this.child.on('error', (err) => {
        this.stderr += err.message;
        gone(null, null);
      });
      this.child.on('close', gone);
    });
    const started = performance.now();
    this.ready = this.await('ready', startTimeoutMs, started).then(() => {
      this.up = true;
    });
    this.ready.catch(() => this.kill());
  }

  describe(code: number | null, sig: NodeJS.Signals | null): string {
    const how = sig !== null ? `killed by ${sig}` : `exited ${code}`;
    const err = this.stderr.trim();
    return `announcement sender ${how}${err === '' ? '' : `: ${err}`}`;
  }

  /** Resolves on the line `want`; rejects on exit, timeout or abort (the process is then killed). */
  await(want: string, timeoutMs: number, started: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const done = (err?: CoprocessError): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.waiter = undefined;
        if (err === undefined) resolve();
        else {
          this.kill();
          reject(err);
        }
      };
      const elapsed = (): number => performance.now() - started;
      const timer = setTimeout(
        () =>
          done(new CoprocessError(`no "${want}" within ${timeoutMs} ms`, 'timeout', null, null, elapsed())),
        timeoutMs,
      );
      const onAbort = (): void => done(new CoprocessError('cancelled', 'cancelled', null, null, elapsed()));
      if (signal?.aborted === true) {
        clearTimeout(timer);
        reject(new CoprocessError('cancelled', 'cancelled', null, null, elapsed()));
        return;
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      if (this.dead) {
        done(new CoprocessError(this.describe(null, null), 'exit', null, null, elapsed()));
        return;
      }
      this.waiter = (line, code, sig) => {
        if (line === undefined)
          done(new CoprocessError(this.describe(code, sig), 'exit', code, sig, elapsed()));
        else if (line === want) done();
      };
    });
  }

  /** Whether the child (and its pipes) keep the event loop alive: only while someone waits for its exit. */
  hold(on: boolean): void {
    if (on) this.child.ref();
    else this.child.unref();
    for (const s of [this.child.stdin, this.child.stdout, this.child.stderr]) {
      const h = s as unknown as { ref?: () => void; unref?: () => void };
      if (on) h.ref?.();
      else h.unref?.();
    }
  }

  kill(): void {
    this.dead = true;
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    try {
      if (this.child.pid !== undefined) process.kill(-this.child.pid, 'SIGKILL');
    } catch {
      this.child.kill('SIGKILL');
    }
  }
}

export class PrimedAnnouncer {
  private proc: SenderProcess | undefined;
  private readonly all = new Set<SenderProcess>();
  private primed = false;
  private lastRespawn = Number.NEGATIVE_INFINITY;

  /** spec: the wrapped "serve" argv of the built-in sender. */
  constructor(
    readonly spec: CommandSpec,
    private readonly startTimeoutMs: number,
  ) {}

  /** pid of the live sender, if any (tests). */
  get pid(): number | undefined {
    return this.proc?.dead === false ? this.proc.child.pid : undefined;
  }

  /** Starts the sender unless one is running; resolves once its socket is open. Keeps it primed from now on. */
  prime(): Promise<void> {
    this.primed = true;
    return this.ensure();
  }

  /** Sends one burst; resolves when all `count` left. An abort kills the burst at once (and re-primes). */
  async burst(count: number, intervalMs: number, timeoutMs: number, signal: AbortSignal): Promise<number> {
    const started = performance.now();
    if (signal.aborted) throw new CoprocessError('cancelled', 'cancelled', null, null, 0);
    try {
      await this.ensure();
    } catch (err) {
      if (err instanceof CoprocessError && err.kind !== 'cancelled') {
        throw new CoprocessError(err.message, 'spawn', err.exitCode, err.signal, err.durationMs);
      }
      throw err;
    }
    // Cancelled while the sender was starting: send nothing, keep the sender.
    if (signal.aborted)
      throw new CoprocessError('cancelled', 'cancelled', null, null, performance.now() - started);
    const proc = this.proc;
    if (proc === undefined || proc.dead) throw new CoprocessError('sender is gone', 'exit', null, null, 0);
    const sent = performance.now();
    const done = proc.await(`done ${count}`, Math.max(1, timeoutMs - (sent - started)), sent, signal);
    proc.child.stdin.write(`${count} ${intervalMs}\n`);
    try {
      await done;
      return performance.now() - sent;
    } finally {
      // A cancelled or failed burst killed its sender: have the next one ready before the next takeover.
      if (proc.dead) this.rePrime();
    }
  }

  /** Kills the sender and waits until it is gone; a later prime() or burst starts a new one. */
  async close(): Promise<void> {
    this.primed = false;
    const procs = [...this.all];
    this.proc = undefined;
    for (const p of procs) {
      p.hold(true);
      p.child.stdin.end();
      p.kill();
    }
    await Promise.all(procs.map((p) => p.exited));
  }

  private rePrime(): void {
    if (!this.primed) return;
    this.ensure().catch(() => undefined);
  }

  private ensure(): Promise<void> {
    if (this.proc === undefined || this.proc.dead) {
      const proc = new SenderProcess(this.spec, this.startTimeoutMs);
      this.all.add(proc);
      this.proc = proc;
      void proc.exited.then(() => {
        this.all.delete(proc);
        if (this.proc !== proc) return;
        this.proc = undefined;
        // Killed from outside while primed: ready again before the next takeover, at most once a second.
        const now = performance.now();
        if (proc.up && now - this.lastRespawn >= 1000) {
          this.lastRespawn = now;
          this.rePrime();
        }
      });
    }
    return this.proc.ready;
  }
}
