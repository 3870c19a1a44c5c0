// The server under fuzz: a standalone sipha as a child process on loopback (as test/helpers/sipha-process.ts starts
// it), its memory from /proc, and a health probe: a valid OPTIONS to the server itself must get a 200.
import { type ChildProcess, spawn } from 'node:child_process';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../src/lab/free-port.js';

export { freePort };

const CLI = join(process.cwd(), 'dist', 'src', 'cli', 'main.js');
const LOG_TAIL = 64 * 1024;

export interface FuzzServer {
  child: ChildProcess;
  port: number;
  /** The last 64 KB of its log. */
  logTail(): string;
  /** Log lines at level error or fatal (pino levels 50, 60). */
  errorLines(): string[];
  exited(): boolean;
  exitCode(): number | null;
  signal(): NodeJS.Signals | null;
  rssKiB(): number | undefined;
  stop(): Promise<void>;
}

/**
 * Starts `sipha start` with every request that leaves going to `deadPort` on loopback (nothing listens there).
 * `heapMiB` caps its old space (`--max-old-space-size`): RSS then follows live memory, not V8's lazy heap growth.
 */
export async function startServer(deadPort: number, heapMiB = 0): Promise<FuzzServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'sipha-fuzz-'));
  const yaml = [
    'sip:',
    `  listen: ["udp://127.0.0.1:${port}", "tcp://127.0.0.1:${port}"]`,
    '  domain: example.test',
    '  routes:',
    `    - { match: ".", to: "sip:127.0.0.1:${deadPort}" }`,
    'log: { level: info, sip: warn }',
  ].join('\n');
  writeFileSync(join(dir, 'sipha.yaml'), yaml);
  const heap = heapMiB > 0 ? [`--max-old-space-size=${heapMiB}`] : [];
  const child = spawn(process.execPath, [...heap, CLI, 'start', '--config', join(dir, 'sipha.yaml')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  let partial = '';
  const errors: string[] = [];
  const onData = (d: Buffer) => {
    const s = d.toString();
    log = (log + s).slice(-LOG_TAIL);
    const lines = (partial + s).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) if (/"level":(50|60)/.test(line) && errors.length < 1000) errors.push(line);
  };
  child.stderr!.on('data', onData);
  child.stdout!.on('data', onData);
  let code: number | null = null;
  let sig: NodeJS.Signals | null = null;
  let done = false;
  const exit = new Promise<void>((resolve) =>
    child.once('exit', (c, s) => {
      done = true;
      code = c;
      sig = s;
      resolve();
    }),
  );
  const started = Date.now();
  while (!log.includes('SIP server listening')) {
    if (done || Date.now() - started > 10_000) {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`sipha did not start:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    child,
    port,
    logTail: () => log,
    errorLines: () => errors,
    exited: () => done,
    exitCode: () => code,
    signal: () => sig,
    rssKiB: () => rssKiB(child.pid),
    async stop() {
      if (!done) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exit;
      clearTimeout(timer);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** VmRSS of a process in KiB, from /proc/PID/status; undefined when it is gone (or not on Linux). */
export function rssKiB(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
    return m === null ? undefined : Number(m[1]);
  } catch {
    return undefined;
  }
}

/** A UDP client that sends a valid OPTIONS to the server itself and waits for its 200 (§11). */
export class Prober {
  private readonly socket: UdpSocket = createSocket('udp4');
  private n = 0;
  private waiting: { callId: string; resolve: (status: number) => void } | undefined;

  constructor(private readonly port: number) {
    this.socket.on('message', (msg) => {
      const text = msg.toString('latin1');
      const w = this.waiting;
      const status = Number(text.slice(8, 11));
      // Provisional responses (a 100 from a busy server) are not the answer.
      if (w !== undefined && status >= 200 && text.includes(`Call-ID: ${w.callId}\r\n`)) w.resolve(status);
    });
  }

  async open(): Promise<void> {
    await new Promise<void>((r) => this.socket.bind(0, '127.0.0.1', () => r()));
  }

  /** True when a 200 came back within `tries` attempts of `timeoutMs` each (retransmissions of one request). */
  async probe(tries = 3, timeoutMs = 2000): Promise<boolean> {
    const callId = `probe-${++this.n}-${process.pid}`;
    const local = this.socket.address().port;
    const bytes = Buffer.from(
      [
        `OPTIONS sip:127.0.0.1:${this.port} SIP/2.0`,
        `Via: SIP/2.0/UDP 127.0.0.1:${local};branch=z9hG4bKprobe${this.n};rport`,
        'Max-Forwards: 70',
        `From: <sip:probe@example.test>;tag=p${this.n}`,
        `To: <sip:127.0.0.1:${this.port}>`,
        `Call-ID: ${callId}`,
        `CSeq: ${this.n} OPTIONS`,
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n'),
    );
    for (let i = 0; i < tries; i++) {
      const status = await new Promise<number | undefined>((resolve) => {
        const timer = setTimeout(() => resolve(undefined), timeoutMs);
        this.waiting = {
          callId,
          resolve: (s) => {
            clearTimeout(timer);
            resolve(s);
          },
        };
        this.socket.send(bytes, this.port, '127.0.0.1');
      });
      this.waiting = undefined;
      if (status === 200) return true;
      if (status !== undefined) return false;
    }
    return false;
  }

  close(): void {
    this.socket.close();
  }
}
