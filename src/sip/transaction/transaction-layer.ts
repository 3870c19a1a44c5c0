// The transaction layer (RFC 3261 §17): creates transactions, indexes them by their matching keys, and routes
// received messages to them (§17.1.3, §17.2.3). What no transaction claims goes up to the core above it (the proxy
// core), which sees only new requests, CANCELs, unmatched ACKs and stray responses.

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
import type { ClientTransaction, ClientTransactionUser, ServerTransaction, TransactionCore } from './user.js';

export interface TransactionLayerOptions {
  sender: MessageSender;
  /** Defaults to real time; tests pass a FakeClock. */
  clock?: Clock;
  /** T1, T2, T4 and Timer D; defaults 500 ms, 4 s, 5 s, 32 s. */
  timers?: Partial<TimerConfig>;
  /** When server INVITE transactions send 100 Trying; default `immediate`, as a stateful proxy does (§16.2). */
  trying?: TryingPolicy;
  /** Where unmatched messages go; may be attached later (`core`). */
  core?: TransactionCore;
}

/** What `createClientTransaction` did: started a transaction, or found one under the same key (§17.1.3). */
export type ClientStart =
  | { readonly kind: 'created'; readonly transaction: ClientTransaction }
  /** The same request to the same next hop again (e.g. a retransmitted CANCEL forwarded twice). */
  | { readonly kind: 'duplicate'; readonly existing: ClientTransaction };

/** Until a core is attached, whatever no transaction absorbs is dropped. */
const NO_CORE: TransactionCore = {
  onRequest: () => {},
  onCancel: () => {},
  onAck: () => {},
  onStrayResponse: () => {},
};

export class TransactionLayer {
  readonly stats = new TransactionStats();
  /** The core above: it gets what no transaction absorbs, and the events of the server transactions. */
  core: TransactionCore;
  private readonly clients = new Map<string, ClientTransaction>();
  /** Keyed by the primary key and, for RFC 2543 INVITEs with a non-2xx, the ACK's key too. */
  private readonly servers = new Map<string, ServerTransaction>();
  private readonly unreliableTimers: TimerValues;
  private readonly reliableTimers: TimerValues;
  private readonly ctx: TransactionContext;

  constructor(options: TransactionLayerOptions) {
    this.core = options.core ?? NO_CORE;
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
   * §18.2.1: "the server transport attempts to match the request to a server transaction. [...] If a matching
   * server transaction is found, the request is passed to that transaction for processing. If no match is found,
   * the request is passed to the core". Retransmissions and ACKs for non-2xx end here; a new request reaches the
   * core with the server transaction already created (§16.2: "A stateful proxy creates a new server transaction
   * for each new request received"), a CANCEL with the INVITE transaction it targets, an unmatched ACK alone.
   */
  receiveRequest(request: SipRequest, source: Source): void {
    this.stats.requestsByMethod[request.method] = (this.stats.requestsByMethod[request.method] ?? 0) + 1;
    // Without a top Via (or, for RFC 2543 matching, From, To, Call-ID or CSeq) nothing can be matched.
    const key = serverKey(request);
    if (key === undefined) return;
    const tx = this.servers.get(key);
    if (request.method === 'ACK') {
      if (tx !== undefined && tx.kind === 'server-invite' && tx.receiveAck()) {
        this.stats.retransmissionsAbsorbed++;
        return;
      }
      // The ACK for a 2xx is end to end (§17.1.1.3), or its transaction is gone. RFC 6026: an INVITE
      // transaction in "Accepted" passes it up.
      this.core.onAck(request, source, tx?.kind === 'server-invite' ? tx : undefined);
      return;
    }
    if (tx !== undefined) {
      // A retransmission over a new TCP connection: answer on the connection the client now uses (§18.2.2).
      tx.source = source;
      this.stats.retransmissionsAbsorbed++;
      tx.receiveRetransmission();
      return;
    }
    // A new request: the core may turn it away before any state is kept for it (overload control, §21.5.4).
    if (request.method !== 'CANCEL' && this.core.admit?.(request, source) === false) return;
    const created = this.createServerTransaction(key, request, source);
    if (created.kind === 'server-non-invite' && request.method === 'CANCEL')
      this.core.onCancel(created, this.findInviteForCancel(request));
    else this.core.onRequest(created);
  }

  /**
   * §18.1.2: "If there is a match, the response MUST be passed to that transaction. Otherwise, the response MUST
   * be passed to the core [...]. Handling of these "stray" responses is dependent on the core (a proxy will
   * forward them, while a UA will discard, for example)."
   */
  receiveResponse(response: SipResponse, source: Source): void {
    const key = clientKeyForResponse(response);
    const tx = key === undefined ? undefined : this.clients.get(key);
    if (tx !== undefined) {
      tx.receiveResponse(response);
      return;
    }
    this.stats.strayResponses++;
    this.core.onStrayResponse(response, source);
  }

  /** The server transaction for a request that matched none; INVITE sends 100 Trying per the `trying` option. */
  private createServerTransaction(key: string, request: SipRequest, source: Source): ServerTransaction {
    const timers = isReliable(source.transport) ? this.reliableTimers : this.unreliableTimers;
    let tx: ServerTransaction;
    if (request.method === 'INVITE') {
      tx = new ServerInviteTransaction(key, request, source, this.ctx, timers, this.core);
      this.stats.activeServerInvite++;
    } else {
      tx = new ServerNonInviteTransaction(key, request, source, this.ctx, timers, this.core);
      this.stats.activeServerNonInvite++;
    }
    this.servers.set(key, tx);
    tx.start();
    return tx;
  }

  /**
   * Creates a client transaction and sends `request` to `to`. The caller has put our Via with a fresh branch
   * (`newBranch()`, or a derived one) on top. A request whose transaction already exists is not sent again
   * (`duplicate`). Throws for an ACK (the ACK for a 2xx is the TU's, for a non-2xx the transaction's) and for a
   * request without a branch: both are the caller's mistakes.
   */
  createClientTransaction(request: SipRequest, to: Endpoint, tu: ClientTransactionUser): ClientStart {
    if (request.method === 'ACK') throw new Error('an ACK is not sent in a client transaction of its own');
    const key = clientKeyForRequest(request);
    if (key === undefined) throw new Error('request has no branch in its top Via');
    const existing = this.clients.get(key);
    if (existing !== undefined) return { kind: 'duplicate', existing };
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
    return { kind: 'created', transaction: tx };
  }

  /**
   * §18.4, §17.1.4: the transport found `to` unreachable after the sends there had returned — an ICMP error on the
   * UDP socket connected to it, a refused, reset or timed-out TCP connection. Every client transaction still waiting
   * for a final response from there fails at once, as if its own send had failed; returns how many.
   */
  transportFailed(to: Endpoint, error: Error): number {
    const address = to.address.toLowerCase();
    const hit: ClientTransaction[] = [];
    for (const tx of this.clients.values()) {
      const t = tx.to;
      if (t.port === to.port && t.transport === to.transport && t.address.toLowerCase() === address)
        hit.push(tx);
    }
    for (const tx of hit) tx.transportFailed(error);
    return hit.length;
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
