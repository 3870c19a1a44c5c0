// The failover benchmark's probe, seen from here: prober-process.ts runs on host C and sends an OPTIONS to the VIP
// every PROBE_INTERVAL_MS, each a new transaction; this side collects its answers and turns them into an outage.
//   recovery = fault instant → the first 200 after the longest run without answers (the outage's end);
//   gap      = the longest interval between two consecutive 200s after the fault (what a planned move costs).
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { eventually } from '../../src/lab/eventually.js';
import type { Lab } from '../../src/lab/lab.js';
import type { SippResult } from '../../src/lab/sipp.js';
import { DEBUG, load, log, mono, PROBE_INTERVAL_MS, round, SIPP_RATE } from './common.js';

const PROBER = join(import.meta.dirname, 'prober-process.js');
/** Every takeover in the lab is over well within this (keepalived's 1 s adverts aside: 3.5 s). */
const RECOVERY_WINDOW_MS = 1500;

interface Answer {
  seq: number;
  sent: number;
  received: number;
  status: number;
}

export interface Outage {
  /** Fault → first 200 after the longest silence (ms). */
  recoveryMs: number;
  /** Longest interval between consecutive 200s from the fault on (ms). */
  gapMs: number;
  /** Probes sent and not answered with a 200. */
  lost: number;
  /** The first 200 for a probe sent after the fault (ms after the fault). */
  firstAfterFaultMs: number | null;
  /**
   * The silence the move itself caused: the interval between the two consecutive 200s received either side of the
   * moment the VIP left the old host (the fault instant, or a later one the trial knows). The longest gap over the
   * whole trial also holds the measurement's own jitter (on a loaded 2-core machine, 25–40 ms with no move at all).
   */
  moveGapMs: number | null;
  /** The longest silence that began within the takeover's window (RECOVERY_WINDOW_MS after the fault). */
  windowGapMs: number;
}

export class Prober {
  readonly answers: Answer[] = [];
  sent = 0;
  private readonly done: Promise<void>;

  private constructor(
    private readonly child: ChildProcess,
    ready: () => void,
  ) {
    if (child.stdout) createInterface({ input: child.stdout }).on('line', (l) => this.line(l, ready));
    this.done = new Promise((res) => child.once('exit', () => res()));
  }

  /** Starts probing the VIP from C; resolves once it is answered (at least 20 answers before any fault). */
  static async start(lab: Lab): Promise<Prober> {
    const child = lab.spawn('c', [
      process.execPath,
      PROBER,
      lab.topology.vip.ipv4,
      '5060',
      lab.nic('c').ipv4,
      String(PROBE_INTERVAL_MS),
    ]);
    let ready = () => {};
    const isReady = new Promise<void>((res) => {
      ready = res;
    });
    const p = new Prober(child, ready);
    await Promise.race([isReady, sleep(5000).then(() => Promise.reject(new Error('prober did not start')))]);
    if (!(await eventually(async () => p.answers.length >= 20, 5000, 20)))
      throw new Error('the VIP does not answer the prober');
    return p;
  }

  async stop(): Promise<void> {
    this.child.kill('SIGTERM');
    await this.done;
  }

  /** The interval between the consecutive 200s received either side of `at` (mono ms). */
  gapAround(at: number): number | null {
    let before: number | undefined;
    let after: number | undefined;
    for (const a of this.answers) {
      if (a.status !== 200) continue;
      if (a.received <= at) before = Math.max(before ?? a.received, a.received);
      else after = Math.min(after ?? a.received, a.received);
    }
    return before === undefined || after === undefined ? null : round(after - before);
  }

  /**
   * The outage seen from faultAt (mono ms) on; the move is at `moveAt` (default: the fault). The longest silence
   * (recovery's end) is looked for in the takeover's window only, RECOVERY_WINDOW_MS after the fault: a later
   * silence (the restarted node's warm-up or resync competing for this 2-core machine) is not the takeover's, and
   * still shows in gapMs.
   */
  analyse(faultAt: number, moveAt = faultAt): Outage {
    const ok = this.answers.filter((a) => a.status === 200).sort((x, y) => x.received - y.received);
    let prev = faultAt;
    for (const a of ok) if (a.received < faultAt) prev = a.received;
    let longest = 0;
    let recoveryGap = 0;
    let end = faultAt;
    for (const a of ok) {
      if (a.received < faultAt) continue;
      const g = a.received - prev;
      longest = Math.max(longest, g);
      // A silence is the takeover's when it began within the window.
      if (prev <= faultAt + RECOVERY_WINDOW_MS && g > recoveryGap) {
        recoveryGap = g;
        end = a.received;
      }
      prev = a.received;
    }
    const first = ok.find((a) => a.sent >= faultAt);
    return {
      recoveryMs: round(end - faultAt),
      gapMs: round(longest),
      lost: Math.max(0, this.sent - ok.length),
      firstAfterFaultMs: first === undefined ? null : round(first.received - faultAt),
      moveGapMs: this.gapAround(moveAt),
      windowGapMs: round(recoveryGap),
    };
  }

  /** BENCH_DEBUG: the answers around the fault, one line per 200 (sent, received, ms after the fault). */
  dump(faultAt: number): void {
    const rows = this.answers
      .filter((a) => a.received >= faultAt - 50 && a.received <= faultAt + 3000)
      .sort((x, y) => x.received - y.received)
      .map(
        (a) => `${a.seq}:${(a.sent - faultAt).toFixed(0)}→${(a.received - faultAt).toFixed(0)}/${a.status}`,
      );
    log(`    answers: ${rows.join(' ')}`);
  }

  private line(line: string, ready: () => void): void {
    const w = line.split(' ');
    if (w[0] === 'R')
      this.answers.push({
        seq: Number(w[1]),
        sent: Number(w[2]),
        received: Number(w[3]),
        status: Number(w[4]),
      });
    else if (w[0] === 'S') this.sent = Number(w[1]);
    else if (w[0] === 'READY') ready();
  }
}

/** What one trial's measurement saw. */
export interface Measured<T> {
  outage: Outage;
  /** The silence around another instant (mono ms), once the trial knows when the VIP really moved. */
  gapAround(at: number): number | null;
  /** The fault instant (mono ms). */
  faultAt: number;
  sipp: SippResult;
  /** What the fault function returned. */
  value: T;
}

/**
 * One trial's measurement: the prober and SIPp (SIPP_RATE, for `seconds`) on the VIP from C; 1.5 s in, the fault
 * instant is stamped and `fault` runs (it applies the fault and waits for the takeover); the outage is counted
 * from that instant once SIPp is done.
 */
export async function measure<T>(lab: Lab, seconds: number, fault: () => Promise<T>): Promise<Measured<T>> {
  const prober = await Prober.start(lab);
  const sippRun = load(lab, seconds, SIPP_RATE);
  await sleep(1500);
  const faultAt = mono();
  const value = await fault();
  const sipp = await sippRun;
  await prober.stop();
  if (DEBUG) prober.dump(faultAt);
  return { outage: prober.analyse(faultAt), gapAround: (at) => prober.gapAround(at), faultAt, sipp, value };
}
