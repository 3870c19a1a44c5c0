// Branch ids for requests the proxy forwards. They are derived from the incoming transaction (its branch and
// sent-by) and the target, like a stateless proxy's (RFC 3261 §16.11): a retransmitted INVITE or a CANCEL that reaches
// the *other* node after a takeover is forwarded with the very branch the first node used, so the next hop matches
// it to the transaction it already has. A loop-detection hash (§16.6 step 8) is appended.
import { createHash } from 'node:crypto';
import type { SipRequest } from '../../sip/message.js';
import { MAGIC_COOKIE } from '../../sip/via.js';

export function forwardBranch(incoming: SipRequest, target: string): string {
  const via = incoming.via;
  const seed = `${via?.branch ?? ''}|${via?.sentBy ?? ''}|${target}|${incoming.method === 'CANCEL' ? 'INVITE' : incoming.method}`;
  const id = createHash('sha1').update(seed).digest('base64url').slice(0, 20);
  return `${MAGIC_COOKIE}${id}.${loopHash(incoming)}`;
}

/**
 * §16.3 step 4 / §16.6 step 8: a hash of the fields that decide where a request goes. The same request coming back
 * with the same hash in one of our Vias is a loop (482); a spiral (changed Request-URI, Route...) is not.
 */
export function loopHash(request: SipRequest): string {
  const h = createHash('sha1');
  h.update(request.uri);
  h.update('|');
  h.update(request.from?.tag ?? '');
  h.update('|');
  h.update(request.to?.tag ?? '');
  h.update('|');
  h.update(request.callId ?? '');
  h.update('|');
  h.update(String(request.cseq?.seq ?? ''));
  h.update('|');
  h.update(request.headers.getFields('route').join(','));
  h.update('|');
  h.update(request.headers.getFields('proxy-require').join(','));
  return h.digest('base64url').slice(0, 10);
}
