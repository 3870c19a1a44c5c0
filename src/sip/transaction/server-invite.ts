// INVITE server transaction (RFC 3261 §17.2.1, Figure 7, with the "Accepted" state of RFC 6026).

import { createResponse } from '../build.js';
import type { SipRequest, SipResponse } from '../message.js';
import type { SentResponse, Source } from '../transport/types.js';
import { TRYING_DELAY_MS, type TransactionContext } from './context.js';
import { backoff, type TimerValues } from './timers.js';
import { kept, TransactionBase } from './transaction.js';
import { type EndCause, notifyEnd, type ServerTransactionUser } from './user.js';

export type ServerInviteState = 'Proceeding' | 'Completed' | 'Confirmed' | 'Accepted';

export class ServerInviteTransaction extends TransactionBase<ServerInviteState> {
  readonly kind = 'server-invite' as const;
  /** The most recent response sent, as bytes: re-sent on INVITE retransmissions and by Timer G. */
  lastResponse: SentResponse | undefined;
  /** Current Timer G interval. */
  private interval: number;

  constructor(
    key: string,
    request: SipRequest,
    /** Where the INVITE came from (updated by retransmissions); responses go back through it (§18.2.2). */
    public source: Source,
    ctx: TransactionContext,
    timers: TimerValues,
    readonly tu: ServerTransactionUser,
  ) {
    super(key, request, ctx, timers, 'Proceeding');
    this.interval = timers.g;
  }

  /** Enters "Proceeding" (the layer calls this once the transaction is indexed). */
  start(): void {
    // "When a server transaction is constructed for a request, it enters the "Proceeding" state. The server
    // transaction MUST generate a 100 (Trying) response unless it knows that the TU will generate a
    // provisional or final response within 200 ms, in which case it MAY generate a 100 (Trying) response."
    if (this.ctx.trying === 'immediate') this.send(createResponse(this.request, 100, 'Trying'));
    else if (this.ctx.trying === 'delayed') this.startRetransmitTimer(TRYING_DELAY_MS);
  }

  /**
   * Sends a response from the TU. Returns false, sending nothing, when the state does not take it (a final
   * response after a final response, or a non-2xx after a 2xx).
   */
  respond(response: SipResponse): boolean {
    const status = response.status;
    switch (this.state) {
      case 'Proceeding':
        this.clearRetransmitTimer(); // a pending delayed 100 Trying is no longer needed
        if (status < 200) {
          // "The TU passes any number of provisional responses to the server transaction. So long as the
          // server transaction is in the "Proceeding" state, each of these MUST be passed to the transport
          // layer for transmission."
          this.send(response);
          return true;
        }
        if (status < 300) {
          // RFC 6026: "If, while in the "Proceeding" state, the TU passes a 2xx response to the server
          // transaction, the server transaction MUST pass this response to the transport layer for
          // transmission. It is not retransmitted by the server transaction [...]. The server transaction MUST
          // then transition to the "Accepted" state." Timer L is "set to fire in 64*T1 for all transports".
          this.state = 'Accepted';
          this.startLifetimeTimer(this.timers.l);
          // "Accepted" re-sends nothing by itself: the 2xx retransmissions come from the TU.
          this.releaseRequest();
          this.lastResponse = undefined;
          this.ctx.sender.sendResponse(response, this.source, this.onSendError);
          return true;
        }
        // "While in the "Proceeding" state, if the TU passes a response with status code from 300 to 699 to
        // the server transaction, the response MUST be passed to the transport layer for transmission, and
        // the state machine MUST enter the "Completed" state. For unreliable transports, timer G is set to
        // fire in T1 seconds [...]. When the "Completed" state is entered, timer H MUST be set to fire in 64*T1
        // seconds for all transports."
        this.state = 'Completed';
        if (this.interval > 0) this.startRetransmitTimer(this.interval);
        this.startLifetimeTimer(this.timers.h);
        this.ctx.finalResponseSent(this, response);
        this.releaseRequest();
        this.lastResponse = kept(this.ctx.sender.sendResponse(response, this.source, this.onSendError));
        return true;
      case 'Accepted':
        // RFC 6026: "While in the "Accepted" state, if the TU passes a 2xx response, the server transaction
        // MUST pass the response to the transport layer for transmission."
        if (status < 200 || status >= 300) return false;
        this.ctx.sender.sendResponse(response, this.source, this.onSendError);
        return true;
      default:
        return false;
    }
  }

