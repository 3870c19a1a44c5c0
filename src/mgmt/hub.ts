// What the management API serves, fed by the node's events: the event stream, the CTI stream, the metrics and
// the worker's answers. Separate from the HTTP server so that the wiring is testable without sockets.
import type { HaStatus, NodeEvent, NodeHandle } from '../ha/status.js';
import type { SipCounters } from '../ha/worker-ipc.js';
import { CtiFeed } from './cti-feed.js';
import { EventFeed } from './event-feed.js';
import { Metrics } from './metrics.js';
import { WorkerQueries } from './worker-query.js';

/** The node as the management layer drives it (the HA node, or a test's stand-in). */
export type ManagedNode = NodeHandle;

/** GET /api/v1/status: the node's own status plus the SIP worker's counters (null when it did not answer). */
export type ManagementStatus = HaStatus & {
  sip: SipCounters | null;
  cti: { stream: string; lastSeq: number };
};

export class ManagementHub {
  readonly events = new EventFeed();
  readonly cti: CtiFeed;
  readonly queries: WorkerQueries;
  private readonly unsubscribe: () => void;

  constructor(
    readonly node: ManagedNode,
    readonly metrics: Metrics = new Metrics(),
  ) {
    const id = node.status().node.id;
    this.cti = new CtiFeed(id);
    this.queries = new WorkerQueries((m) => node.toWorker(m));
    this.unsubscribe = node.onEvent((e) => this.onNodeEvent(id, e));
  }

  close(): void {
    this.unsubscribe();
  }

  async status(): Promise<ManagementStatus> {
    const sip = (await this.queries.ask('counters', 0, 500))?.counters ?? null;
    const s = this.node.status();
    this.metrics.setStatus(s);
    this.metrics.setSip(sip ?? undefined);
    return { ...s, sip, cti: { stream: this.cti.stream, lastSeq: this.cti.lastSeq } };
  }

  async renderMetrics(): Promise<{ contentType: string; body: string }> {
    await this.status();
    return this.metrics.render();
  }

  private onNodeEvent(node: string, e: NodeEvent): void {
    switch (e.type) {
      case 'role':
        this.metrics.roleChanged(e.from, e.to);
        this.events.push('role', { node, from: e.from, to: e.to, term: e.term, cause: e.cause }, e.at);
        return;
      case 'alarm':
        if (e.alarm.state === 'raised') this.metrics.alarm(e.alarm.alarm, e.alarm.severity);
        this.events.push(
          'alarm',
          {
            node,
            alarm: e.alarm.alarm,
            detail: e.alarm.detail,
            severity: e.alarm.severity,
            state: e.alarm.state,
          },
          e.alarm.at,
        );
        return;
      case 'timeline':
        this.metrics.timelineDone(e.timeline);
        this.events.push('timeline', { ...e.timeline });
        return;
      case 'worker': {
        const m = e.message;
        this.queries.onWorkerMessage(m);
        if (m.type === 'registration')
          this.events.push(
            'registration',
            { node, change: m.change, aor: m.aor, contact: m.contact, reason: m.reason },
            m.at,
          );
        else if (m.type === 'call') {
          const c = this.cti.push(m);
          this.events.push('call', { ...c }, m.at);
        }
        return;
      }
    }
  }
}
