// The transaction layer's public surface (RFC 3261 §17).

export { type Clock, FakeClock, systemClock, type TimerHandle } from '../../time/clock.js';
export { createResponse } from '../build.js';
export { createNon2xxAck } from './ack.js';
export { newBranch } from './branch.js';
export { type ClientInviteState, ClientInviteTransaction } from './client-invite.js';
export { type ClientNonInviteState, ClientNonInviteTransaction } from './client-non-invite.js';
export type { TryingPolicy } from './context.js';
export * from './keys.js';
export { type ServerInviteState, ServerInviteTransaction } from './server-invite.js';
export { type ServerNonInviteState, ServerNonInviteTransaction } from './server-non-invite.js';
export { TransactionStats } from './stats.js';
export { DEFAULT_TIMER_CONFIG, type TimerConfig, type TimerValues, timerValues } from './timers.js';
export type { TransactionKind } from './transaction.js';
export { type ClientStart, TransactionLayer, type TransactionLayerOptions } from './transaction-layer.js';
export type {
  ClientTransaction,
  ClientTransactionUser,
  EndCause,
  ServerTransaction,
  ServerTransactionUser,
  Transaction,
  TransactionCore,
} from './user.js';
