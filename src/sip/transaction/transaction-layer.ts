// The transaction layer (RFC 3261 §17): creates transactions, indexes them by their matching keys, and routes
// received messages to them. What no transaction claims goes back to the caller (the proxy core) to decide.

import { type Clock, systemClock } from '../../time/clock.js';
import type { SipRequest, SipResponse } from '../message.js';
import { type Endpoint, isReliable, type MessageSender, type Source } from '../transport/types.js';
import { ClientInviteTransaction } from './client-invite.js';
import { ClientNonInviteTransaction } from './client-non-invite.js';
import type { TransactionContext, TryingPolicy } from './context.js';
import {
  clientKeyForRequest,
  clientKeyForResponse,
  inviteKeyForCancel,
  rfc2543AckKey,
  serverKey,
} from './keys.js';
import { ServerInviteTransaction } from './server-invite.js';
import { ServerNonInviteTransaction } from './server-non-invite.js';
import { TransactionStats } from './stats.js';
import { resolveTimerConfig, type TimerConfig, type TimerValues, timerValues } from './timers.js';
import type { TransactionBase } from './transaction.js';
import type {
  ClientTransaction,
  ClientTransactionUser,
  ServerTransaction,
  ServerTransactionUser,
} from './user.js';

export interface TransactionLayerOptions {
  sender: MessageSender;
  /** Defaults to real time; tests pass a FakeClock. */
  clock?: Clock;
  /** T1, T2, T4 and Timer D; defaults 500 ms, 4 s, 5 s, 32 s. */
  timers?: Partial<TimerConfig>;
  /** When server INVITE transactions send 100 Trying; default `immediate`, as a stateful proxy does (§16.2). */
  trying?: TryingPolicy;
}

/** What `receiveRequest` found. */
export type RequestMatch =
  /** No transaction: the caller creates a server transaction (never for an ACK) or handles it statelessly. */
  | { readonly kind: 'new' }
  /** A retransmission (or the ACK for a non-2xx) that a server transaction handled. Nothing more to do. */
  | { readonly kind: 'absorbed'; readonly transaction: ServerTransaction }
  /**
   * An ACK no transaction absorbs: the ACK for a 2xx, which is end to end (§17.1.1.3), or one whose
   * transaction is gone. `transaction` is the INVITE transaction in "Accepted" it matched, if any (RFC 6026).
   */
  | { readonly kind: 'ack'; readonly transaction: ServerInviteTransaction | undefined }
  /** No top Via (or, for RFC 2543 matching, no From, To, Call-ID or CSeq): the request cannot be matched. */
  | { readonly kind: 'invalid' };

/** What `receiveResponse` found. */
export type ResponseMatch =
  | { readonly kind: 'matched'; readonly transaction: ClientTransaction }
  /**
   * No client transaction: a proxy forwards it statelessly (§16.7 step 2; after an HA takeover this carries
   * the calls the other node started), anything else drops it (RFC 6026's update to §18.1.2).
   */
  | { readonly kind: 'stray' };

const NEW: RequestMatch = Object.freeze({ kind: 'new' });
const INVALID: RequestMatch = Object.freeze({ kind: 'invalid' });
const ACK_UNMATCHED: RequestMatch = Object.freeze({ kind: 'ack', transaction: undefined });
const STRAY: ResponseMatch = Object.freeze({ kind: 'stray' });

export class TransactionLayer {
  readonly stats = new TransactionStats();
  private readonly clients = new Map<string, ClientTransaction>();
  /** Keyed by the primary key and, for RFC 2543 INVITEs with a non-2xx, the ACK's key too. */
  private readonly servers = new Map<string, ServerTransaction>();
  private readonly unreliableTimers: TimerValues;
  private readonly reliableTimers: TimerValues;
  private readonly ctx: TransactionContext;

  constructor(options: TransactionLayerOptions) {
    const config = resolveTimerConfig(options.timers);
    this.unreliableTimers = timerValues(config, false);
    this.reliableTimers = timerValues(config, true);
    const clients = this.clients;
    const servers = this.servers;
    const stats = this.stats;
    this.ctx = {
      sender: options.sender,
      clock: options.clock ?? systemClock,
      stats,
      trying: options.trying ?? 'immediate',
      removeTransaction(tx: TransactionBase<string>): void {
        const map: Map<string, TransactionBase<string>> = tx.kind === 'client-invite' ||
        tx.kind === 'client-non-invite'
          ? clients
          : servers;
        if (map.get(tx.key) === tx) map.delete(tx.key);
        if (tx.aliasKey !== undefined && map.get(tx.aliasKey) === tx) map.delete(tx.aliasKey);
        if (tx.kind === 'client-invite') stats.activeClientInvite--;
        else if (tx.kind === 'client-non-invite') stats.activeClientNonInvite--;
        else if (tx.kind === 'server-invite') stats.activeServerInvite--;
        else stats.activeServerNonInvite--;
      },
      finalResponseSent(tx: ServerInviteTransaction, response: SipResponse): void {
        const key = rfc2543AckKey(tx.request, response);
        if (key === undefined || servers.has(key)) return;
        tx.aliasKey = key;
        servers.set(key, tx);
      },
    };
  }

