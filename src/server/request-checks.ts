// Request validation a proxy does before anything else (RFC 3261 §16.3), as a pure function.
import type { SipRequest } from '../sip/message.js';

export interface CheckFailure {
  status: number;
  reason: string;
  /** Extra header to add (e.g. Unsupported for a 420). */
  header?: [string, string];
}

/** Option tags we implement; anything else in Proxy-Require is refused with 420. */
export const SUPPORTED_OPTIONS = new Set(['path']);

/**
 * Steps 3 and 5 of §16.3 (step 1, syntax, and step 2, URI scheme, are the parser's and the router's). `toUs` says
 * the request targets this server itself (an OPTIONS ping with Max-Forwards 0 is still answered).
 */
export function checkRequest(request: SipRequest, toUs: boolean): CheckFailure | undefined {
  // "If the request does not contain a Max-Forwards header field, this check is passed. If the request contains a
  // Max-Forwards header field with a field value greater than zero, the check is passed. If the request contains a
  // Max-Forwards header field with a field value of zero (0), the element MUST NOT forward the request. If the
  // request was for OPTIONS, the element MAY act as the final recipient and respond per Section 11. Otherwise,
  // the element MUST return a 483 (Too many hops) response."
  if (request.maxForwards === 0 && !(request.method === 'OPTIONS' && toUs)) {
    return { status: 483, reason: 'Too Many Hops' };
  }
  // "If the request contains a Proxy-Require header field with one or more option-tags this element does not
  // understand, the element MUST return a 420 (Bad Extension) response. The response MUST include an Unsupported
  // header field listing those option-tags the element did not understand."
  const unknown = request.headers
    .values('proxy-require')
    .filter((t) => !SUPPORTED_OPTIONS.has(t.toLowerCase()));
  if (unknown.length > 0)
    return { status: 420, reason: 'Bad Extension', header: ['Unsupported', unknown.join(', ')] };
  return undefined;
}
