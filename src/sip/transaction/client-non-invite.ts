// Non-INVITE client transaction (RFC 3261 §17.1.2, Figure 6).
import type { SipRequest, SipResponse } from '../message.js';
import type { Endpoint } from '../transport/types.js';
import type { TransactionContext } from './context.js';
import { backoff, type TimerValues } from './timers.js';
import { TransactionBase } from './transaction.js';
import { type ClientTransactionUser, type EndCause, notifyEnd } from './user.js';

export type ClientNonInviteState = 'Trying' | 'Proceeding' | 'Completed';

export class ClientNonInviteTransaction extends TransactionBase<ClientNonInviteState> {
  readonly kind = 'client-non-invite' as const;
  /** Current Timer E interval. */
  private interval: number;

  constructor(
    key: string,
    request: SipRequest,
    /** Where the request goes; retransmissions go there too. */
    readonly to: Endpoint,
    ctx: TransactionContext,
    timers: TimerValues,
    readonly tu: ClientTransactionUser,
  ) {
    super(key, request, ctx, timers, 'Trying');
    this.interval = timers.e;
  }

  /** Sends the request (the layer calls this once the transaction is indexed). */
  start(): void {
    // "If an unreliable transport is in use, the client transaction MUST set timer E to fire in T1 seconds."
    if (this.interval > 0) this.startRetransmitTimer(this.interval);
    // "The "Trying" state is entered when the TU initiates a new client transaction with a request. When
    // entering this state, the client transaction SHOULD set timer F to fire in 64*T1 seconds."
    this.startLifetimeTimer(this.timers.f);
    this.ctx.sender.sendRequest(this.request, this.to, this.onSendError);
  }

  receiveResponse(response: SipResponse): void {
    switch (this.state) {
      case 'Trying':
      case 'Proceeding':
        if (response.status < 200) {
          // "If a provisional response is received while in the "Trying" state, the response MUST be passed to
          // the TU, and then the client transaction SHOULD move to the "Proceeding" state."
          this.state = 'Proceeding';
          this.tu.onResponse(response, this);
          return;
        }
        // "If a final response (status codes 200-699) is received while in the "Trying" [or "Proceeding"]
        // state, the response MUST be passed to the TU, and the client transaction MUST transition to the
        // "Completed" state."
        this.state = 'Completed';
        this.clearTimers();
        this.tu.onResponse(response, this);
        // Completed absorbs retransmitted responses by key alone: the request can go.
        this.releaseRequest();
        // "Once the client transaction enters the "Completed" state, it MUST set Timer K to fire in T4 seconds
        // for unreliable transports, and zero seconds for reliable transports."
        this.linger(this.timers.k);
        return;
      case 'Completed':
        // "The "Completed" state exists to buffer any additional response retransmissions that may be received".
        this.ctx.stats.retransmissionsAbsorbed++;
        return;
      case 'Terminated':
        return;
    }
  }

  protected onRetransmitTimer(): void {
    if (this.state === 'Trying') {
      // "If timer E fires while still in this state, the timer is reset, but this time with a value of
      // MIN(2*T1, T2). When the timer fires again, it is reset to a MIN(4*T1, T2)."
      this.interval = backoff(this.interval, this.timers.t2);
    } else if (this.state === 'Proceeding') {
      // "If Timer E fires while in the "Proceeding" state, the request MUST be passed to the transport layer
      // for retransmission, and Timer E MUST be reset with a value of T2 seconds."
      this.interval = this.timers.t2;
    } else return;
    this.startRetransmitTimer(this.interval);
    this.ctx.stats.requestsRetransmitted++;
    this.ctx.sender.sendRequest(this.request, this.to, this.onSendError);
  }

  protected onLifetimeTimer(): void {
    // "If Timer K fires while in this state, the client transaction MUST transition to the "Terminated" state."
    if (this.state === 'Completed') this.end(undefined);
    // "If Timer F fires while the client transaction is still in the "Trying" state, the client transaction
    // SHOULD inform the TU about the timeout, and then it SHOULD enter the "Terminated" state." (Same in
    // "Proceeding".)
    else this.end('timeout');
  }

  protected override awaitingFinal(): boolean {
    return this.state === 'Trying' || this.state === 'Proceeding';
  }

  protected notifyEnd(cause: EndCause): void {
    notifyEnd(this.tu, this, cause);
  }
}
