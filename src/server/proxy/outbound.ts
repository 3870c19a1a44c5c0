// The request sent to one target (RFC 3261 §16.6 steps 1-8), written once for a stateful branch, a CANCEL forwarded
// statelessly and an ACK forwarded statelessly. Step 9 (Content-Length) is the serializer's, step 10 the caller's
// (a client transaction, or straight to the transport when stateless, §16.11), step 11 (Timer C) the response
// context's.
import type { SipRequest } from '../../sip/message.js';
import { forwardBranch } from './branch.js';
import type { ProxyIdentity } from './identity.js';
import type { Target } from './target-selector.js';

/** Requests that create a dialog (RFC 3261, 3265, 3515): we record-route them to stay on the dialog's path. */
const DIALOG_CREATING = new Set(['INVITE', 'SUBSCRIBE', 'REFER']);

/**
 * The copy of `fwd` (the request after §16.4) for `target`, or undefined when we have no address of our own to put
 * in it. `incoming` is the request as received: the branch derives from it (see branch.ts).
 */
export function prepareRequest(
  fwd: SipRequest,
  target: Target,
  incoming: SipRequest,
  identity: ProxyIdentity,
): SipRequest | undefined {
  const transport = target.to.transport;
  const via = identity.viaFor(transport, forwardBranch(incoming, target.uri));
  const recordRoute = identity.recordRouteFor(transport);
  if (via === undefined || recordRoute === undefined) return undefined;
  // 1. "The proxy starts with a copy of the received request. The copy MUST initially contain all of the header
  // fields from the received request."
  const out = fwd.clone();
  // 2. "The Request-URI in the copy's start line MUST be replaced with the URI for this target."
  out.uri = target.uri;
  // 3. "If the copy contains a Max-Forwards header field, the proxy MUST decrement its value by one (1). If the
  // copy does not contain a Max-Forwards header field, the proxy MUST add one with a field value, which SHOULD be
  // 70." (A zero never gets here: §16.3 step 3 stops it.)
  const mf = out.maxForwards;
  out.headers.set('Max-Forwards', String(mf === undefined ? 70 : mf - 1));
  // 4. "If this proxy wishes to remain on the path of future requests in a dialog created by this request
  // (assuming the request creates a dialog), it MUST insert a Record-Route header field value into the copy before
  // any existing Record-Route header field values". In HA mode the address is the VIP, which outlives this node.
  if (DIALOG_CREATING.has(out.method) && out.to?.tag === undefined)
    out.headers.prepend('Record-Route', recordRoute);
  // 5. "The proxy MAY add any other appropriate header fields to the copy at this point." None.
  // 6. "This set MUST be pushed into the Route header field of the copy ahead of any existing values, if present."
  // The set is the target's own: a binding's Path, which its requests must traverse (RFC 3327).
  for (const r of [...target.routes].reverse()) out.headers.prepend('Route', r);
  // 7. The next hop is `target.to`: the selector applied "the procedures to the first value in the Route header
  // field, if present, else the Request-URI" (the first Path value, for a binding with one).
  // 8. "The proxy MUST insert a Via header field value into the copy before the existing Via header field values."
  out.headers.prepend('Via', via);
  return out;
}
