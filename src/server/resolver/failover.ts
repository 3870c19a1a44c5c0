// RFC 3263 §4.3, the proxy's side: when a request to one of a name's addresses fails, the next address gets "a new
// request, which is identical to the previous, but has a different value of the Via branch ID than the previous
// (and therefore constitutes a new SIP transaction)".
import type { SipRequest } from '../../sip/message.js';
import { parseVia } from '../../sip/via.js';

/**
 * §4.3: "a failure occurs if the transaction layer reports a 503 error response or a transport failure of some sort
 * (generally, due to fatal ICMP errors in UDP or connection failures in TCP) [...] Failure also occurs if the
 * transaction layer times out without ever having received any response, provisional or final (i.e., timer B or
 * timer F fires)." Transport failures come by their own path; these are the response statuses.
 */
export function failsOver(status: number): boolean {
  return status === 503 || status === 408;
}

/**
 * The request for attempt `n` (1 for the first alternate): its top Via's branch gets `-n` before the loop-detection
 * hash (branch.ts), so the hash still ends it (§16.3 step 4 looks for it there).
 */
export function withAttempt(request: SipRequest, n: number): SipRequest {
  const via = parseVia(request.headers.first('via') ?? '');
  const branch = via?.branch;
  if (via === undefined || branch === undefined) return request;
  const dot = branch.lastIndexOf('.');
  const next = dot < 0 ? `${branch}-${n}` : `${branch.slice(0, dot)}-${n}${branch.slice(dot)}`;
  via.params.set('branch', next);
  request.headers.replaceFirst('Via', via.toString());
  return request;
}
