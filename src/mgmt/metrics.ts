// GET /metrics (Prometheus, via prom-client): the node's role and health, its transitions and switchovers, VIP
// command durations and announcements, and the SIP worker's counters and replication. Gauges read the latest
// status at scrape time; the worker's counters are fetched once per scrape (see ManagementServer).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { AckWaitStats } from '../ha/replication/ack-barrier.js';
import type { HaStatus, WorkerMemberStatus } from '../ha/status.js';
import type { Timeline } from '../ha/timeline.js';
import type { SipCounters } from '../ha/worker-ipc.js';
import type { DirectoryCounters } from '../server/remote-directory.js';

const ROLES = ['starting', 'backup', 'primary', 'fault'] as const;

/**
 * sipha's version from its package.json, found by walking up from this module: the same from a checkout
 * (dist/src/mgmt/) and from an installed package (node_modules/sipha/dist/src/mgmt/), whatever the cwd.
 */
export function packageVersion(from = dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; ; ) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
        name?: unknown;
        version?: unknown;
      };
      if (pkg.name === 'sipha' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // none here (or unreadable): keep going up
    }
    const up = dirname(dir);
    if (up === dir) return 'unknown';
    dir = up;
  }
}

export class Metrics {
  readonly registry = new Registry();
  private status: HaStatus | undefined;
  private sip: SipCounters | undefined;
  private readonly transitions: Counter<'from' | 'to'>;
  private readonly alarms: Counter<'alarm' | 'severity'>;
  private readonly announcements: Counter;
  private readonly vipCommands: Histogram<'operation' | 'ok'>;
  private readonly switchovers: Histogram<'kind' | 'cause'>;
  /** Whether the VIP is on this host, from the driver's own enable/disable results (see vipCommand). */
  private vipOnHost = false;

