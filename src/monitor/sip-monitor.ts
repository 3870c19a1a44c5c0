// SIP traffic monitoring on one node: puts together the traffic watch, the NIC watcher and the OPTIONS
// probes into this node's SipPathReport, takes the peer's report from the heartbeats, and runs the decision
// table (health-decision.ts) on every change. The node turns a verdict into local health and alarms.
import type { Logger } from 'pino';
import { familyOf, type HostPort } from '../net/address.js';
import {
  type Carrier,
  type Decision,
  decide,
  type Side,
  type SipPathReport,
  type Tri,
} from './health-decision.js';
import { NicWatcher } from './nic-watch.js';
import { OptionsResponder } from './options-responder.js';
import type { SipAddresses } from './sip-addresses.js';
import { OptionsProber, type ProbeResult } from './sip-prober.js';
import { NEW_TRAFFIC_WATCH, observe, type TrafficWatch, trafficState } from './traffic-watch.js';

export interface SipMonitorSettings {
  idleMs: number;
  probeTimeoutMs: number;
  crossProbeMs: number;
  failRounds: number;
  probeTargets: readonly HostPort[];
  probePort: number;
  nic: { enabled: boolean; interface: string | undefined; intervalMs: number };
}

export interface SipMonitorOptions {
  settings: SipMonitorSettings;
  addresses: SipAddresses;
  /** Where the SIP worker serves the VIP (the cross-probe's target). */
  vip: HostPort;
  /** The ICMP witnesses' state, standing in for the gateway probe when no probe_targets are set. */
  witnesses: (() => 'unknown' | 'reachable' | 'unreachable') | undefined;
  /** This node holds the VIP (primary, or still releasing it). */
  serving: () => boolean;
  onDecision: (d: Decision, input: { self: Side; peer: Side | undefined }) => void;
  log: Logger;
}

type ProbeClass = 'gateway' | 'peer' | 'vip';

interface ClassState {
  value: Tri;
  fails: number;
}

export interface SipMonitorStatus {
  addresses: SipAddresses;
  report: SipPathReport;
  peer: Side | null;
  decision: Decision;
  probes: Array<{ target: string; class: ProbeClass; at: number } & ProbeResult>;
  rounds: number;
  answered: number;
}

export class SipMonitor {
  private traffic: TrafficWatch = NEW_TRAFFIC_WATCH;
  private readonly nic: NicWatcher | undefined;
  private readonly prober: OptionsProber | undefined;
  private readonly responder: OptionsResponder | undefined;
  private readonly classes: Record<ProbeClass, ClassState> = {
    gateway: { value: 'unknown', fails: 0 },
    peer: { value: 'unknown', fails: 0 },
    vip: { value: 'unknown', fails: 0 },
  };
  private peerSide: Side | undefined;
  private decision: Decision = { rule: 'healthy', fault: false, severity: null, message: 'SIP path healthy' };
  private readonly last = new Map<string, { class: ProbeClass; at: number } & ProbeResult>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private rounds = 0;

  constructor(private readonly o: SipMonitorOptions) {
    const s = o.settings;
    if (s.nic.enabled && s.nic.interface !== undefined)
      this.nic = new NicWatcher({
        ifname: s.nic.interface,
        intervalMs: s.nic.intervalMs,
        onChange: (state) => {
          o.log[state === 'up' ? 'info' : 'warn'](
            { nic: s.nic.interface, state },
            `SIP NIC ${s.nic.interface} carrier ${state}`,
          );
          this.evaluate();
        },
      });
    if (o.addresses.local !== undefined) {
      this.prober = new OptionsProber(o.addresses.local);
      this.responder = new OptionsResponder(o.addresses.local, s.probePort);
    }
  }

  async start(): Promise<void> {
    this.nic?.start();
    try {
      await this.responder?.start();
    } catch (err) {
      // The peer's probes of this node then fail: the table only warns about that (probes disagree).
      this.o.log.error({ err }, 'SIP monitoring: cannot answer OPTIONS on the unique SIP address');
    }
    if (this.prober === undefined)
      this.o.log.warn(
        'SIP monitoring: no unique SIP address (monitoring.sip_traffic.local_address): no probes',
      );
    this.schedule(0);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.nic?.stop();
    this.prober?.close();
    this.responder?.close();
  }

  /** This node can ask the VIP over SIP (it has a unique SIP address to probe from). */
  get canProbeVip(): boolean {
    return this.prober !== undefined;
  }

