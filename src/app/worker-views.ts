// What the SIP worker shows the management API: bindings, calls and counters as plain data for IPC, and the
// registration and call events of its event feed. Pure mapping; the worker decides when to send (only a primary
// reports changes).

import type { CallView, RegistrationView, SipCounters, WorkerToNode } from '../ha/worker-ipc.js';
import { formatEndpoint } from '../server/binding-endpoint.js';
import type { Dialog, DialogChange } from '../server/dialogs.js';
import type { Binding, BindingChange } from '../server/location-service.js';
import type { SipServer } from '../server/sip-server.js';

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

/** A registration added or removed, as the event feed shows it; a refresh is no event. */
export function registrationEvent(c: BindingChange, at: number): WorkerToNode | undefined {
  if (c.kind === 'removed')
    return { type: 'registration', change: 'removed', aor: c.aor, contact: c.contact, reason: c.reason, at };
  if (c.kind === 'added')
    return {
      type: 'registration',
      change: 'added',
      aor: c.binding.aor,
      contact: c.binding.contact,
      reason: '',
      at,
    };
  return undefined;
}

export function callEvent(c: DialogChange, at: number): WorkerToNode {
  return { type: 'call', change: c.kind, call: callView(c.dialog), at };
}

export function sipCounters(server: SipServer): SipCounters {
  const t = server.transport.counters;
  const conn = server.transport.connectionCounts;
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
    transportErrors: x.transportErrors,
    unreachable: t.unreachable,
    sendErrors: t.sendErrors,
    activeTransactions:
      x.activeClientInvite + x.activeClientNonInvite + x.activeServerInvite + x.activeServerNonInvite,
    bindings: server.location.size,
    dialogs: server.dialogs.size,
    overloadRejectedByMethod: { ...p.overloadRejectedByMethod },
    overloadAcksDropped: p.overloadAcksDropped,
    overloadActive: server.overload?.shedding ?? false,
    overloadFraction: server.overload?.fraction ?? 0,
    connectionsOpen: { ...conn.open },
    connectionsAccepted: { ...conn.accepted },
    tlsHandshakes: {
      ok: conn.tls.handshakes - conn.tls.resumed,
      resumed: conn.tls.resumed,
      failed: conn.tls.failures,
      refused: conn.tls.refused,
    },
    wsRefused: conn.wsRefused,
    flows: server.location.flowBindings,
    flowRebinds: server.location.rebinds,
    ...(server.directory === undefined ? {} : { cluster: server.directory.counters() }),
  };
}
