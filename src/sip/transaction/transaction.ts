// What all four transaction state machines share: identity, the two timer slots, and the way they end.

import type { TimerHandle } from '../../time/clock.js';
import type { SipRequest } from '../message.js';
import { unpooled } from '../serializer.js';
import type { SentResponse } from '../transport/types.js';
import type { TransactionContext } from './context.js';
import type { TimerValues } from './timers.js';
import type { EndCause } from './user.js';

export type TransactionKind = 'client-invite' | 'client-non-invite' | 'server-invite' | 'server-non-invite';

export abstract class TransactionBase<S extends string> {
  abstract readonly kind: TransactionKind;
  state: S | 'Terminated';
  /** A second key the layer indexes this transaction under (RFC 2543 ACK matching, §17.2.3). */
  aliasKey: string | undefined;
  /**
   * Slot 1: the retransmit timer (A, E, G, or the delayed 100 Trying). Slot 2: the timer that bounds the
   * current state (B, D, F, H, I, J, K, L, M). No state needs more than these two.
   */
  private retransmitTimer: TimerHandle | undefined;
  private lifetimeTimer: TimerHandle | undefined;
  /** One error handler per transaction, handed to every send. */
  protected readonly onSendError: (error: Error) => void;
  /** The request's method, which outlives the request itself (see `request`). */
  readonly method: string;
  private held: SipRequest | undefined;

  constructor(
    /** The key it is indexed under in the layer (see keys.ts). */
    readonly key: string,
    request: SipRequest,
    protected readonly ctx: TransactionContext,
    protected readonly timers: TimerValues,
    initial: S,
  ) {
    this.state = initial;
    this.held = request;
    this.method = request.method;
    this.onSendError = (error) => this.end(error);
  }

  /**
   * The request that created the transaction, while the transaction still works on it. Once it only absorbs
   * retransmissions ("Completed", "Confirmed", "Accepted") it keeps its key, where to answer and, for a server
   * transaction, the bytes of its last response — not the request: at a few thousand calls a second, 32 s of
   * Timer J or L holding every parsed message is what filled the heap.
   */
  get request(): SipRequest {
    const held = this.held;
    if (held === undefined)
      throw new Error(`${this.kind} ${this.key}: the request is gone once the transaction is ${this.state}`);
    return held;
  }

  /** Whether the request is still held (see `request`). */
  get holdsRequest(): boolean {
    return this.held !== undefined;
  }

  /** Lets the request go: the transaction now only absorbs retransmissions (see `request`). */
  protected releaseRequest(): void {
    this.held = undefined;
  }

  get terminated(): boolean {
    return this.state === 'Terminated';
  }

  get reliable(): boolean {
    return this.timers.reliable;
  }

  /**
   * Ends the transaction now, at the TU's request (e.g. a proxy that gives up on a non-INVITE without a 408,
   * RFC 4320 §4.1). No more retransmissions or absorption; the TU hears only `onTerminated`.
   */
  terminate(): void {
    this.end(undefined);
  }

  /**
   * §17.1.4 for a failure the transport learns after the send has returned — an ICMP error on the socket connected
   * to the next hop, a refused or reset TCP connection: "the client transaction SHOULD inform the TU that a
   * transport failure has occurred, and the client transaction SHOULD transition directly to the "Terminated"
   * state." Only a transaction still waiting for its final response is failed; one that has it just lingers on.
   */
  transportFailed(error: Error): void {
    if (this.awaitingFinal()) this.end(error);
  }

  /** Whether a final response is still to come: a client transaction before "Completed". */
  protected awaitingFinal(): boolean {
    return false;
  }

  /** Ends without telling the TU anything (layer shutdown). */
  dispose(): void {
    this.state = 'Terminated';
    this.clearTimers();
    this.held = undefined;
  }

  protected abstract onRetransmitTimer(): void;
  protected abstract onLifetimeTimer(): void;
  protected abstract notifyEnd(cause: EndCause): void;

  protected startRetransmitTimer(ms: number): void {
    this.retransmitTimer = this.ctx.clock.setTimeout(TransactionBase.fireRetransmit, ms, this);
  }

  protected startLifetimeTimer(ms: number): void {
    if (this.lifetimeTimer !== undefined) this.ctx.clock.clearTimeout(this.lifetimeTimer);
    this.lifetimeTimer = this.ctx.clock.setTimeout(TransactionBase.fireLifetime, ms, this);
  }

  protected clearRetransmitTimer(): void {
    if (this.retransmitTimer === undefined) return;
    this.ctx.clock.clearTimeout(this.retransmitTimer);
    this.retransmitTimer = undefined;
  }

  protected clearTimers(): void {
    this.clearRetransmitTimer();
    if (this.lifetimeTimer === undefined) return;
    this.ctx.clock.clearTimeout(this.lifetimeTimer);
    this.lifetimeTimer = undefined;
  }

  /** Waits `ms` in the current state before terminating; a zero wait (reliable transports) ends at once. */
  protected linger(ms: number): void {
    if (this.terminated) return;
    if (ms === 0) this.end(undefined);
    else this.startLifetimeTimer(ms);
  }

  protected end(cause: EndCause): void {
    if (this.terminated) return;
    this.state = 'Terminated';
    this.clearTimers();
    this.ctx.removeTransaction(this);
    if (cause === 'timeout') this.ctx.stats.timeouts++;
    else if (cause !== undefined) this.ctx.stats.transportErrors++;
    this.notifyEnd(cause);
    this.held = undefined;
  }

  /** Static dispatchers, so arming a timer allocates no closure. */
  private static fireRetransmit(tx: TransactionBase<string>): void {
    tx.retransmitTimer = undefined;
    if (!tx.terminated) tx.onRetransmitTimer();
  }

  private static fireLifetime(tx: TransactionBase<string>): void {
    tx.lifetimeTimer = undefined;
    if (!tx.terminated) tx.onLifetimeTimer();
  }
}

/** A response a transaction keeps until Timer J, H or its ACK: in memory of its own (see `unpooled`). */
export function kept(sent: SentResponse | undefined): SentResponse | undefined {
  return sent === undefined ? undefined : { ...sent, bytes: unpooled(sent.bytes) };
}
