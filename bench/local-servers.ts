// The servers under test of the UDP load benchmarks (bench:throughput, bench:scaling) as child processes on
// 127.0.0.1: sipha (its CLI with a standalone YAML config) and Kamailio 5.6 (bench/kamailio/kamailio.cfg, in the
// foreground). Ready when it answers an OPTIONS; stopped with SIGTERM to its process group (Kamailio forks its
// workers, sipha its SIP workers), and killed if the bench itself exits. Also what the benchmarks read of a server
// from /proc (its processes, their CPU time and memory) and the SIPp callee of the call loads.
//
// The binaries come from PATH unless named by env: BENCH_NODE (sipha's node, this node by default), BENCH_KAMAILIO,
// BENCH_SIPP (read by src/lab/sipp.ts); BENCH_KAMAILIO_MODULES is Kamailio's module folder when it is not the one
// of its Debian package.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runSipp, SCENARIOS, writeInjection } from '../src/lab/sipp.js';
import { answersOptions } from './options-probe.js';

export const NODE = process.env.BENCH_NODE ?? process.execPath;
export const KAMAILIO = process.env.BENCH_KAMAILIO ?? 'kamailio';
const KAMAILIO_MODULES = process.env.BENCH_KAMAILIO_MODULES;
const CLI = join(process.cwd(), 'dist', 'src', 'cli', 'main.js');
const KAMAILIO_CFG = join(process.cwd(), 'bench', 'kamailio', 'kamailio.cfg');

export interface Running {
  port: number;
  stop(): Promise<void>;
  /** The server's processes (Kamailio forks its workers, sipha its SIP workers). */
  pids(): number[];
  /** Whether the server's main process is still running. */
  alive(): boolean;
  /** The event-loop delay since the last call (sipha started with the eld probe only). */
  loopDelay?(): Promise<LoopDelay | undefined>;
  /** What the server wrote to stderr, last 4 KB (and a note if Kamailio ran out of shared memory). */
  log(): string;
  /** Kamailio logged "could not allocate": it was starved of shared memory, its figures prove nothing. */
  starved(): boolean;
}

export interface LoopDelay {
  p99: number;
  max: number;
  mean: number;
}

export interface SiphaOptions {
  /** sip.workers; left out of the config (its default) when undefined. */
  workers?: number;
  /** Node options before the CLI (e.g. --import of a probe). */
  nodeArgs?: string[];
  env?: Record<string, string>;
}

/** sipha standalone (no ha section) on udp://127.0.0.1:port; its config goes in dir. */
export async function startSipha(dir: string, port: number, opts: SiphaOptions = {}): Promise<Running> {
  const cfg = join(dir, `sipha-${port}.yaml`);
  const workers = opts.workers === undefined ? '' : `  workers: ${opts.workers}\n`;
  writeFileSync(
    cfg,
    `sip:\n  listen: [udp://127.0.0.1:${port}]\n  domain: example.test\n${workers}log: { level: warn }\n`,
  );
  return spawnServer(NODE, [...(opts.nodeArgs ?? []), CLI, 'start', '--config', cfg], port, opts.env);
}

export interface KamailioOptions {
  /**
   * Shared memory, MB: sized for the load (at 3,000 calls/s its transactions need a few GB; with too little it
   * logs "could not allocate shared memory" and collapses, which would measure the setting, not the server).
   */
  shmMb: number;
  /** UDP worker processes (children); kamailio.cfg's default (2) when undefined. */
  children?: number;
}

/** Kamailio with bench/kamailio/kamailio.cfg on udp:127.0.0.1:port; its work folder goes in dir. */
export async function startKamailio(dir: string, port: number, opts: KamailioOptions): Promise<Running> {
  const work = mkdtempSync(join(dir, 'kam-'));
  const defines: string[] = [];
  if (opts.children !== undefined) defines.push('-A', `CHILDREN=${opts.children}`);
  if (KAMAILIO_MODULES !== undefined) defines.push('-A', `MPATH="${KAMAILIO_MODULES}"`);
  return spawnServer(
    KAMAILIO,
    [
      '-DD',
      '-E',
      '-f',
      KAMAILIO_CFG,
      ...defines,
      '-l',
      `udp:127.0.0.1:${port}`,
      '-w',
      work,
      '-P',
      join(work, 'pid'),
      '-m',
      String(opts.shmMb),
      '-M',
      '64',
    ],
    port,
  );
}

/** Server processes started by a benchmark: whatever way the bench ends, none stays behind. */
export const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of children) killGroup(c, 'SIGKILL');
});

/** A signal to a server's whole process group (Kamailio's children, sipha's workers). */
export function killGroup(c: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-c.pid!, signal);
  } catch {
    // already gone
  }
}

