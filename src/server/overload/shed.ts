// Turning new requests away under overload, statelessly (RFC 3261 §21.5.4: "The server is temporarily unable to
// process the request due to a temporary overloading [...]. If the condition is temporary, the server MAY indicate
// when the client should retry the request in a Retry-After header field"). No server transaction, no proxy
// context: the answer costs one response on the wire, and a retransmission simply asks again.
//
// Only a new out-of-dialog request may be shed (no To tag: INVITE, REGISTER, SUBSCRIBE, MESSAGE, OPTIONS...). A
// request with a To tag belongs to a dialog already set up (BYE, re-INVITE, NOTIFY): refusing it would break calls
// that cost us the most to establish, so it is always taken, as are CANCEL, ACK and responses, which the
// transaction layer never asks about (RFC 6357 §3: reject new work first).
import { createResponse, randomToken } from '../../sip/build.js';
import type { SipRequest } from '../../sip/message.js';
import type { MessageSender, Source } from '../../sip/transport/types.js';
import type { OverloadGovernor } from './governor.js';

/**
 * The To tag of every 503 we shed with. The ACK for a shed INVITE's 503 reaches the core without a transaction
 * (§17.2.1 would have absorbed it); this tag tells it apart from an end-to-end ACK, so it is dropped, not forwarded.
 */
export const SHED_TAG_PREFIX = 'sipha-shed-';

export interface ShedOptions {
  governor: OverloadGovernor;
  /** `sip.overload.retry_after_s`: the 503's Retry-After is drawn from N..2N seconds. */
  retryAfterS: number;
  /** [0, 1); tests pass a fixed one. */
  random?: () => number;
}

export interface ShedStats {
  overloadRejectedByMethod: Record<string, number>;
  /** ACKs for our shed 503s, dropped instead of forwarded. */
  overloadAcksDropped: number;
}

export class OverloadShedding {
  private readonly random: () => number;

  constructor(
    private readonly o: ShedOptions,
    private readonly sender: MessageSender,
    private readonly stats: ShedStats,
    /** Counts a response we sent (the proxy's responses by status). */
    private readonly countResponse: (status: number) => void,
  ) {
    this.random = o.random ?? Math.random;
  }

  /** False: the request was answered 503 here and nothing is kept for it. */
  admit(request: SipRequest, source: Source): boolean {
    const governor = this.o.governor;
    // The idle case first, and cheapest: no header parsed.
    if (governor.fraction <= 0) return true;
    if (request.to?.tag !== undefined) return true;
    if (governor.admit()) return true;
    const response = createResponse(
      request,
      503,
      'Service Unavailable',
      `${SHED_TAG_PREFIX}${randomToken(4)}`,
    );
    // A spread over N..2N seconds, so the phones a storm turned away do not all come back in the same second.
    const n = this.o.retryAfterS;
    response.headers.append('Retry-After', String(n + Math.floor(this.random() * (n + 1))));
    const by = this.stats.overloadRejectedByMethod;
    by[request.method] = (by[request.method] ?? 0) + 1;
    this.countResponse(503);
    this.sender.sendResponse(response, source);
    return false;
  }

  /** Whether `ack` acknowledges one of our shed 503s (then it is dropped: it has nowhere to go). */
  isShedAck(ack: SipRequest): boolean {
    if (!ack.to?.tag?.startsWith(SHED_TAG_PREFIX)) return false;
    this.stats.overloadAcksDropped++;
    return true;
  }
}
