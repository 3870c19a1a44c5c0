// A scripted HA node for the management API tests: a status to show, events to emit, a worker that answers.

import type { Role } from '../../src/ha/role-machine.js';
import type { HaStatus, NodeEvent, SwitchoverReply } from '../../src/ha/status.js';
import type { CallView, NodeToWorker, SipCounters, WorkerToNode } from '../../src/ha/worker-ipc.js';
import type { ManagedNode } from '../../src/mgmt/hub.js';

export function fakeStatus(id: string, role: Role, term: number, peer: string): HaStatus {
  const peerRole: Role = role === 'primary' ? 'backup' : 'primary';
  return {
    node: { id, priority: id === 'a' ? 150 : 100, pid: 1 },
    role,
    term,
    ready: true,
    healthy: true,
    healthReason: '',
    vip: { address: '198.51.100.10/24', wanted: role === 'primary' },
    peer: {
      status: 'alive',
      role: peerRole,
      term,
      priority: 100,
      id: peer,
      ready: true,
      yielding: false,
      etcd: 'off',
      fence: 0,
      link: {
        peer: 'alive',
        peerId: peer,
        paths: [
          { listen: '203.0.113.11:7400', peer: '203.0.113.12:7400', alive: true },
          { listen: '198.51.100.11:7400', peer: '198.51.100.12:7400', alive: true },
        ],
        rejected: {},
        stalls: 0,
      } as unknown as HaStatus['peer']['link'],
    },
    witnesses: { state: 'reachable', witnesses: [], rounds: 3 },
    worker: { pid: 2, ready: true, restarts: 0, lastPongAgoMs: 10, loopLagMs: 1.5 },
    replication: {
      role: role === 'primary' ? 'primary' : 'backup',
      synced: true,
      connected: true,
      lastSeq: 42,
      ackedSeq: 42,
      lagP50Ms: 1,
      lagP99Ms: 4,
      bindings: 3,
      dialogs: 1,
      lastSyncedAgoMs: null,
      promotedSynced: null,
      ackWait: { waits: 40, acked: 38, timeouts: 2, released: 0, waitedMs: 120, maxWaitMs: 10 },
      ageMs: 50,
    },
    timelines: [],
    alarms: [],
    activeAlarms: [],
    cluster: null,
    monitoring: null,
  };
}

export const COUNTERS: SipCounters = {
  requestsByMethod: { REGISTER: 7, INVITE: 2, BYE: 1 },
  responsesByStatus: { '200': 9, '404': 1 },
  parseErrors: { 'bad-start-line': 1 },
  messagesIn: 20,
  messagesOut: 21,
  transactionTimeouts: 0,
  retransmissionsAbsorbed: 0,
  transportErrors: 0,
  unreachable: 2,
  sendErrors: 0,
  activeTransactions: 1,
  bindings: 3,
  dialogs: 1,
  overloadRejectedByMethod: { INVITE: 4 },
  overloadAcksDropped: 4,
  overloadActive: true,
  overloadFraction: 0.3,
  connectionsOpen: { tcp: 0, tls: 2, ws: 0, wss: 5 },
  connectionsAccepted: { tcp: 1, tls: 9, ws: 0, wss: 12 },
  tlsHandshakes: { ok: 4, resumed: 17, failed: 1, refused: 0 },
  wsRefused: 2,
  flows: 5,
  flowRebinds: 3,
};

export class FakeNode implements ManagedNode {
  st: HaStatus;
  workerUp = true;
  switchovers = 0;
  private readonly listeners = new Set<(e: NodeEvent) => void>();

  constructor(id: string, role: Role, term: number, peer: string) {
    this.st = fakeStatus(id, role, term, peer);
  }

  status(): HaStatus {
    return structuredClone(this.st);
  }

  async switchover(): Promise<SwitchoverReply> {
    this.switchovers++;
    return { ok: true, detail: 'done', primary: this.st.peer.id, term: this.st.term + 1 };
  }

  onEvent(fn: (e: NodeEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  emit(e: NodeEvent): void {
    for (const fn of this.listeners) fn(e);
  }

  worker(m: WorkerToNode): void {
    this.emit({ type: 'worker', message: m });
  }

  setRole(role: Role, term: number): void {
    const from = this.st.role;
    this.st = { ...this.st, role, term, vip: { ...this.st.vip, wanted: role === 'primary' } };
    this.emit({ type: 'role', from, to: role, term, cause: 'test', at: Date.now() });
  }

  /** A call change as a primary worker reports it. */
  call(change: 'created' | 'confirmed' | 'terminated', id: string): void {
    const call: CallView = {
      id,
      callId: id.split(';')[0] ?? id,
      caller: 'sip:alice@example.test',
      callee: 'sip:bob@example.test',
      state: change === 'created' ? 'early' : change === 'confirmed' ? 'confirmed' : 'terminated',
      createdAt: Date.now(),
      confirmedAt: null,
      endedAt: null,
      endReason: change === 'terminated' ? 'BYE' : null,
    };
    this.worker({ type: 'call', change, call, at: Date.now() });
  }

  toWorker(m: NodeToWorker): boolean {
    if (!this.workerUp) return false;
    if (m.type !== 'query') return true;
    setImmediate(() => {
      if (m.what === 'counters') this.worker({ type: 'answer', id: m.id, counters: COUNTERS });
      else if (m.what === 'registrations')
        this.worker({
          type: 'answer',
          id: m.id,
          total: 1,
          registrations: [
            {
              aor: 'sip:bob@example.test',
              contact: 'sip:bob@198.51.100.100:7000',
              q: 1,
              expiresInS: 3599,
              received: null,
            },
          ],
        });
      else this.worker({ type: 'answer', id: m.id, total: 0, calls: [] });
    });
    return true;
  }
}