/** Starts a server in its own process group; resolves once it answers an OPTIONS on port (15 s at most). */
export async function spawnServer(
  cmd: string,
  args: string[],
  port: number,
  env: Record<string, string> = {},
): Promise<Running> {
  const child: ChildProcess = spawn(cmd, args, {
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
    env: { ...process.env, ...env },
  });
  children.add(child);
  let log = '';
  let starved = false;
  let spawnError: Error | undefined;
  child.on('error', (err) => {
    spawnError = err;
  });
  child.stderr?.on('data', (d: Buffer) => {
    log = (log + d.toString()).slice(-4000);
    if (/could not allocate/i.test(log)) starved = true;
  });
  const exited = new Promise<void>((r) => child.once('close', () => r()));
  const running: Running = {
    port,
    pids: () => processTree(child.pid!),
    alive: () => child.exitCode === null && child.signalCode === null && spawnError === undefined,
    log: () => (starved ? `${log}\n(could not allocate shared memory)` : log),
    starved: () => starved,
    async stop() {
      if (child.pid !== undefined) {
        killGroup(child, 'SIGTERM');
        const t = setTimeout(() => killGroup(child, 'SIGKILL'), 10_000);
        await exited;
        clearTimeout(t);
      }
      children.delete(child);
    },
  };
  const deadline = Date.now() + 15_000;
  while (!(await answersOptions(port))) {
    if (Date.now() > deadline || !running.alive()) {
      await running.stop();
      throw new Error(`${cmd} did not start${spawnError ? ` (${spawnError.message})` : ''}:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return running;
}

/** utime + stime of a process, in seconds (0 once it is gone). */
export function cpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

/** Proportional set size, MB: shared pages divided among the processes that map them. */
export function pssMb(pid: number): number {
  try {
    const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    return m === null ? 0 : Number(m[1]) / 1024;
  } catch {
    return 0;
  }
}

/** `pid` and its descendants. */
export function processTree(root: number): number[] {
  const parent = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const after = readFileSync(`/proc/${d}/stat`, 'utf8').split(') ')[1]!.split(' ');
      parent.set(Number(d), Number(after[1]));
    } catch {
      // gone meanwhile
    }
  }
  const out = [root];
  for (let i = 0; i < out.length; i++) for (const [p, pp] of parent) if (pp === out[i]) out.push(p);
  return out;
}

/** CPU seconds of a set of processes, remembering the last reading of each so one that exits still counts. */
export class CpuMeter {
  private readonly last = new Map<number, number>();
  sample(pids: readonly number[]): void {
    for (const pid of pids) {
      const s = cpuSeconds(pid);
      if (s > 0) this.last.set(pid, s);
    }
  }
  total(): number {
    let t = 0;
    for (const v of this.last.values()) t += v;
    return t;
  }
}

/** A copy of a scenario of SCENARIOS (`name` less -sl, -tolerant or -answer), edited, in dir. */
export function scenarioCopy(dir: string, name: string, edit: (s: string) => string): string {
  const file = join(dir, name);
  writeFileSync(file, edit(readFileSync(join(SCENARIOS, name.replace(/-sl|-tolerant|-answer/, '')), 'utf8')));
  return file;
}

/**
 * The caller of the call loads: uac-call.xml with its 100 and 180 optional "globally", so a 180 that arrives after
 * the 200 (a server's workers can forward them out of order) is not a failed call.
 */
export function tolerantCallScenario(dir: string): string {
  return scenarioCopy(dir, 'uac-call-tolerant.xml', (s) =>
    s.replace(/<recv response="(100|180)" optional="true"\/>/g, '<recv response="$1" optional="global"/>'),
  );
}

/**
 * A callee that answers 200 at once, without 180: through a proxy with several workers the 180 can arrive after the
 * 200, which SIPp's caller cannot take (optional="global" sends it back to wait for a 200 again and the call hangs).
 */
export function answeringCalleeScenario(dir: string): string {
  return scenarioCopy(dir, 'uas-call-answer.xml', (s) => {
    const out = s.replace(/<send>\s*<!\[CDATA\[\s*SIP\/2\.0 180 Ringing[\s\S]*?<\/send>\s*/, '');
    if (out === s) throw new Error('uas-call.xml: no 180 to leave out');
    return out;
  });
}

export interface Callee {
  /** The SIPp process, for its CPU time. */
  pid: number | undefined;
  stop(): Promise<void>;
}

/**
 * SIPp as the called phone on uasPort (uas-call.xml unless a scenario is given), registered with the server as `aor`
 * (what the call scenarios dial).
 */
export async function startCallee(
  dir: string,
  server: Running,
  opts: { aor: string; uasPort: number; regPort: number; timeoutS: number; scenario?: string },
): Promise<Callee> {
  const uas = runSipp(
    {
      scenario: opts.scenario ?? 'uas-call.xml',
      port: opts.uasPort,
      timeoutS: opts.timeoutS,
      extra: ['-max_recv_loops', '10000'],
    },
    { timeoutMs: opts.timeoutS * 1000 },
  );
  const stop = async () => {
    uas.kill();
    await uas.result;
  };
  const inf = writeInjection(join(dir, `callee-${opts.uasPort}.csv`), [`${opts.aor};${opts.uasPort}`]);
  const reg = await runSipp({
    scenario: 'register.xml',
    to: `127.0.0.1:${server.port}`,
    inf,
    calls: 1,
    port: opts.regPort,
  }).result;
  if (reg.successful !== 1) {
    await stop();
    throw new Error(`could not register the callee ${opts.aor}`);
  }
  return { pid: uas.pid, stop };
}
