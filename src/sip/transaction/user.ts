// What a transaction tells its transaction user (TU: the proxy core, a UA core). Callbacks receive the
// transaction so one TU object can serve many transactions without a closure per transaction.
import type { SipRequest, SipResponse } from '../message.js';
import type { Source } from '../transport/types.js';
import type { ClientInviteTransaction } from './client-invite.js';
import type { ClientNonInviteTransaction } from './client-non-invite.js';
import type { ServerInviteTransaction } from './server-invite.js';
import type { ServerNonInviteTransaction } from './server-non-invite.js';

export type ClientTransaction = ClientInviteTransaction | ClientNonInviteTransaction;
export type ServerTransaction = ServerInviteTransaction | ServerNonInviteTransaction;
export type Transaction = ClientTransaction | ServerTransaction;

/** Why a transaction ended: normally, a timeout (B, F, H), or a transport error (§17.1.4, §17.2.4). */
export type EndCause = 'timeout' | Error | undefined;

interface TransactionUserEvents<T> {
  onTimeout?(tx: T): void;
  onTransportError?(error: Error, tx: T): void;
  /** Last call for this transaction: it has left the layer's maps. */
  onTerminated?(tx: T): void;
}

export interface ClientTransactionUser extends TransactionUserEvents<ClientTransaction> {
  /**
   * Provisional and final responses. Retransmitted non-2xx finals are absorbed; every 2xx to an INVITE is
   * passed up (RFC 6026), since the TU acknowledges and forwards 2xx end to end.
   */
  onResponse(response: SipResponse, tx: ClientTransaction): void;
  /** Timer B or F fired without a final response: the TU acts as if it had received a 408 (§8.1.3.1, §16.7). */
  onTimeout(tx: ClientTransaction): void;
  /** The transport could not send: the TU acts as if it had received a 503 (§8.1.3.1, §16.7). */
  onTransportError(error: Error, tx: ClientTransaction): void;
}

/** How a server transaction's life ends; the requests themselves reach the core (below), so every event is optional. */
export interface ServerTransactionUser extends TransactionUserEvents<ServerTransaction> {
  /** Timer H fired: the ACK for a non-2xx final response never arrived (§17.2.1). */
  onTimeout?(tx: ServerTransaction): void;
}

/**
 * The core above the transaction layer (a proxy core, a UA core). It hears only what no transaction absorbed
 * (§18.2.1, §18.1.2), and the life events of the server transactions the layer creates for it.
 */
export interface TransactionCore extends ServerTransactionUser {
  /**
   * A new request other than ACK and CANCEL, before any transaction is created for it. False: the core has
   * answered it without state (an overloaded server's 503, RFC 3261 §21.5.4) and the layer keeps nothing, so a
   * retransmission asks again. Absent: every request is admitted.
   */
  admit?(request: SipRequest, source: Source): boolean;
  /** A new request other than ACK and CANCEL, in the server transaction just created for it. */
  onRequest(tx: ServerTransaction): void;
  /**
   * A new CANCEL, in a server transaction of its own (§9.2), with the INVITE server transaction it targets if
   * that still exists.
   */
  onCancel(tx: ServerNonInviteTransaction, invite: ServerInviteTransaction | undefined): void;
  /**
   * An ACK no transaction absorbed: the ACK for a 2xx, which is end to end (§17.1.1.3), or one whose transaction
   * is gone. `accepted` is the INVITE transaction in "Accepted" it matched, if any (RFC 6026).
   */
  onAck(ack: SipRequest, source: Source, accepted: ServerInviteTransaction | undefined): void;
  /** A response that matched no client transaction: "stray" (§18.1.2); a proxy forwards it (§16.7). */
  onStrayResponse(response: SipResponse, source: Source): void;
}

export function notifyEnd<T>(tu: TransactionUserEvents<T>, tx: T, cause: EndCause): void {
  if (cause === 'timeout') tu.onTimeout?.(tx);
  else if (cause !== undefined) tu.onTransportError?.(cause, tx);
  tu.onTerminated?.(tx);
}