  /** An INVITE retransmission matched this transaction (the layer has counted it as absorbed). */
  receiveRetransmission(): void {
    switch (this.state) {
      case 'Proceeding':
        // "If a request retransmission is received while in the "Proceeding" state, the most recent
        // provisional response that was received from the TU MUST be passed to the transport layer for
        // retransmission."
        if (this.lastResponse !== undefined) this.resend(this.lastResponse);
        return;
      case 'Completed':
        // "Furthermore, while in the "Completed" state, if a request retransmission is received, the server
        // SHOULD pass the response to the transport for retransmission."
        if (this.lastResponse !== undefined) this.resend(this.lastResponse);
        return;
      default:
        // "Confirmed" absorbs everything; RFC 6026: in "Accepted", retransmissions of the INVITE "are absorbed
        // entirely within the server transaction. They are not passed up to the TU since any downstream UAS
        // cores that accepted the request have taken responsibility for reliability".
        return;
    }
  }

  /**
   * An ACK matched this transaction. Returns true if the transaction absorbed it, false if it belongs to the
   * TU (RFC 6026: an ACK in "Accepted" is for a 2xx and is passed up).
   */
  receiveAck(): boolean {
    switch (this.state) {
      case 'Completed':
        // "If an ACK is received while the server transaction is in the "Completed" state, the server
        // transaction MUST transition to the "Confirmed" state. As Timer G is ignored in this state, any
        // retransmissions of the response will cease."
        this.state = 'Confirmed';
        this.clearTimers();
        this.lastResponse = undefined;
        // "The purpose of the "Confirmed" state is to absorb any additional ACK messages that arrive [...].
        // When this state is entered, timer I is set to fire in T4 seconds for unreliable transports, and zero
        // seconds for reliable transports."
        this.linger(this.timers.i);
        return true;
      case 'Accepted':
        return false;
      default:
        // Confirmed: a retransmitted ACK. Proceeding: an ACK before any final response, meaningless; drop it.
        return true;
    }
  }

  protected onRetransmitTimer(): void {
    if (this.state === 'Proceeding') {
      // The 200 ms passed with no response from the TU: send the 100 Trying now.
      this.send(createResponse(this.request, 100, 'Trying'));
      return;
    }
    if (this.state !== 'Completed' || this.lastResponse === undefined) return;
    // "If timer G fires, the response is passed to the transport layer once more for retransmission, and timer
    // G is set to fire in MIN(2*T1, T2) seconds. From then on, when timer G fires, the response is passed to
    // the transport again for transmission, and timer G is reset with a value that doubles, unless that value
    // exceeds T2, in which case it is reset with the value of T2."
    this.interval = backoff(this.interval, this.timers.t2);
    this.startRetransmitTimer(this.interval);
    this.resend(this.lastResponse);
  }

  protected onLifetimeTimer(): void {
    switch (this.state) {
      case 'Completed':
        // "If timer H fires while in the "Completed" state, it implies that the ACK was never received. In this
        // case, the server transaction MUST transition to the "Terminated" state, and MUST indicate to the TU
        // that a transaction failure has occurred."
        this.end('timeout');
        return;
      case 'Confirmed':
        // "Once timer I fires, the server MUST transition to the "Terminated" state."
        this.end(undefined);
        return;
      case 'Accepted':
        // RFC 6026: "The server transaction leaves the "Accepted" state when Timer L fires, changing the state
        // to "Terminated"."
        this.end(undefined);
        return;
      default:
        return;
    }
  }

  protected notifyEnd(cause: EndCause): void {
    notifyEnd(this.tu, this, cause);
  }

  private send(response: SipResponse): void {
    this.lastResponse = this.ctx.sender.sendResponse(response, this.source, this.onSendError);
  }

  private resend(sent: SentResponse): void {
    this.ctx.stats.responsesRetransmitted++;
    this.ctx.sender.resendResponse(sent, this.source, this.onSendError);
  }
}
