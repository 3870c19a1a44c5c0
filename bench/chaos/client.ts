// The chaos run's SIP client, seen from here: client-process.ts runs on host C, registers its users and places
// calls through the VIP; this side turns its lines into samples (registrations promised, calls confirmed and
// ended) for the checker's registrations-kept and calls-end rules.
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { type CallSample, parseClientLine, type RegisteredSample } from '../../src/lab/chaos/samples.js';
import type { Lab } from '../../src/lab/lab.js';

const CLIENT = join(import.meta.dirname, 'client-process.js');

export interface SipClientOptions {
  /** Users registered: sip:c1@example.test .. sip:cN@example.test. */
  users: number;
  /** A call every this many ms (0: no calls). */
  callIntervalMs: number;
  /** How long each confirmed call lasts before its BYE. */
  callHoldMs: number;
}

/** The client's last line: what it did over the run. */
export interface Summary {
  /** REGISTERs answered 2xx. */
  registered: number;
  confirmed: number;
  /** Calls whose BYE got a 2xx. */
  endedOk: number;
  /** Confirmed calls whose BYE got no final answer at all. */
  unended: number;
}

export class SipClient {
  private readonly got: Array<RegisteredSample | CallSample> = [];
  private summary: Summary | undefined;
  private readonly done: Promise<void>;

  private constructor(
    private readonly child: ChildProcess,
    ready: () => void,
  ) {
    if (child.stdout) createInterface({ input: child.stdout }).on('line', (l) => this.line(l, ready));
    this.done = new Promise((res) => child.once('exit', () => res()));
  }

  /** Starts the client on C toward the VIP; resolves once its socket is bound. */
  static async start(lab: Lab, opts: SipClientOptions): Promise<SipClient> {
    const child = lab.spawn('c', [
      process.execPath,
      CLIENT,
      lab.topology.vip.ipv4,
      '5060',
      lab.nic('c').ipv4,
      String(opts.users),
      String(opts.callIntervalMs),
      String(opts.callHoldMs),
    ]);
    let ready = () => {};
    const isReady = new Promise<void>((res) => {
      ready = res;
    });
    const c = new SipClient(child, ready);
    await Promise.race([
      isReady,
      sleep(5000).then(() => Promise.reject(new Error('SIP client did not start'))),
    ]);
    return c;
  }

  /** Registrations and call steps so far, in the order printed (each line's time is its own). */
  samples(): Array<RegisteredSample | CallSample> {
    return [...this.got];
  }

  /** Stops placing calls and registering; resolves once the BYEs owed are answered (at most 5 s) and it exited. */
  async stop(): Promise<Summary> {
    this.child.kill('SIGTERM');
    await this.done;
    return this.summary ?? { registered: 0, confirmed: 0, endedOk: 0, unended: 0 };
  }

  private line(line: string, ready: () => void): void {
    if (line === 'READY') ready();
    else if (line.startsWith('S ')) {
      const [registered = 0, confirmed = 0, endedOk = 0, unended = 0] = line.split(' ').slice(1).map(Number);
      this.summary = { registered, confirmed, endedOk, unended };
    } else {
      const s = parseClientLine(line);
      if (s !== undefined) this.got.push(s);
    }
  }
}
