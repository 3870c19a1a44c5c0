// A long-lived `ip -o -force -batch -` coprocess: one per linux driver, fed one command line per operation, so an
// address change costs a netlink round trip instead of a fork and exec of `ip` (and of `ip netns exec`).
// Completion: after every command line we write a sentinel line that always fails in ip's parser (no object is
// called "sipha-sync-N"); with -force ip goes on and reports each failed line as "Command failed -:LINE". The
// sentinel's report closes the command's block, and a report for the command's own line means it failed.
// (An unknown object only fails the line; `help` or a usage error would make ip exit, which counts as a death.)
// stderr is merged into stdout by `sh -c 'exec ... 2>&1'` so that both arrive in the order ip wrote them, and
// `stdbuf -oL` (coreutils, when present) keeps stdout line-buffered for ip versions that do not flush after
// every object they print (iproute2 6.1 does).
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { CoprocessError } from './coprocess-error.js';

const SHELL = 'command -v stdbuf >/dev/null 2>&1 && exec stdbuf -oL "$@" 2>&1; exec "$@" 2>&1';
const FAILED = /^Command failed -:(\d+)$/;
const SENTINEL = /^Object "sipha-sync-\d+" is unknown/;
const MAX_BLOCK = 1 << 20;

export interface BatchReply {
  /** False when ip reported the command's line as failed. */
  ok: boolean;
  /** What ip printed for the command, stdout and stderr in order. */
  output: string;
  durationMs: number;
}

interface Pending {
  cmdLine: number | undefined;
  sentinelLine: number;
  lines: string[];
  size: number;
  failed: boolean;
  started: number;
  timer: NodeJS.Timeout;
  resolve(r: BatchReply): void;
  reject(e: CoprocessError): void;
}

/** One ip process; never reused after it died or was killed. */
class BatchProcess {
  readonly child: ChildProcessWithoutNullStreams;
  readonly ready: Promise<void>;
  private line = 0;
  private seq = 0;
  private readonly pending: Pending[] = [];
  private buf = '';
  private stderr = '';
  private answered = false;
  dead = false;
  readonly exited: Promise<void>;

  constructor(argv: readonly string[], startTimeoutMs: number, onExit: (p: BatchProcess) => void) {
    const [file, ...args] = argv as [string, ...string[]];
    // Own process group, so a kill also reaches what a wrap left running in between.
    this.child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    // A primed coprocess must not keep a CLI or test process alive; a pending command's timer does.
    this.child.unref();
    this.hold(false);
    this.child.stdin.on('error', () => undefined);
    this.child.stdout.setEncoding('utf8').on('data', (d: string) => this.onData(d));
    this.child.stderr.setEncoding('utf8').on('data', (d: string) => {
      if (this.stderr.length < 4096) this.stderr += d;
    });
    this.exited = new Promise((resolveExit) => {
      const gone = (code: number | null, signal: NodeJS.Signals | null, why: string): void => {
        if (!this.dead) this.fail(why || this.describeExit(code, signal), 'exit', code, signal);
        this.dead = true;
        resolveExit();
        onExit(this);
      };
      this.child.on('error', (err) => gone(null, null, err.message));
      this.child.on('close', (code, signal) => gone(code, signal, ''));
    });
    // The handshake: a sentinel alone, answered only once ip reads its input.
    this.ready = this.send(undefined, startTimeoutMs).then(
      () => {
        this.answered = true;
      },
      (err: CoprocessError) => {
        throw new CoprocessError(
          err.message,
          err.kind === 'timeout' ? 'timeout' : 'spawn',
          err.exitCode,
          err.signal,
          err.durationMs,
        );
      },
    );
  }

  get usable(): boolean {
    return this.answered && !this.dead;
  }

  /** It answered once: a death after that is worth a respawn, a failed start is not. */
  get wasUp(): boolean {
    return this.answered;
  }

