// INVITE client transaction (RFC 3261 §17.1.1, Figure 5, with the "Accepted" state of RFC 6026).
import type { SipRequest, SipResponse } from '../message.js';
import type { Endpoint } from '../transport/types.js';
import { createNon2xxAck } from './ack.js';
import type { TransactionContext } from './context.js';
import type { TimerValues } from './timers.js';
import { TransactionBase } from './transaction.js';
import { type ClientTransactionUser, type EndCause, notifyEnd } from './user.js';

export type ClientInviteState = 'Calling' | 'Proceeding' | 'Completed' | 'Accepted';

export class ClientInviteTransaction extends TransactionBase<ClientInviteState> {
  readonly kind = 'client-invite' as const;
  /** Current Timer A interval. */
  private interval: number;
  /** The ACK for the non-2xx final response, kept to answer its retransmissions. */
  ack: SipRequest | undefined;

  constructor(
    key: string,
    request: SipRequest,
    /** Where the INVITE goes; the ACK for a non-2xx goes to the same place (§17.1.1.3). */
    readonly to: Endpoint,
    ctx: TransactionContext,
    timers: TimerValues,
    readonly tu: ClientTransactionUser,
  ) {
    super(key, request, ctx, timers, 'Calling');
    this.interval = timers.a;
  }

  /** Sends the INVITE (the layer calls this once the transaction is indexed). */
  start(): void {
    // "If an unreliable transport is being used, the client transaction MUST start timer A with a value of T1."
    if (this.interval > 0) this.startRetransmitTimer(this.interval);
    // "For any transport, the client transaction MUST start timer B with a value of 64*T1 seconds."
    this.startLifetimeTimer(this.timers.b);
    this.ctx.sender.sendRequest(this.request, this.to, this.onSendError);
  }

  receiveResponse(response: SipResponse): void {
    const status = response.status;
    switch (this.state) {
      case 'Calling':
      case 'Proceeding':
        if (status < 200) {
          // "If the client transaction receives a provisional response while in the "Calling" state, it
          // transitions to the "Proceeding" state. In the "Proceeding" state, the client transaction SHOULD NOT
          // retransmit the request any longer." Timer B only matters in "Calling"; the TU runs Timer C.
          if (this.state === 'Calling') {
            this.state = 'Proceeding';
            this.clearTimers();
          }
          // "Furthermore, the provisional response MUST be passed to the TU."
          this.tu.onResponse(response, this);
          return;
        }
        this.clearTimers();
        if (status < 300) {
          // RFC 6026: "If a 2xx response is received while the client INVITE state machine is in the "Calling"
          // or "Proceeding" states, it MUST transition to the "Accepted" state, pass the 2xx response to the
          // TU, and set Timer M to 64*T1."
          this.state = 'Accepted';
          this.startLifetimeTimer(this.timers.m);
          // "Accepted" only passes further 2xx up: the INVITE is not sent again, so it can go.
          this.releaseRequest();
          this.tu.onResponse(response, this);
          return;
        }
        // "When in either the "Calling" or "Proceeding" states, reception of a response with status code from
        // 300-699 MUST cause the client transaction to transition to "Completed". The client transaction MUST
        // pass the received response up to the TU, and the client transaction MUST generate an ACK request".
        this.state = 'Completed';
        this.tu.onResponse(response, this);
        if (this.terminated) return;
        this.ack = createNon2xxAck(this.request, response);
        this.releaseRequest();
        // "The client transaction SHOULD start timer D when it enters the "Completed" state, with a value of at
        // least 32 seconds for unreliable transports, and a value of zero seconds for reliable transports."
        if (this.timers.d > 0) this.startLifetimeTimer(this.timers.d);
        this.ctx.sender.sendRequest(this.ack, this.to, this.onSendError);
        if (this.timers.d === 0) this.end(undefined);
        return;
      case 'Completed':
        // "Any retransmissions of the final response that are received while in the "Completed" state MUST
        // cause the ACK to be re-passed to the transport layer for retransmission, but the newly received
        // response MUST NOT be passed up to the TU."
        if (status >= 300 && this.ack !== undefined) {
          this.ctx.stats.retransmissionsAbsorbed++;
          this.ctx.sender.sendRequest(this.ack, this.to, this.onSendError);
        }
        return;
      case 'Accepted':
        // RFC 6026: "A 2xx response received while in the "Accepted" state MUST be passed to the TU and the
        // machine remains in the "Accepted" state." (Other responses cannot follow a 2xx; drop them.)
        if (status >= 200 && status < 300) this.tu.onResponse(response, this);
        return;
      case 'Terminated':
        return;
    }
  }

  protected onRetransmitTimer(): void {
    if (this.state !== 'Calling') return;
    // "When timer A fires, the client transaction MUST retransmit the request by passing it to the transport
    // layer, and MUST reset the timer with a value of 2*T1." (Doubling each time, with no cap.)
    this.interval *= 2;
    this.startRetransmitTimer(this.interval);
    this.ctx.stats.requestsRetransmitted++;
    this.ctx.sender.sendRequest(this.request, this.to, this.onSendError);
  }

  protected onLifetimeTimer(): void {
    switch (this.state) {
      case 'Calling':
        // "If the client transaction is still in the "Calling" state when timer B fires, the client transaction
        // SHOULD inform the TU that a timeout has occurred."
        this.end('timeout');
        return;
      case 'Completed':
        // "If timer D fires while the client transaction is in the "Completed" state, the client transaction
        // MUST move to the terminated state."
        this.end(undefined);
        return;
      case 'Accepted':
        // RFC 6026: "When Timer M fires and the state machine is in the "Accepted" state, the machine MUST
        // transition to the "Terminated" state."
        this.end(undefined);
        return;
      default:
        return;
    }
  }

  protected override awaitingFinal(): boolean {
    return this.state === 'Calling' || this.state === 'Proceeding';
  }

  protected notifyEnd(cause: EndCause): void {
    notifyEnd(this.tu, this, cause);
  }
}
