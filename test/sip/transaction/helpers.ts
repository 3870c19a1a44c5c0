// Shared fixtures for the transaction tests: messages, a recording MessageSender (the boundary between our
// transport and transaction layers) and recording TUs, all on a FakeClock.
import assert from 'node:assert/strict';
import { createResponse } from '../../../src/sip/build.js';
import type { SipRequest, SipResponse } from '../../../src/sip/message.js';
import { parseMessage } from '../../../src/sip/parser.js';
import {
  TransactionLayer,
  type TransactionLayerOptions,
} from '../../../src/sip/transaction/transaction-layer.js';
import type {
  ClientTransaction,
  ClientTransactionUser,
  ServerTransaction,
  ServerTransactionUser,
} from '../../../src/sip/transaction/user.js';
import type { Endpoint, MessageSender, SendErrorHandler, Source } from '../../../src/sip/transport/types.js';
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
  /** When set, every send reports this error synchronously. */
  failWith: Error | undefined;

  constructor(private readonly clock: Clock) {}

  sendRequest(request: SipRequest, to: Endpoint, onError?: SendErrorHandler): void {
    this.record(request, to, onError);
  }

  sendResponse(response: SipResponse, source: Source, onError?: SendErrorHandler): void {
    this.record(response, source, onError);
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

export class RecordingServerTU implements ServerTransactionUser {
  readonly events: string[] = [];
  constructor(private readonly clock: Clock) {}
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
  const layer = new TransactionLayer({ sender, clock, ...options });
  return {
    clock,
    sender,
    layer,
    clientTU: new RecordingClientTU(clock),
    serverTU: new RecordingServerTU(clock),
  };
}

/** Asserts that nothing is left: no map entries, no active transactions, no pending timers. */
export function assertEmpty(layer: TransactionLayer, clock: FakeClock): void {
  assert.equal(layer.size, 0, 'maps are empty');
  assert.equal(layer.stats.activeClientInvite, 0);
  assert.equal(layer.stats.activeClientNonInvite, 0);
  assert.equal(layer.stats.activeServerInvite, 0);
  assert.equal(layer.stats.activeServerNonInvite, 0);
  assert.equal(clock.pendingTimers, 0, 'no timers left');
}
