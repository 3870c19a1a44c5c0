// TCP, TLS and WebSocket with several SIP workers: worker 0 owns every listener and connection (a connection
// cannot be shared between processes, and a client's flow must stay one connection, RFC 5626). A message that
// arrives on a connection is steered to its home worker like a datagram; what that worker sends back over a
// connection (a response on the connection of its request, §18.2.2; a request to a client's flow) is relayed to
// worker 0, which sends it. A failed send comes back, so the asking transaction fails at once (§17.1.4) rather
// than timing out.
import type { Endpoint, SendErrorHandler } from '../sip/transport/types.js';
import { FlowGoneError } from '../sip/transport/websocket.js';

/** The owner's answer when a relayed send failed. */
export interface SendFailed {
  id: number;
  name: string;
  message: string;
  to: Endpoint;
}

/** A relayed send, as the owner reads it from a frame head. */
export interface StreamSend {
  id: number;
  to: Endpoint;
  connectionId?: number;
}

/** How long a relayed send's error callback is kept (a TCP connect times out well within it). */
const PENDING_MS = 30_000;

/** The member's side: sends go to the owner, failures come back by id. */
export class StreamRelayClient {
  private seq = 0;
  private readonly pending = new Map<number, { onError: SendErrorHandler; at: number }>();
  private sweeper: NodeJS.Timeout | undefined;

  constructor(
    /** Sends the frame to worker 0; false when it is down. */
    private readonly toOwner: (head: StreamSend, bytes: Buffer) => boolean,
  ) {}

  send(
    bytes: Buffer,
    to: Endpoint,
    connectionId: number | undefined,
    onError: SendErrorHandler | undefined,
  ): void {
    const id = onError === undefined ? 0 : ++this.seq;
    const head: StreamSend = connectionId === undefined ? { id, to } : { id, to, connectionId };
    if (!this.toOwner(head, bytes)) {
      onError?.(
        new Error(`no ${to.transport.toUpperCase()} here: the worker that owns connections is restarting`),
      );
      return;
    }
    if (onError === undefined) return;
    this.pending.set(id, { onError, at: performance.now() });
    this.sweeper ??= setInterval(() => this.sweep(), PENDING_MS).unref();
  }

  /** The owner's `sendFailed`. */
  failed(f: SendFailed): void {
    const p = this.pending.get(f.id);
    if (p === undefined) return;
    this.pending.delete(f.id);
    const err =
      f.name === 'FlowGoneError'
        ? new FlowGoneError(f.to.transport, f.to.address, f.to.port)
        : new Error(f.message);
    p.onError(err);
  }

  close(): void {
    if (this.sweeper !== undefined) clearInterval(this.sweeper);
    this.pending.clear();
  }

  private sweep(): void {
    const old = performance.now() - PENDING_MS;
    for (const [id, p] of this.pending) if (p.at < old) this.pending.delete(id);
  }
}
