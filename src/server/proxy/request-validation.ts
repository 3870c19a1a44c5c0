// Request validation (RFC 3261 §16.3): "Before an element can proxy a request, it MUST verify the message's
// validity." One pure check per step; "If any of these checks fail, the element MUST behave as a user agent server
// (see Section 8.2) and respond with an error code." Step 1, reasonable syntax, is the parser's and the transaction
// layer's: "The request MUST be well-formed enough to be handled with a server transaction."

import type { AddressSet } from '../../net/address.js';
import { createResponse } from '../../sip/build.js';
import type { SipRequest, SipResponse } from '../../sip/message.js';
import { SipUri, TelUri } from '../../sip/uri.js';
import type { DigestAuthenticator, VerifyResult } from '../digest-auth.js';
import type { Myself } from '../myself.js';
import { loopHash } from './branch.js';
import { type InboundPolicy, relayDecision } from './relay-policy.js';
import type { Selection } from './target-selector.js';

export interface CheckFailure {
  status: number;
  reason: string;
  /** Extra header to add (e.g. Unsupported for a 420). */
  header?: [string, string];
}

/** Option tags we implement; anything else in Proxy-Require is refused with 420. */
export const SUPPORTED_OPTIONS = new Set(['path']);

/** Step 2: "If the Request-URI has a URI whose scheme is not understood by the proxy, the proxy SHOULD reject the
 * request with a 416 (Unsupported URI Scheme) response." */
export function checkUriScheme(request: SipRequest): CheckFailure | undefined {
  const uri = request.requestUri;
  if (uri instanceof SipUri || uri instanceof TelUri) return undefined;
  return { status: 416, reason: 'Unsupported URI Scheme' };
}

/**
 * Step 3. `toUs` says the request targets this server itself (an OPTIONS ping with Max-Forwards 0 is still
 * answered). Every way a request leaves this proxy, stateful or not, passes here first.
 */
export function checkMaxForwards(request: SipRequest, toUs: boolean): CheckFailure | undefined {
  // "If the request does not contain a Max-Forwards header field, this check is passed. If the request contains a
  // Max-Forwards header field with a field value greater than zero, the check is passed. If the request contains a
  // Max-Forwards header field with a field value of zero (0), the element MUST NOT forward the request. If the
  // request was for OPTIONS, the element MAY act as the final recipient and respond per Section 11. Otherwise,
  // the element MUST return a 483 (Too many hops) response."
  if (request.maxForwards === 0 && !(request.method === 'OPTIONS' && toUs)) {
    return { status: 483, reason: 'Too Many Hops' };
  }
  return undefined;
}

/**
 * Step 4: "If the request contains a Via header field with a sent-by value that equals a value placed into
 * previous requests by the proxy, the request has been forwarded by this element before. [...] To determine if the
 * request has looped, the element MAY perform the branch parameter calculation described in Step 8 of Section 16.6
 * on this message and compare it to the parameter received in that Via header field. If the parameters match, the
 * request has looped. [...] If a loop is detected, the element MAY return a 482 (Loop Detected) response."
 */
export function checkLoop(
  request: SipRequest,
  isOurVia: (host: string, port: number | undefined) => boolean,
): CheckFailure | undefined {
  const hash = loopHash(request);
  const looped = request
    .vias()
    .some((v) => v !== undefined && isOurVia(v.host, v.port) && v.branch?.endsWith(`.${hash}`));
  return looped ? { status: 482, reason: 'Loop Detected' } : undefined;
}

/**
 * Step 5: "If the request contains a Proxy-Require header field (Section 20.29) with one or more option-tags this
 * element does not understand, the element MUST return a 420 (Bad Extension) response. The response MUST include
 * an Unsupported (Section 20.40) header field listing those option-tags the element did not understand."
 */
export function checkProxyRequire(request: SipRequest): CheckFailure | undefined {
  const unknown = request.headers
    .values('proxy-require')
    .filter((t) => !SUPPORTED_OPTIONS.has(t.toLowerCase()));
  if (unknown.length === 0) return undefined;
  return { status: 420, reason: 'Bad Extension', header: ['Unsupported', unknown.join(', ')] };
}

/** Steps 3 and 5 together, in that order. */
export function checkRequest(request: SipRequest, toUs: boolean): CheckFailure | undefined {
  return checkMaxForwards(request, toUs) ?? checkProxyRequire(request);
}

export interface AuthRefusal {
  response: SipResponse;
  /** Wrong or mismatched credentials (counted), as opposed to a first try without any. */
  failure: boolean;
}

/** What step 6 needs besides the request: the users, our domain, and the relay policy's settings. */
export interface RelayGuard {
  auth: DigestAuthenticator | undefined;
  myself: Myself;
  inbound: InboundPolicy;
  /** `sip.auth.trusted`: peers whose requests need no credentials. */
  trusted: AddressSet;
}

/**
 * Step 6: "If an element requires credentials before forwarding a request, the request MUST be inspected as
 * described in Section 22.3." Whether it requires them is the relay policy's decision (relay-policy.ts), made on
 * where the request goes after §16.4-16.5 (`selection`) and where it came from (`sourceAddress`).
 */
export function checkProxyAuthorization(
  request: SipRequest,
  selection: Pick<Selection, 'kind' | 'leaves' | 'viaOurRoute'>,
  sourceAddress: string,
  g: RelayGuard,
): AuthRefusal | undefined {
  const { auth } = g;
  if (auth === undefined) return undefined;
  const from = request.from?.uri;
  const result = auth.verify(request.headers.getFields('proxy-authorization'), request.method);
  const decision = relayDecision(
    {
      method: request.method,
      inDialog: request.to?.tag !== undefined && selection.viaOurRoute,
      fromOurs: g.myself.isMyUri(from),
      fromUser: from instanceof SipUri ? from.userText : undefined,
      destination: selection.kind === 'server' ? 'server' : selection.leaves ? 'leaving' : 'local',
      trustedSource: g.trusted.has(sourceAddress),
      authenticatedUser: result.ok ? result.username : undefined,
    },
    { authentication: true, inbound: g.inbound },
  );
  if (decision === 'allow') return undefined;
  if (decision === 'forbid' || result.ok) {
    return {
      response: createResponse(request, 403, 'Forbidden (Credentials Do Not Match From)'),
      failure: true,
    };
  }
  return challenge(request, auth, result, 407);
}

/**
 * §22.3: "The proxy MUST populate the 407 (Proxy Authentication Required) message with a Proxy-Authenticate header
 * field value applicable to the proxy for the requested resource." A registrar does the same with 401 and
 * WWW-Authenticate (§22.2). A nonce that only expired is marked stale (RFC 7616), so the client retries silently.
 */
export function challenge(
  request: SipRequest,
  auth: DigestAuthenticator,
  result: Extract<VerifyResult, { ok: false }>,
  status: 401 | 407,
): AuthRefusal {
  const response =
    status === 401
      ? createResponse(request, 401, 'Unauthorized')
      : createResponse(request, 407, 'Proxy Authentication Required');
  const header = status === 401 ? 'WWW-Authenticate' : 'Proxy-Authenticate';
  for (const c of auth.challenges(result.reason === 'stale-nonce')) response.headers.append(header, c);
  return { response, failure: result.reason !== 'no-credentials' };
}
