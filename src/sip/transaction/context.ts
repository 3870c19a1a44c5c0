// What a transaction needs from the layer that owns it (internal to the transaction layer).

import type { Clock } from '../../time/clock.js';
import type { SipResponse } from '../message.js';
import type { MessageSender } from '../transport/types.js';
import type { ServerInviteTransaction } from './server-invite.js';
import type { TransactionStats } from './stats.js';
import type { TransactionBase } from './transaction.js';

/**
 * When a server INVITE transaction sends 100 Trying: `immediate` (what a stateful proxy wants, §16.2),
 * `delayed` (after 200 ms unless the TU has responded, §17.2.1), or `never` (the TU does it).
 */
export type TryingPolicy = 'immediate' | 'delayed' | 'never';

/** §17.2.1: "unless it knows that the TU will generate a provisional or final response within 200 ms". */
export const TRYING_DELAY_MS = 200;

export interface TransactionContext {
  readonly sender: MessageSender;
  readonly clock: Clock;
  readonly stats: TransactionStats;
  readonly trying: TryingPolicy;
  /** Called exactly once, when the transaction enters Terminated: drop it from the maps. */
  removeTransaction(tx: TransactionBase<string>): void;
  /** A server INVITE transaction sent a non-2xx final response (RFC 2543 ACK matching needs its To tag). */
  finalResponseSent(tx: ServerInviteTransaction, response: SipResponse): void;
}
