// §18.2.1 and RFC 3581: a server transport notes where a request really came from in its top Via.
import type { SipRequest } from '../message.js';
import { Via } from '../via.js';

/**
 * Returns the top Via with `received` (when sent-by is not the source address, or rport was asked for) and a filled
 * `rport`; undefined when nothing needs to change.
 */
export function stampVia(via: Via, sourceAddress: string, sourcePort: number): Via | undefined {
  const wantsRport = via.params.has('rport') && via.params.get('rport') === null;
  const hostDiffers = via.host.toLowerCase() !== sourceAddress.toLowerCase();
  if (!wantsRport && !hostDiffers) return undefined;
  const params = new Map(via.params);
  params.set('received', sourceAddress);
  if (wantsRport) params.set('rport', String(sourcePort));
  return new Via(via.transport, via.host, via.port, params, via.protocol);
}

/** Stamps a received request's top Via in place; a request without one is left as it is (the parser rejects it). */
export function stampRequest(request: SipRequest, sourceAddress: string, sourcePort: number): void {
  const via = request.via;
  const stamped = via === undefined ? undefined : stampVia(via, sourceAddress, sourcePort);
  if (stamped !== undefined) request.headers.replaceFirst('via', stamped.toString());
}
