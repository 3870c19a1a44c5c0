// Shared fixtures for the transaction tests: messages, a recording MessageSender (the boundary between our
// transport and transaction layers), a recording client TU and a recording core above the layer, all on a
// FakeClock.
import assert from 'node:assert/strict';
import { createResponse } from '../../../src/sip/build.js';
import type { SipRequest, SipResponse } from '../../../src/sip/message.js';
import { parseMessage } from '../../../src/sip/parser.js';
import { serializeMessage } from '../../../src/sip/serializer.js';
import type { ServerInviteTransaction } from '../../../src/sip/transaction/server-invite.js';
import type { ServerNonInviteTransaction } from '../../../src/sip/transaction/server-non-invite.js';
import {
  TransactionLayer,
  type TransactionLayerOptions,
} from '../../../src/sip/transaction/transaction-layer.js';
import type {
  ClientTransaction,
  ClientTransactionUser,
  ServerTransaction,
  TransactionCore,
} from '../../../src/sip/transaction/user.js';
import type {
  Endpoint,
  MessageSender,
  SendErrorHandler,
  SentResponse,
  Source,
} from '../../../src/sip/transport/types.js';
import type { Clock } from '../../../src/time/clock.js';
import { FakeClock } from '../../../src/time/clock.js';

export const UDP_NEXT_HOP: Endpoint = { transport: 'udp', address: '192.0.2.10', port: 5060 };
export const TCP_NEXT_HOP: Endpoint = { transport: 'tcp', address: '192.0.2.10', port: 5060 };
export const UDP_SOURCE: Source = {
  transport: 'udp',
  address: '198.51.100.100',
  port: 5060,
  localAddress: '198.51.100.10',
  localPort: 5060,
};
export const TCP_SOURCE: Source = { ...UDP_SOURCE, transport: 'tcp', connectionId: 7 };

export interface RequestSpec {
  method: string;
  uri?: string;
  /** Empty string: a Via without a branch parameter (RFC 2543). */
  branch?: string;
  sentBy?: string;
  transport?: string;
  fromTag?: string;
  toTag?: string;
  callId?: string;
  cseq?: number;
  cseqMethod?: string;
  routes?: string[];
}

/** A request as a UA would put it on the wire, parsed by our own parser. */
export function makeRequest(spec: RequestSpec): SipRequest {
  const branch = spec.branch ?? 'z9hG4bK-test-1';
  const lines = [
    `${spec.method} ${spec.uri ?? 'sip:bob@example.test'} SIP/2.0`,
    `Via: SIP/2.0/${spec.transport ?? 'UDP'} ${spec.sentBy ?? '198.51.100.100:5060'}${branch === '' ? '' : `;branch=${branch}`};rport`,
    'Via: SIP/2.0/UDP 192.0.2.99:5060;branch=z9hG4bK-deeper',
    'Max-Forwards: 69',
    ...(spec.routes ?? []).map((r) => `Route: ${r}`),
    `From: Alice <sip:alice@example.test>;tag=${spec.fromTag ?? 'from-1'}`,
    `To: Bob <sip:bob@example.test>${spec.toTag === undefined ? '' : `;tag=${spec.toTag}`}`,
    `Call-ID: ${spec.callId ?? 'call-1@example.test'}`,
    `CSeq: ${spec.cseq ?? 1} ${spec.cseqMethod ?? spec.method}`,
    'Content-Length: 0',
    '',
    '',
  ];
  const parsed = parseMessage(Buffer.from(lines.join('\r\n')));
  assert.ok(parsed.ok, 'fixture parses');
  assert.equal(parsed.message.kind, 'request');
  return parsed.message as SipRequest;
}

/** A response to `request`, with a To tag unless it is a 100. */
export function makeResponse(
  request: SipRequest,
  status: number,
  reason: string,
  toTag?: string,
): SipResponse {
  const response = createResponse(request, status, reason);
  if (toTag !== undefined) response.headers.set('To', `${request.headers.get('to')};tag=${toTag}`);
  return response;
}

export interface Sent {
  at: number;
  message: SipRequest | SipResponse;
  to: Endpoint | Source;
}

export class RecordingSender implements MessageSender {
  readonly sent: Sent[] = [];
  /** The bytes of every re-sent response, as the transaction handed them back. */
  readonly resent: Buffer[] = [];
  /** When set, every send reports this error synchronously. */
  failWith: Error | undefined;

  constructor(private readonly clock: Clock) {}

  sendRequest(request: SipRequest, to: Endpoint, onError?: SendErrorHandler): void {
    this.record(request, to, onError);
  }

  sendResponse(response: SipResponse, source: Source, onError?: SendErrorHandler): SentResponse {
    this.record(response, source, onError);
    return { status: response.status, bytes: serializeMessage(response), target: source };
  }

  /** A re-sent response is recorded as what its bytes parse back to: the very bytes of the first send. */
  resendResponse(sent: SentResponse, source: Source, onError?: SendErrorHandler): void {
    this.resent.push(sent.bytes);
    const parsed = parseMessage(sent.bytes);
    assert.ok(parsed.ok && parsed.message.kind === 'response', 'a re-sent response parses back');
    this.record(parsed.message, source, onError);
  }

  private record(message: SipRequest | SipResponse, to: Endpoint | Source, onError?: SendErrorHandler): void {
    this.sent.push({ at: this.clock.now(), message, to });
    if (this.failWith !== undefined) onError?.(this.failWith);
  }

  requests(method?: string): Sent[] {
    return this.sent.filter(
      (s) => s.message.kind === 'request' && (method === undefined || s.message.method === method),
    );
  }

