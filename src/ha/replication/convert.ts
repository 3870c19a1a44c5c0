// Bindings and dialogs to and from their wire form. Local clock readings become durations on the way out and
// readings of the receiver's own clocks on the way in: `mono` is the location service's monotonic clock
// (performance.now()), `epoch` the dialog store's (Date.now()).

import { formatEndpoint, parseEndpoint } from '../../server/binding-endpoint.js';
import { type Dialog, dialogId } from '../../server/dialogs.js';
import type { Binding } from '../../server/location-service.js';
import type { WireBinding, WireDialog } from './messages.js';

const ms = (x: number) => Math.max(0, Math.round(x));

export function toWireBinding(b: Binding, nowMono: number): WireBinding {
  const w: WireBinding = {
    aor: b.aor,
    contact: b.contact,
    q: b.q,
    ttl: ms(b.expiresAt - nowMono),
    age: ms(nowMono - b.updatedAt),
    callId: b.callId,
    cseq: b.cseq,
    path: b.path,
  };
  if (b.received !== undefined) w.received = formatEndpoint(b.received);
  if (b.instance !== undefined && b.regId !== undefined) {
    w.instance = b.instance;
    w.regId = b.regId;
  }
  return w;
}

/** One shared empty Path list: most bindings have none, and a replica may hold 100,000 of them. */
const NO_PATH: string[] = [];

export function fromWireBinding(w: WireBinding, nowMono: number): Binding {
  const b: Binding = {
    aor: w.aor,
    contact: w.contact,
    q: w.q,
    expiresAt: nowMono + w.ttl,
    callId: w.callId,
    cseq: w.cseq,
    path: w.path.length === 0 ? NO_PATH : w.path,
    updatedAt: nowMono - w.age,
  };
  const received = w.received === undefined ? undefined : parseEndpoint(w.received);
  if (received !== undefined) b.received = received;
  if (typeof w.instance === 'string' && typeof w.regId === 'number') {
    b.instance = w.instance;
    b.regId = w.regId;
  }
  return b;
}

export function toWireDialog(d: Dialog, nowEpoch: number): WireDialog {
  const w: WireDialog = {
    callId: d.callId,
    fromTag: d.fromTag,
    toTag: d.toTag,
    caller: d.caller,
    callee: d.callee,
    state: d.state,
    age: ms(nowEpoch - d.createdAt),
  };
  if (d.confirmedAt !== undefined) w.confirmedAge = ms(nowEpoch - d.confirmedAt);
  return w;
}

export function fromWireDialog(w: WireDialog, nowEpoch: number): Dialog {
  const d: Dialog = {
    id: dialogId(w.callId, w.fromTag, w.toTag),
    callId: w.callId,
    fromTag: w.fromTag,
    toTag: w.toTag,
    caller: w.caller,
    callee: w.callee,
    state: w.state,
    createdAt: nowEpoch - w.age,
  };
  if (w.confirmedAge !== undefined) d.confirmedAt = nowEpoch - w.confirmedAge;
  return d;
}