  /**
   * Matches a received request to a server transaction (§17.2.3). Retransmissions and ACKs for non-2xx are
   * handled here; see `RequestMatch` for the rest.
   */
  receiveRequest(request: SipRequest, source?: Source): RequestMatch {
    const key = serverKey(request);
    if (key === undefined) return INVALID;
    const tx = this.servers.get(key);
    if (request.method === 'ACK') {
      if (tx === undefined || tx.kind !== 'server-invite') return ACK_UNMATCHED;
      if (!tx.receiveAck()) return { kind: 'ack', transaction: tx };
      this.stats.retransmissionsAbsorbed++;
      return { kind: 'absorbed', transaction: tx };
    }
    if (tx === undefined) return NEW;
    // A retransmission over a new TCP connection: answer on the connection the client now uses (§18.2.2).
    if (source !== undefined) tx.source = source;
    this.stats.retransmissionsAbsorbed++;
    tx.receiveRetransmission();
    return { kind: 'absorbed', transaction: tx };
  }

  /** Matches a received response to a client transaction (§17.1.3) and hands it over, or reports it stray. */
  receiveResponse(response: SipResponse): ResponseMatch {
    const key = clientKeyForResponse(response);
    const tx = key === undefined ? undefined : this.clients.get(key);
    if (tx === undefined) {
      this.stats.strayResponses++;
      return STRAY;
    }
    tx.receiveResponse(response);
    return { kind: 'matched', transaction: tx };
  }

  /**
   * Creates the server transaction for a request `receiveRequest` reported as new, and (for INVITE) sends
   * 100 Trying per the `trying` option. Throws for an ACK, an unmatchable request, or a duplicate.
   */
  createServerTransaction(request: SipRequest, source: Source, tu: ServerTransactionUser): ServerTransaction {
    if (request.method === 'ACK') throw new Error('an ACK never creates a server transaction (§17.2.3)');
    const key = serverKey(request);
    if (key === undefined) throw new Error('request lacks the headers transaction matching needs');
    if (this.servers.has(key)) throw new Error(`a server transaction already exists for ${key}`);
    const timers = isReliable(source.transport) ? this.reliableTimers : this.unreliableTimers;
    let tx: ServerTransaction;
    if (request.method === 'INVITE') {
      tx = new ServerInviteTransaction(key, request, source, this.ctx, timers, tu);
      this.stats.activeServerInvite++;
    } else {
      tx = new ServerNonInviteTransaction(key, request, source, this.ctx, timers, tu);
      this.stats.activeServerNonInvite++;
    }
    this.servers.set(key, tx);
    tx.start();
    return tx;
  }

  /**
   * Creates a client transaction and sends `request` to `to`. The caller has put our Via with a fresh branch
   * (`newBranch()`) on top. Throws for an ACK (the ACK for a 2xx is the TU's, for a non-2xx the transaction's),
   * a request without a branch, or a duplicate.
   */
  createClientTransaction(request: SipRequest, to: Endpoint, tu: ClientTransactionUser): ClientTransaction {
    if (request.method === 'ACK') throw new Error('an ACK is not sent in a client transaction of its own');
    const key = clientKeyForRequest(request);
    if (key === undefined) throw new Error('request has no branch in its top Via');
    if (this.clients.has(key)) throw new Error(`a client transaction already exists for ${key}`);
    const timers = isReliable(to.transport) ? this.reliableTimers : this.unreliableTimers;
    let tx: ClientTransaction;
    if (request.method === 'INVITE') {
      tx = new ClientInviteTransaction(key, request, to, this.ctx, timers, tu);
      this.stats.activeClientInvite++;
    } else {
      tx = new ClientNonInviteTransaction(key, request, to, this.ctx, timers, tu);
      this.stats.activeClientNonInvite++;
    }
    this.clients.set(key, tx);
    tx.start();
    return tx;
  }

  /** The INVITE server transaction a CANCEL targets (§9.2, §16.10), whatever its state, if it still exists. */
  findInviteForCancel(cancel: SipRequest): ServerInviteTransaction | undefined {
    const key = inviteKeyForCancel(cancel);
    const tx = key === undefined ? undefined : this.servers.get(key);
    return tx?.kind === 'server-invite' ? tx : undefined;
  }

  /** The server transaction a request belongs to, without side effects. */
  findServerTransaction(request: SipRequest): ServerTransaction | undefined {
    const key = serverKey(request);
    return key === undefined ? undefined : this.servers.get(key);
  }

  /** The client transaction a response belongs to, without side effects. */
  findClientTransaction(response: SipResponse): ClientTransaction | undefined {
    const key = clientKeyForResponse(response);
    return key === undefined ? undefined : this.clients.get(key);
  }

  /** Entries in the matching maps (aliases included): zero once every transaction has terminated. */
  get size(): number {
    return this.clients.size + this.servers.size;
  }

  /** Drops every transaction and its timers without telling the TUs (shutdown, or losing the VIP). */
  close(): void {
    for (const tx of this.clients.values()) tx.dispose();
    for (const tx of this.servers.values()) tx.dispose();
    this.clients.clear();
    this.servers.clear();
    this.stats.activeClientInvite = 0;
    this.stats.activeClientNonInvite = 0;
    this.stats.activeServerInvite = 0;
    this.stats.activeServerNonInvite = 0;
  }
}
