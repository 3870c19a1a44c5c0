// Non-INVITE server transaction (RFC 3261 §17.2.2, Figure 8).
import type { SipRequest, SipResponse } from '../message.js';
import type { SentResponse, Source } from '../transport/types.js';
import type { TransactionContext } from './context.js';
import type { TimerValues } from './timers.js';
import { kept, TransactionBase } from './transaction.js';
import { type EndCause, notifyEnd, type ServerTransactionUser } from './user.js';

export type ServerNonInviteState = 'Trying' | 'Proceeding' | 'Completed';

export class ServerNonInviteTransaction extends TransactionBase<ServerNonInviteState> {
  readonly kind = 'server-non-invite' as const;
  /** The most recent response sent, as bytes: re-sent on request retransmissions. */
  lastResponse: SentResponse | undefined;

  constructor(
    key: string,
    request: SipRequest,
    /** Where the request came from (updated by retransmissions); responses go back through it (§18.2.2). */
    public source: Source,
    ctx: TransactionContext,
    timers: TimerValues,
    readonly tu: ServerTransactionUser,
  ) {
    // "The state machine is initialized in the "Trying" state".
    super(key, request, ctx, timers, 'Trying');
  }

  start(): void {}

  /** Sends a response from the TU. Returns false, sending nothing, once a final response has been sent. */
  respond(response: SipResponse): boolean {
    if (this.state !== 'Trying' && this.state !== 'Proceeding') {
      // "Any other final responses passed by the TU to the server transaction MUST be discarded while in the
      // "Completed" state."
      return false;
    }
    if (response.status < 200) {
      // "While in the "Trying" state, if the TU passes a provisional response to the server transaction, the
      // server transaction MUST enter the "Proceeding" state. The response MUST be passed to the transport
      // layer for transmission."
      this.state = 'Proceeding';
      this.lastResponse = this.ctx.sender.sendResponse(response, this.source, this.onSendError);
      return true;
    }
    // "If the TU passes a final response (status codes 200-699) to the server while in the "Proceeding" [or
    // "Trying"] state, the transaction MUST enter the "Completed" state, and the response MUST be passed to
    // the transport layer for transmission."
    this.state = 'Completed';
    // "When the server transaction enters the "Completed" state, it MUST set Timer J to fire in 64*T1 seconds
    // for unreliable transports, and zero seconds for reliable transports."
    if (this.timers.j > 0) this.startLifetimeTimer(this.timers.j);
    this.releaseRequest();
    this.lastResponse = kept(this.ctx.sender.sendResponse(response, this.source, this.onSendError));
    if (this.timers.j === 0) this.end(undefined);
    return true;
  }

  /** A request retransmission matched this transaction (the layer has counted it as absorbed). */
  receiveRetransmission(): void {
    switch (this.state) {
      case 'Trying':
        // "Once in the "Trying" state, any further request retransmissions are discarded."
        return;
      case 'Proceeding':
      // "If a retransmission of the request is received while in the "Proceeding" state, the most recently sent
      // provisional response MUST be passed to the transport layer for retransmission."
      case 'Completed':
        // "While in the "Completed" state, the server transaction MUST pass the final response to the transport
        // layer for retransmission whenever a retransmission of the request is received."
        if (this.lastResponse === undefined) return;
        this.ctx.stats.responsesRetransmitted++;
        this.ctx.sender.resendResponse(this.lastResponse, this.source, this.onSendError);
        return;
      default:
        return;
    }
  }

  protected onRetransmitTimer(): void {}

  protected onLifetimeTimer(): void {
    // "The server transaction remains in this state until Timer J fires, at which point it MUST transition to
    // the "Terminated" state."
    if (this.state === 'Completed') this.end(undefined);
  }

  protected notifyEnd(cause: EndCause): void {
    notifyEnd(this.tu, this, cause);
  }
}