  /** Writes the command and its sentinel at once (in call order, whatever is still pending before it). */
  send(command: string | undefined, timeoutMs: number): Promise<BatchReply> {
    return new Promise((resolve, reject) => {
      if (this.dead) {
        reject(new CoprocessError('ip coprocess is gone', 'exit', null, null, 0));
        return;
      }
      const started = performance.now();
      let text = '';
      let cmdLine: number | undefined;
      if (command !== undefined) {
        cmdLine = ++this.line;
        text += `${command}\n`;
      }
      const sentinelLine = ++this.line;
      text += `sipha-sync-${++this.seq}\n`;
      const p: Pending = {
        cmdLine,
        sentinelLine,
        lines: [],
        size: 0,
        failed: false,
        started,
        resolve,
        reject,
        timer: setTimeout(() => {
          const i = this.pending.indexOf(p);
          if (i >= 0) this.pending.splice(i, 1);
          reject(
            new CoprocessError(
              `no answer from ip within ${timeoutMs} ms`,
              'timeout',
              null,
              null,
              performance.now() - started,
            ),
          );
          // Its answer may still come, and would shift every later one: this process is done.
          this.kill('killed after a timeout');
        }, timeoutMs),
      };
      this.pending.push(p);
      this.child.stdin.write(text);
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

  kill(why: string): void {
    if (this.dead) return;
    this.fail(why, 'exit', null, 'SIGKILL');
    this.dead = true;
    try {
      if (this.child.pid !== undefined) process.kill(-this.child.pid, 'SIGKILL');
    } catch {
      this.child.kill('SIGKILL');
    }
  }

  private describeExit(code: number | null, signal: NodeJS.Signals | null): string {
    const how = signal !== null ? `killed by ${signal}` : `exited ${code}`;
    const err = this.stderr.trim();
    return `ip coprocess ${how}${err === '' ? '' : `: ${err}`}`;
  }

  private fail(why: string, kind: 'exit', code: number | null, signal: NodeJS.Signals | null): void {
    for (const p of this.pending.splice(0)) {
      clearTimeout(p.timer);
      p.reject(new CoprocessError(why, kind, code, signal, performance.now() - p.started));
    }
  }

  private onData(d: string): void {
    this.buf += d;
    let nl = this.buf.indexOf('\n');
    while (nl >= 0) {
      this.onLine(this.buf.slice(0, nl));
      this.buf = this.buf.slice(nl + 1);
      nl = this.buf.indexOf('\n');
    }
  }

  private onLine(line: string): void {
    const head = this.pending[0];
    if (head === undefined) return;
    const failed = FAILED.exec(line);
    if (failed !== null) {
      const n = Number(failed[1]);
      if (n === head.sentinelLine) {
        this.pending.shift();
        clearTimeout(head.timer);
        head.resolve({
          ok: !head.failed,
          output: head.lines.join('\n'),
          durationMs: performance.now() - head.started,
        });
      } else if (n === head.cmdLine) head.failed = true;
      return;
    }
    if (SENTINEL.test(line)) return;
    if (head.size < MAX_BLOCK) {
      head.lines.push(line);
      head.size += line.length;
    }
  }
}

/** The coprocess of one driver: started on first use or by start(), replaced after a timeout or its death. */
export class IpBatch {
  private proc: BatchProcess | undefined;
  private readonly all = new Set<BatchProcess>();
  /** Set by prime(): a coprocess that dies is replaced at once, not on the next command's critical path. */
  private keep = false;
  private keepTimeoutMs = 0;
  private lastRespawn = Number.NEGATIVE_INFINITY;

  /** wrap: put in front, e.g. ['ip', 'netns', 'exec', NS]. */
  constructor(private readonly wrap: readonly string[] = []) {}

  get argv(): string[] {
    return [...this.wrap, 'sh', '-c', SHELL, 'sipha-ip', 'ip', '-o', '-force', '-batch', '-'];
  }

  /** pid of the live coprocess, if any (tests). */
  get pid(): number | undefined {
    return this.proc?.dead === false ? this.proc.child.pid : undefined;
  }

  /** start(), and from now on keep one running (until close()). */
  prime(timeoutMs: number): Promise<void> {
    this.keep = true;
    this.keepTimeoutMs = timeoutMs;
    return this.start(timeoutMs);
  }

  /** Starts the coprocess unless one is up; rejects with kind 'spawn' when it cannot be started. */
  start(timeoutMs: number): Promise<void> {
    if (this.proc === undefined || this.proc.dead) {
      const proc = new BatchProcess(this.argv, timeoutMs, (p) => {
        this.all.delete(p);
        if (this.proc === p) this.proc = undefined;
        // At most one respawn a second: a coprocess that keeps dying must not turn into a fork loop.
        const now = performance.now();
        if (this.keep && p.wasUp && this.proc === undefined && now - this.lastRespawn >= 1000) {
          this.lastRespawn = now;
          this.start(this.keepTimeoutMs).catch(() => undefined);
        }
      });
      this.all.add(proc);
      this.proc = proc;
      proc.ready.catch(() => proc.kill('start failed'));
    }
    return this.proc.ready;
  }

  /** Runs one command line (e.g. "addr add 198.51.100.10/24 dev eth0"), within timeoutMs including a start. */
  exec(command: string, timeoutMs: number): Promise<BatchReply> {
    // Written at once when the coprocess is up: calls reach ip in call order.
    const proc = this.proc;
    if (proc?.usable === true) return proc.send(command, timeoutMs);
    const started = performance.now();
    return this.start(timeoutMs).then(() => {
      const left = Math.max(1, timeoutMs - (performance.now() - started));
      const up = this.proc;
      if (up === undefined) throw new CoprocessError('ip coprocess is gone', 'exit', null, null, 0);
      return up.send(command, left);
    });
  }

  /** Kills the coprocess (and any dying one) and waits until it is gone. */
  async close(): Promise<void> {
    this.keep = false;
    const procs = [...this.all];
    this.proc = undefined;
    for (const p of procs) {
      p.hold(true);
      p.child.stdin.end();
      p.kill('closed');
    }
    await Promise.all(procs.map((p) => p.exited));
  }
}
