// The request sent to one target (RFC 3261 §16.6 steps 1-8), written once for a stateful branch, a CANCEL forwarded
// statelessly and an ACK forwarded statelessly. Step 9 (Content-Length) is the serializer's, step 10 the caller's
// (a client transaction, or straight to the transport when stateless, §16.11), step 11 (Timer C) the response
// context's. A stateful branch also picks its transport by size (§18.1.1, `prepareBranch`).
import { familyOf } from '../../net/address.js';
import type { SipRequest } from '../../sip/message.js';
import type { Endpoint } from '../../sip/transport/types.js';
import { forwardBranch } from './branch.js';
import type { ProxyIdentity, Side } from './identity.js';
import type { Target } from './target-selector.js';

/** Requests that create a dialog (RFC 3261, 3265, 3515): we record-route them to stay on the dialog's path. */
const DIALOG_CREATING = new Set(['INVITE', 'SUBSCRIBE', 'REFER']);

/**
 * §18.1.1: "If a request is within 200 bytes of the path MTU, or if it is larger than 1300 bytes and the path MTU
 * is unknown, the request MUST be sent using an RFC 2914 congestion controlled transport protocol, such as TCP."
 * We never know the path MTU.
 */
export const UDP_MAX_REQUEST_BYTES = 1300;

/**
 * The copy of `fwd` (the request after §16.4) for `target`, or undefined when we have no address of our own to put
 * in it. `incoming` is the request as received: the branch derives from it (see branch.ts). `arrived` is the side it
 * came in by, for a second Record-Route value when it leaves by another (RFC 5658); unknown, one value.
 */
export function prepareRequest(
  fwd: SipRequest,
  target: Target,
  incoming: SipRequest,
  identity: ProxyIdentity,
  arrived?: Side,
): SipRequest | undefined {
  const leaves: Side = { transport: target.to.transport, family: familyOf(target.to.address) };
  const via = identity.viaFor(leaves, forwardBranch(incoming, target.uri));
  const recordRoutes = identity.recordRoutes(leaves, arrived);
  if (via === undefined || recordRoutes === undefined) return undefined;
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
  // Two values when the request changes transport or address family here (RFC 5658, see identity.ts).
  if (DIALOG_CREATING.has(out.method) && out.to?.tag === undefined)
    for (const rr of [...recordRoutes].reverse()) out.headers.prepend('Record-Route', rr);
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

/** A request ready for a client transaction, and where it goes. */
export interface Outgoing {
  request: SipRequest;
  to: Endpoint;
  /** The same request over UDP, for when the TCP connection it was moved to fails (§18.1.1). */
  udpFallback?: Outgoing;
}

/**
 * A stateful branch (§16.6 steps 1-8). A request for a UDP next hop that is larger than 1300 bytes goes over TCP
 * when we listen on TCP, to the same address and port (§18.1.1): "If this causes a change in the transport protocol
 * from the one indicated in the top Via, the value in the top Via MUST be changed" — the Via and Record-Route are
 * written for TCP. "If an element sends a request over TCP because of these message size constraints, and that
 * request would have otherwise been sent over UDP, if the attempt to establish the connection generates either an
 * ICMP Protocol Not Supported, or results in a TCP reset, the element SHOULD retry the request, using UDP": the
 * UDP version comes along for the response context to fall back to.
 */
export function prepareBranch(
  fwd: SipRequest,
  target: Target,
  incoming: SipRequest,
  identity: ProxyIdentity,
  arrived: Side,
): Outgoing | undefined {
  const request = prepareRequest(fwd, target, incoming, identity, arrived);
  if (request === undefined) return undefined;
  const direct: Outgoing = { request, to: target.to };
  if (
    target.to.transport !== 'udp' ||
    !identity.listensOn('tcp') ||
    wireLength(request) <= UDP_MAX_REQUEST_BYTES
  )
    return direct;
  const to: Endpoint = { ...target.to, transport: 'tcp' };
  const overTcp = prepareRequest(fwd, { ...target, to }, incoming, identity, arrived);
  return overTcp === undefined ? direct : { request: overTcp, to, udpFallback: direct };
}

/** The bytes `request` takes on the wire (as serializeMessage writes it, Content-Length included), without writing it. */
function wireLength(request: SipRequest): number {
  // Start line and the empty line that ends the head.
  let n = request.method.length + request.uri.length + request.version.length + 4 + 2;
  let contentLength = false;
  for (const f of request.headers.fields) {
    if (f.key === 'content-length') contentLength = true;
    n += f.name.length + f.value.length + 4;
  }
  // A missing Content-Length is added; a wrong one is rewritten (a few bytes either way do not matter here).
  if (!contentLength) n += 'Content-Length: '.length + String(request.body.length).length + 2;
  return n + request.body.length;
}