  constructor() {
    const r = this.registry;
    const registers = [r];
    collectDefaultMetrics({ register: r });
    const gauge = (name: string, help: string, get: (s: HaStatus) => number | null | undefined) =>
      new Gauge({
        name,
        help,
        registers,
        collect: function (this: Gauge) {
          const s = self.status;
          const v = s === undefined ? undefined : get(s);
          if (v === null || v === undefined) this.reset();
          else this.set(v);
        },
      });
    const self = this;
    new Gauge({
      name: 'sipha_role',
      help: 'This node’s role: 1 for the current one',
      labelNames: ['role'],
      registers,
      collect: function (this: Gauge<'role'>) {
        for (const role of ROLES) this.set({ role }, self.status?.role === role ? 1 : 0);
      },
    });
    gauge('sipha_term', 'Current term (every move to primary takes a new one)', (s) => s.term);
    gauge('sipha_healthy', '1 when local health checks pass (worker, SIP path, VIP commands)', (s) =>
      s.healthy ? 1 : 0,
    );
    gauge('sipha_ready', '1 when this node could take over', (s) => (s.ready ? 1 : 0));
    new Gauge({
      name: 'sipha_build_info',
      help: 'sipha version and Node.js version (always 1)',
      labelNames: ['version', 'node_version'],
      registers,
    }).set({ version: packageVersion(), node_version: process.version }, 1);
    // Held, not wanted: a promotion whose VIP command is still running (or failing) does not count, and a
    // release still in flight does (the address is still on the host until `disable` succeeded).
    new Gauge({
      name: 'sipha_vip_held',
      help: '1 while the VIP is on this host (the last successful VIP command added it)',
      registers,
      collect: function (this: Gauge) {
        this.set(self.vipOnHost ? 1 : 0);
      },
    });
    gauge('sipha_peer_alive', '1 while the peer is heard on some path', (s) =>
      s.peer.status === 'alive' ? 1 : 0,
    );
    gauge(
      'sipha_peer_paths_alive',
      'HA link paths on which the peer is heard',
      (s) => s.peer.link.paths.filter((p) => p.alive).length,
    );
    gauge('sipha_witnesses_reachable', '1 while the witnesses answer (or none are configured)', (s) =>
      s.witnesses.state === 'unreachable' ? 0 : 1,
    );
    // Cluster mode (README "Growing past one pair"): this node's lease and permit in etcd. Absent without it.
    gauge('sipha_cluster_etcd_reachable', '1 while this node renews its etcd lease in time', (s) =>
      s.cluster === null ? null : s.cluster.quorum.etcd === 'reachable' ? 1 : 0,
    );
    gauge('sipha_cluster_permit_held', "1 while this node holds its pair's permit (may hold the VIP)", (s) =>
      s.cluster === null ? null : s.cluster.quorum.permit === 'held' ? 1 : 0,
    );
    gauge(
      'sipha_cluster_fence',
      'The etcd revision of the permit this node won last (its fencing token)',
      (s) => (s.cluster === null ? null : s.cluster.quorum.fence),
    );
    gauge('sipha_cluster_etcd_renew_seconds', 'Round trip of the last etcd lease renewal', (s) =>
      s.cluster?.etcd.renewRttMs == null ? null : s.cluster.etcd.renewRttMs / 1000,
    );
    gauge(
      'sipha_cluster_lease_valid_seconds',
      'Time left before this node counts its etcd lease as run out',
      (s) => (s.cluster === null ? null : s.cluster.etcd.validForMs / 1000),
    );
    // With a pool these are its aggregate: worker 0 ready, restarts of all, the worst lag.
    gauge('sipha_worker_up', '1 while the SIP worker is ready', (s) => (s.worker.ready ? 1 : 0));
    gauge('sipha_worker_restarts', 'SIP worker restarts since the node started', (s) => s.worker.restarts);
    gauge('sipha_worker_loop_lag_seconds', 'Worst event-loop delay of the SIP worker between pings', (s) =>
      s.worker.loopLagMs === null ? null : s.worker.loopLagMs / 1000,
    );
    // A pool of SIP workers (sip.workers > 1): each worker by its index; absent with a single worker.
    const perWorker = (name: string, help: string, get: (w: WorkerMemberStatus) => number | null) =>
      new Gauge({
        name,
        help,
        labelNames: ['worker'],
        registers,
        collect: function (this: Gauge<'worker'>) {
          this.reset();
          for (const w of self.status?.worker.workers ?? []) {
            const v = get(w);
            if (v !== null) this.set({ worker: String(w.index) }, v);
          }
        },
      });
    perWorker('sipha_sip_worker_up', '1 while this SIP worker of the pool is ready', (w) =>
      w.ready ? 1 : 0,
    );
    perWorker(
      'sipha_sip_worker_restarts',
      'Restarts of this SIP worker since the node started',
      (w) => w.restarts,
    );
    perWorker(
      'sipha_sip_worker_loop_lag_seconds',
      'Worst event-loop delay of this SIP worker between pings',
      (w) => (w.loopLagMs === null ? null : w.loopLagMs / 1000),
    );
    gauge('sipha_replication_synced', '1 when the replica is in sync (primary: its backup keeps up)', (s) =>
      s.replication === null ? null : s.replication.synced ? 1 : 0,
    );
    gauge('sipha_replication_connected', '1 while the replication connection is up', (s) =>
      s.replication === null ? null : s.replication.connected ? 1 : 0,
    );
    gauge('sipha_replication_pending_changes', 'Changes not yet acknowledged by the backup', (s) =>
      s.replication === null ? null : s.replication.lastSeq - s.replication.ackedSeq,
    );
    new Gauge({
      name: 'sipha_replication_lag_seconds',
      help: 'Replication lag (acknowledgement − change time on the primary), by quantile',
      labelNames: ['quantile'],
      registers,
      collect: function (this: Gauge<'quantile'>) {
        this.reset();
        const rep = self.status?.replication;
        if (rep?.lagP50Ms != null) this.set({ quantile: '0.5' }, rep.lagP50Ms / 1000);
        if (rep?.lagP99Ms != null) this.set({ quantile: '0.99' }, rep.lagP99Ms / 1000);
      },
    });
    // Acknowledged means replicated (ha.replication.ack_wait_ms): the worker's totals since it started; a restarted
    // worker starts from 0 again, which Prometheus treats as a counter reset.
    /** A counter showing a total read at scrape time; none while its source (status, worker) has no value. */
    const totalCounter = (name: string, help: string, get: () => number | undefined) =>
      new Counter({
        name,
        help,
        registers,
        collect: function (this: Counter) {
          this.reset();
          const v = get();
          if (v !== undefined) this.inc(v);
        },
      });
    const ackWaitCounter = (name: string, help: string, get: (w: AckWaitStats) => number) =>
      totalCounter(name, help, () => {
        const w = self.status?.replication?.ackWait;
        return w === undefined ? undefined : get(w);
      });
    ackWaitCounter(
      'sipha_replication_ack_waits_total',
      'Responses held until the backup acknowledged their change',
      (w) => w.waits,
    );
    ackWaitCounter(
      'sipha_replication_ack_wait_timeouts_total',
      'Held responses sent without the backup’s acknowledgement after ha.replication.ack_wait_ms',
      (w) => w.timeouts,
    );
    ackWaitCounter(
      'sipha_replication_ack_wait_seconds_total',
      'Time responses spent held for the backup’s acknowledgement',
      (w) => w.waitedMs / 1000,
    );
    /** A gauge of the worker's counters; none while the worker does not answer, or `get` has no value. */
    const sipGauge = (name: string, help: string, get: (c: SipCounters) => number | undefined) =>
      new Gauge({
        name,
        help,
        registers,
        collect: function (this: Gauge) {
          const v = self.sip === undefined ? undefined : get(self.sip);
          if (v === undefined) this.reset();
          else this.set(v);
        },
      });
    sipGauge('sipha_registrations', 'Bindings held by the SIP worker', (c) => c.bindings);
    sipGauge('sipha_calls', 'Dialogs (calls) held by the SIP worker', (c) => c.dialogs);
    sipGauge('sipha_sip_transactions_active', 'SIP transactions alive', (c) => c.activeTransactions);
    // The worker's counters restart from 0 with the worker; Prometheus treats that as a counter reset.
    const sipCounter = (
      name: string,
      help: string,
      label: string,
      get: (c: SipCounters) => Record<string, number>,
    ) =>
      new Counter({
        name,
        help,
        labelNames: [label],
        registers,
        collect: function (this: Counter<string>) {
          this.reset();
          if (self.sip === undefined) return;
          for (const [k, v] of Object.entries(get(self.sip))) this.inc({ [label]: k }, v);
        },
      });
    sipCounter(
      'sipha_sip_requests_total',
      'SIP requests received, by method',
      'method',
      (c) => c.requestsByMethod,
    );
    sipCounter(
      'sipha_sip_responses_total',
      'SIP responses sent by sipha, by status code',
      'code',
      (c) => c.responsesByStatus,
    );
    sipCounter(
      'sipha_sip_parse_errors_total',
      'SIP messages that failed to parse, by reason',
      'reason',
      (c) => c.parseErrors,
    );
    sipCounter('sipha_sip_messages_total', 'SIP messages by direction', 'direction', (c) => ({
      in: c.messagesIn,
      out: c.messagesOut,
    }));
    sipCounter(
      'sipha_sip_transaction_timeouts_total',
      'SIP transactions that timed out (timers B, F, H)',
      'kind',
      (c) => ({
        all: c.transactionTimeouts,
      }),
    );
    // A next hop that cannot be reached is answered 503 at once (§18.4, §17.1.4); these say how often.
    sipCounter('sipha_sip_transport_errors_total', 'SIP transport errors, by what saw them', 'kind', (c) => ({
      transaction: c.transportErrors,
      unreachable: c.unreachable,
      send: c.sendErrors,
    }));
    // Overload control (README "Overload control"): what was shed, and whether it is shedding now.
    sipCounter(
      'sipha_sip_overload_rejected_total',
      'New SIP requests answered 503 by overload control, by method',
      'method',
      (c) => c.overloadRejectedByMethod,
    );
    sipGauge(
      'sipha_sip_overload_active',
      '1 while the SIP worker sheds new requests (until 1 s after it stopped)',
      (c) => (c.overloadActive ? 1 : 0),
    );
    sipGauge(
      'sipha_sip_overload_reject_ratio',
      'Fraction of new out-of-dialog SIP requests overload control rejects now',
      (c) => c.overloadFraction,
    );
    // Cluster mode (README "Growing past one pair"): the SIP worker's directory and its traffic with etcd.
    const dirCounter = (name: string, help: string, get: (d: DirectoryCounters) => number) =>
      totalCounter(name, help, () => {
        const d = self.sip?.cluster;
        return d === undefined ? undefined : get(d);
      });
    dirCounter(
      'sipha_cluster_directory_writes_total',
      'Directory AoR keys written to etcd (puts and deletes: first binding, last binding gone)',
      (d) => d.writes,
    );
    dirCounter(
      'sipha_cluster_directory_txns_total',
      'etcd transactions sent by the directory',
      (d) => d.txns,
    );
    dirCounter(
      'sipha_cluster_etcd_request_seconds_total',
      'Time spent in the directory’s etcd transactions (÷ txns_total: the mean latency)',
      (d) => d.etcdSeconds,
    );
    dirCounter(
      'sipha_cluster_directory_moves_total',
      'AoRs dropped here because the user registered through another pair since',
      (d) => d.moves,
    );
    sipCounter(
      'sipha_cluster_directory_lookups_total',
      'Requests for users of our domain, by where the user was found: local, remote (another pair), miss',
      'result',
      (c) => c.cluster?.lookups ?? {},
    );
    sipGauge(
      'sipha_cluster_directory_entries',
      'AoRs in the local copy of the directory (all pairs)',
      (c) => c.cluster?.entries,
    );
    sipGauge(
      'sipha_cluster_pairs',
      'Pairs of the domain known to the directory (this one included)',
      (c) => c.cluster?.pairs,
    );
    // TLS and WebSocket (README "TLS and WebSocket"): connections, handshakes, flows, re-binds after a takeover.
    const sipGaugeBy = (
      name: string,
      help: string,
      label: string,
      get: (c: SipCounters) => Record<string, number> | undefined,
    ) =>
      new Gauge({
        name,
        help,
        labelNames: [label],
        registers,
        collect: function (this: Gauge<string>) {
          this.reset();
          if (self.sip === undefined) return;
          for (const [k, v] of Object.entries(get(self.sip) ?? {})) this.set({ [label]: k }, v);
        },
      });
    sipGaugeBy(
      'sipha_sip_connections',
      'Open SIP connections, by transport',
      'transport',
      (c) => c.connectionsOpen,
    );
    sipCounter(
      'sipha_sip_connections_accepted_total',
      'SIP connections accepted, by transport',
      'transport',
      (c) => c.connectionsAccepted ?? {},
    );
    sipCounter(
      'sipha_tls_handshakes_total',
      'TLS handshakes (tls and wss listeners), by result: ok (full), resumed (session ticket), failed, refused (admission limit)',
      'result',
      (c) => c.tlsHandshakes ?? {},
    );
    sipCounter('sipha_ws_upgrades_refused_total', 'WebSocket upgrades refused', 'reason', (c) => ({
      all: c.wsRefused ?? 0,
    }));
    sipGauge(
      'sipha_sip_flows',
      'Bindings reached only over their client connection (RFC 5626 flows, WebSocket)',
      (c) => c.flows ?? 0,
    );
    sipCounter(
      'sipha_sip_flow_rebinds_total',
      'Registrations that moved a binding to a new connection of its client (reconnects, e.g. after a takeover)',
      'kind',
      (c) => ({ all: c.flowRebinds ?? 0 }),
    );
    this.transitions = new Counter({
      name: 'sipha_role_transitions_total',
      help: 'Role changes of this node',
      labelNames: ['from', 'to'],
      registers,
    });
    this.alarms = new Counter({
      name: 'sipha_alarms_total',
      help: 'Alarms raised',
      labelNames: ['alarm', 'severity'],
      registers,
    });
    gauge('sipha_alarms_active', 'Alarms raised and not cleared', (s) => s.activeAlarms.length);
    this.announcements = new Counter({
      name: 'sipha_vip_announcements_sent_total',
      help: 'Gratuitous ARP / unsolicited NA announcements sent for the VIP',
      registers,
    });
    this.vipCommands = new Histogram({
      name: 'sipha_vip_command_duration_seconds',
      help: 'VIP commands (enable, disable, status, announce) by outcome',
      labelNames: ['operation', 'ok'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.switchovers = new Histogram({
      name: 'sipha_switchover_duration_seconds',
      help: 'Decision to service (promote) or to VIP removed (demote), per switchover timeline',
      labelNames: ['kind', 'cause'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10],
      registers,
    });
  }

  setStatus(s: HaStatus): void {
    this.status = s;
  }

  setSip(c: SipCounters | undefined): void {
    this.sip = c;
  }

  roleChanged(from: string, to: string): void {
    this.transitions.inc({ from, to });
  }

  alarm(alarm: string, severity: string): void {
    this.alarms.inc({ alarm, severity });
  }

  timelineDone(t: Timeline): void {
    if (t.durationMs !== null)
      this.switchovers.observe({ kind: t.kind, cause: t.cause }, t.durationMs / 1000);
  }

  /** From the VIP driver's command events; a successful announce burst sent `burstCount` announcements. */
  vipCommand(operation: string, ok: boolean, durationMs: number, burstCount: number): void {
    this.vipCommands.observe({ operation, ok: String(ok) }, durationMs / 1000);
    // A failed command leaves the last known state: a failed release may still hold the address.
    if (ok && operation === 'enable') this.vipOnHost = true;
    if (ok && operation === 'disable') this.vipOnHost = false;
    if (operation === 'announce' && ok) this.announcements.inc(burstCount);
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
