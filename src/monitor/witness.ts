// Witness reachability (ha.witnesses), e.g. the SIP subnet's gateway: a node that cannot reach any witness is
// isolated, and an isolated node never claims the VIP (DESIGN.md "Roles"). Probes are the system's `ping`
// (ICMP echo) or `arping` (ARP request, answered even by hosts that filter ICMP), one per witness per round.
//   "198.51.100.1" or "icmp:198.51.100.1" → ICMP echo;  "arp:198.51.100.1" → ARP on the VIP's interface.
import { execFile } from 'node:child_process';
import { isIP } from 'node:net';
import { type Clock, systemClock, type TimerHandle } from '../time/clock.js';

export interface WitnessSpec {
  kind: 'icmp' | 'arp';
  address: string;
  /** As written in the config. */
  text: string;
}

export function parseWitness(text: string): WitnessSpec {
  const m = /^(?:(icmp|arp):)?(.+)$/.exec(text.trim());
  const kind = (m?.[1] ?? 'icmp') as 'icmp' | 'arp';
  const address = m?.[2] ?? '';
  const family = isIP(address);
  if (family === 0) throw new Error(`witness ${text}: not an IP address (write IP, icmp:IP or arp:IP)`);
  if (kind === 'arp' && family !== 4) throw new Error(`witness ${text}: ARP needs an IPv4 address`);
  return { kind, address, text };
}

/** One probe: true when the witness answered within timeoutMs. */
export type Probe = (w: WitnessSpec, timeoutMs: number) => Promise<boolean>;

/** The ping/arping probe; `wrap` runs it elsewhere (['ip','netns','exec',NS] in the lab). */
export function commandProbe(opts: { interface?: string; wrap?: readonly string[] } = {}): Probe {
  return (w, timeoutMs) => {
    const secs = (Math.max(timeoutMs, 10) / 1000).toFixed(3);
    const iface = opts.interface ? ['-I', opts.interface] : [];
    // iputils arping takes whole seconds only: give it one and cut it short ourselves at timeoutMs.
    const arpWait = String(Math.max(1, Math.ceil(timeoutMs / 1000)));
    const argv =
      w.kind === 'icmp'
        ? ['ping', '-n', '-q', '-c', '1', '-W', secs, w.address]
        : ['arping', '-q', '-f', '-c', '1', '-w', arpWait, ...iface, w.address];
    const full = [...(opts.wrap ?? []), ...argv];
    const limit = w.kind === 'icmp' ? timeoutMs + 500 : timeoutMs + 50;
    return new Promise((resolve) => {
      execFile(full[0] as string, full.slice(1), { timeout: limit }, (err) => resolve(err === null));
    });
  };
}

export interface WitnessMonitorOptions {
  witnesses: readonly WitnessSpec[];
  probe: Probe;
  intervalMs: number;
  timeoutMs: number;
  /** Consecutive rounds without any answer before "unreachable" (one lost echo is not isolation). */
  failRounds: number;
  onChange: (reachable: boolean) => void;
  /** Rounds are timed on this clock (tests: a fake one). */
  clock?: Clock;
}

export interface WitnessStatus {
  state: 'unknown' | 'reachable' | 'unreachable';
  witnesses: Array<{ witness: string; lastOk: boolean | null; lastChangeAt: number | null }>;
  rounds: number;
}

export class WitnessMonitor {
  private state: 'unknown' | 'reachable' | 'unreachable' = 'unknown';
  private failed = 0;
  private rounds = 0;
  private timer: TimerHandle | undefined;
  private stopped = false;
  private readonly last = new Map<string, { ok: boolean; at: number }>();

  private readonly clock: Clock;

  constructor(private readonly opts: WitnessMonitorOptions) {
    this.clock = opts.clock ?? systemClock;
  }

  start(): void {
    void this.round();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
  }

  get current(): 'unknown' | 'reachable' | 'unreachable' {
    return this.state;
  }

  status(): WitnessStatus {
    return {
      state: this.state,
      rounds: this.rounds,
      witnesses: this.opts.witnesses.map((w) => {
        const l = this.last.get(w.text);
        return { witness: w.text, lastOk: l?.ok ?? null, lastChangeAt: l?.at ?? null };
      }),
    };
  }

  /** One round: all witnesses at once; any answer means reachable. */
  async round(): Promise<void> {
    if (this.stopped) return;
    const started = this.clock.now();
    const results = await Promise.all(
      this.opts.witnesses.map(async (w) => {
        const ok = await this.opts.probe(w, this.opts.timeoutMs).catch(() => false);
        const prev = this.last.get(w.text);
        if (prev?.ok !== ok) this.last.set(w.text, { ok, at: Date.now() });
        return ok;
      }),
    );
    if (this.stopped) return;
    this.rounds++;
    const any = results.some((r) => r);
    this.failed = any ? 0 : this.failed + 1;
    const next =
      any || this.opts.witnesses.length === 0
        ? 'reachable'
        : this.state === 'unknown' || this.failed >= this.opts.failRounds
          ? 'unreachable'
          : this.state;
    if (next !== this.state) {
      this.state = next;
      this.opts.onChange(next === 'reachable');
    }
    const wait = Math.max(0, this.opts.intervalMs - (this.clock.now() - started));
    // One pending round at most, also when round() is called by hand.
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    if (!this.stopped) this.timer = this.clock.setTimeout(() => void this.round(), wait);
  }
}