  /**
   * The HA role machine's VIP check (a backup whose peer went silent): does any host answer SIP on the VIP now?
   * Sent from this node's unique SIP address, so the answer comes from whoever holds the VIP, never from here.
   */
  async probeVip(timeoutMs: number): Promise<ProbeResult> {
    if (this.prober === undefined) return { ok: false, rttMs: null, status: null, detail: 'no prober' };
    const r = await this.prober.probe(this.o.vip, timeoutMs);
    this.last.set(`${this.o.vip.host}:${this.o.vip.port}`, { class: 'vip', at: Date.now(), ...r });
    return r;
  }

  /** The SIP worker's received-message counter (from its IPC pong). */
  onSipIn(count: number): void {
    this.traffic = observe(this.traffic, count, performance.now());
  }

  /** The peer's report from its heartbeat; undefined when the peer is silent or did not send one. */
  setPeer(peer: Side | undefined): void {
    this.peerSide = peer;
    this.evaluate();
  }

  report(): SipPathReport {
    const serving = this.o.serving();
    const w = this.o.witnesses?.();
    const gateway: Tri =
      this.o.settings.probeTargets.length > 0 || w === undefined
        ? this.classes.gateway.value
        : w === 'reachable'
          ? 'ok'
          : w === 'unreachable'
            ? 'fail'
            : 'unknown';
    return {
      carrier: this.nic?.current ?? ('unknown' satisfies Carrier),
      traffic: serving ? trafficState(this.traffic, performance.now(), this.o.settings.idleMs) : 'unknown',
      gateway,
      peer: this.classes.peer.value,
      vip: serving ? 'unknown' : this.classes.vip.value,
    };
  }

  current(): Decision {
    return this.decision;
  }

  status(): SipMonitorStatus {
    return {
      addresses: this.o.addresses,
      report: this.report(),
      peer: this.peerSide ?? null,
      decision: this.decision,
      probes: [...this.last.entries()].map(([target, r]) => ({ target, ...r })),
      rounds: this.rounds,
      answered: this.responder?.answered ?? 0,
    };
  }

  /** Runs the table now; tells the node when the verdict changed. */
  evaluate(): void {
    if (this.stopped) return;
    const input = { self: { serving: this.o.serving(), report: this.report() }, peer: this.peerSide };
    const d = decide(input);
    const prev = this.decision;
    this.decision = d;
    if (d.rule !== prev.rule || d.fault !== prev.fault || d.severity !== prev.severity)
      this.o.onDecision(d, input);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.round(), ms);
  }

  /** One round: the VIP holder probes only while idle (traffic proves its path); the others always probe. */
  private async round(): Promise<void> {
    const started = performance.now();
    const serving = this.o.serving();
    const idle = trafficState(this.traffic, started, this.o.settings.idleMs) !== 'active';
    const probing = !serving || idle;
    const s = this.o.settings;
    const jobs: Array<Promise<void>> = [];
    const run = (cls: ProbeClass, targets: readonly HostPort[]) => {
      if (this.prober === undefined || targets.length === 0 || !probing || (cls === 'vip' && serving)) {
        this.classes[cls] = { value: 'unknown', fails: 0 };
        return;
      }
      const prober = this.prober;
      jobs.push(
        Promise.all(
          targets.map(async (t) => {
            const r = await prober.probe(t, s.probeTimeoutMs);
            this.last.set(`${t.host}:${t.port}`, { class: cls, at: Date.now(), ...r });
            return r.ok;
          }),
        ).then((oks) =>
          this.fold(
            cls,
            oks.some((ok) => ok),
          ),
        ),
      );
    };
    const peer = this.o.addresses.peer;
    run('gateway', s.probeTargets);
    run('peer', peer === undefined ? [] : [{ host: peer, port: s.probePort, family: familyOf(peer) }]);
    run('vip', [this.o.vip]);
    await Promise.all(jobs);
    this.rounds++;
    this.evaluate();
    this.schedule(Math.max(0, s.crossProbeMs - (performance.now() - started)));
  }

  private fold(cls: ProbeClass, ok: boolean): void {
    const c = this.classes[cls];
    if (ok) this.classes[cls] = { value: 'ok', fails: 0 };
    else {
      const fails = c.fails + 1;
      this.classes[cls] = { value: fails >= this.o.settings.failRounds ? 'fail' : c.value, fails };
    }
  }
}
