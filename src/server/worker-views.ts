// What the SIP worker shows the management API: bindings, calls and counters as plain data for IPC.
// Pure mapping; the worker decides when to send (only a primary reports changes).

import type { CallView, RegistrationView, SipCounters } from '../ha/worker-ipc.js';
import { formatEndpoint } from './binding-endpoint.js';
import type { Dialog } from './dialogs.js';
import type { Binding } from './location-service.js';
import type { SipServer } from './sip-server.js';

export function registrationView(b: Binding, nowMono: number): RegistrationView {
  return {
    aor: b.aor,
    contact: b.contact,
    q: b.q / 1000,
    expiresInS: Math.max(0, Math.round((b.expiresAt - nowMono) / 1000)),
    received: b.received === undefined ? null : formatEndpoint(b.received),
  };
}

export function callView(d: Dialog): CallView {
  return {
    id: d.id,
    callId: d.callId,
    caller: d.caller,
    callee: d.callee,
    state: d.state,
    createdAt: d.createdAt,
    confirmedAt: d.confirmedAt ?? null,
    endedAt: d.endedAt ?? null,
    endReason: d.endReason ?? null,
  };
}

export function sipCounters(server: SipServer): SipCounters {
  const t = server.transport.counters;
  const p = server.proxy.stats;
  const x = server.transactions.stats;
  return {
    requestsByMethod: { ...x.requestsByMethod },
    responsesByStatus: { ...p.responsesSentByStatus },
    parseErrors: { ...t.parseErrors },
    messagesIn: t.messagesIn,
    messagesOut: t.messagesOut,
    transactionTimeouts: x.timeouts,
    retransmissionsAbsorbed: x.retransmissionsAbsorbed,
    activeTransactions:
      x.activeClientInvite + x.activeClientNonInvite + x.activeServerInvite + x.activeServerNonInvite,
    bindings: server.location.size,
    dialogs: server.dialogs.size,
  };
}
