// Counters of the transaction layer: plain numbers, read by the metrics exporter.

export class TransactionStats {
  /** Requests received, by method, retransmissions included. */
  readonly requestsByMethod: Record<string, number> = {};
  /** Retransmitted requests (server side) and responses (client side) absorbed by a transaction. */
  retransmissionsAbsorbed = 0;
  /** Requests retransmitted by client transactions (timers A and E). */
  requestsRetransmitted = 0;
  /** Responses re-sent by server transactions (timer G, or on a request retransmission). */
  responsesRetransmitted = 0;
  /** Timers B, F and H. */
  timeouts = 0;
  transportErrors = 0;
  /** Responses that matched no client transaction. */
  strayResponses = 0;
  /** Transactions currently alive, by kind. */
  activeClientInvite = 0;
  activeClientNonInvite = 0;
  activeServerInvite = 0;
  activeServerNonInvite = 0;
}