  responses(status?: number): Sent[] {
    return this.sent.filter(
      (s) => s.message.kind === 'response' && (status === undefined || s.message.status === status),
    );
  }

  times(list: Sent[]): number[] {
    return list.map((s) => s.at);
  }
}

/** Records what a client TU hears, with the fake time of each event. */
export class RecordingClientTU implements ClientTransactionUser {
  readonly events: string[] = [];
  readonly responses: SipResponse[] = [];
  constructor(private readonly clock: Clock) {}
  onResponse(response: SipResponse, _tx: ClientTransaction): void {
    this.responses.push(response);
    this.events.push(`response ${response.status}@${this.clock.now()}`);
  }
  onTimeout(_tx: ClientTransaction): void {
    this.events.push(`timeout@${this.clock.now()}`);
  }
  onTransportError(error: Error, _tx: ClientTransaction): void {
    this.events.push(`transport-error ${error.message}@${this.clock.now()}`);
  }
  onTerminated(_tx: ClientTransaction): void {
    this.events.push(`terminated@${this.clock.now()}`);
  }
}

/** What the layer handed up to the core. */
export type HandedUp =
  | { kind: 'request'; tx: ServerTransaction }
  | { kind: 'cancel'; tx: ServerNonInviteTransaction; invite: ServerInviteTransaction | undefined }
  | { kind: 'ack'; ack: SipRequest; accepted: ServerInviteTransaction | undefined }
  | { kind: 'stray'; response: SipResponse };

/** The core above the layer: records what it is handed and the server transactions' events. */
export class RecordingServerTU implements TransactionCore {
  /** Server transaction events, with the fake time of each. */
  readonly events: string[] = [];
  readonly handed: HandedUp[] = [];
  constructor(private readonly clock: Clock) {}
  onRequest(tx: ServerTransaction): void {
    this.handed.push({ kind: 'request', tx });
  }
  onCancel(tx: ServerNonInviteTransaction, invite: ServerInviteTransaction | undefined): void {
    this.handed.push({ kind: 'cancel', tx, invite });
  }
  onAck(ack: SipRequest, _source: Source, accepted: ServerInviteTransaction | undefined): void {
    this.handed.push({ kind: 'ack', ack, accepted });
  }
  onStrayResponse(response: SipResponse): void {
    this.handed.push({ kind: 'stray', response });
  }
  onTimeout(_tx: ServerTransaction): void {
    this.events.push(`timeout@${this.clock.now()}`);
  }
  onTransportError(error: Error, _tx: ServerTransaction): void {
    this.events.push(`transport-error ${error.message}@${this.clock.now()}`);
  }
  onTerminated(_tx: ServerTransaction): void {
    this.events.push(`terminated@${this.clock.now()}`);
  }
}

export function setup(options: Partial<TransactionLayerOptions> = {}) {
  const clock = new FakeClock();
  const sender = new RecordingSender(clock);
  const serverTU = new RecordingServerTU(clock);
  const layer = new TransactionLayer({ sender, clock, core: serverTU, ...options });
  return { clock, sender, layer, clientTU: new RecordingClientTU(clock), serverTU };
}

type Env = ReturnType<typeof setup>;

/**
 * Feeds a request to the layer and says what became of it: handed up to the core (`request`, `cancel`, `ack`),
 * `absorbed` by a transaction, or `dropped` as unmatchable.
 */
export function receive(
  env: Env,
  request: SipRequest,
  source: Source = UDP_SOURCE,
): HandedUp['kind'] | 'absorbed' | 'dropped' {
  const handed = env.serverTU.handed.length;
  const absorbed = env.layer.stats.retransmissionsAbsorbed;
  env.layer.receiveRequest(request, source);
  const got = env.serverTU.handed[handed];
  if (got !== undefined) return got.kind;
  return env.layer.stats.retransmissionsAbsorbed > absorbed ? 'absorbed' : 'dropped';
}

/** Feeds a new request to the layer and returns the server transaction the core was handed with it. */
export function receiveNew(env: Env, request: SipRequest, source: Source = UDP_SOURCE): ServerTransaction {
  const handed = env.serverTU.handed.length;
  env.layer.receiveRequest(request, source);
  const got = env.serverTU.handed[handed];
  assert.ok(
    got?.kind === 'request' || got?.kind === 'cancel',
    `a new request, not ${got?.kind ?? 'nothing'}`,
  );
  return got.tx;
}

/** Where responses come from in these tests: the next hop. */
export const NEXT_HOP_SOURCE: Source = { ...UDP_SOURCE, ...UDP_NEXT_HOP };

/** Feeds a response to the layer as if it came from the next hop. */
export function deliver(layer: TransactionLayer, response: SipResponse): void {
  layer.receiveResponse(response, NEXT_HOP_SOURCE);
}

/** Starts a client transaction that must be new. */
export function startClient(
  layer: TransactionLayer,
  request: SipRequest,
  to: Endpoint,
  tu: ClientTransactionUser,
): ClientTransaction {
  const started = layer.createClientTransaction(request, to, tu);
  if (started.kind !== 'created') assert.fail('a client transaction for this request exists already');
  return started.transaction;
}

/** Asserts that nothing is left: no map entries, no active transactions, no pending timers. */ export function assertEmpty(
  layer: TransactionLayer,
  clock: FakeClock,
): void {
  assert.equal(layer.size, 0, 'maps are empty');
  assert.equal(layer.stats.activeClientInvite, 0);
  assert.equal(layer.stats.activeClientNonInvite, 0);
  assert.equal(layer.stats.activeServerInvite, 0);
  assert.equal(layer.stats.activeServerNonInvite, 0);
  assert.equal(clock.pendingTimers, 0, 'no timers left');
}
