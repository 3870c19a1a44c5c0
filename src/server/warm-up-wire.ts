// The in-memory wire under the warm-up's throwaway stack: a MessageSender that serializes what the proxy sends, as
// the transport layer does, and queues the bytes instead of writing them to a socket. Nothing is delivered from
// inside a send: the warm-up drains the queue itself, so no layer is re-entered while it is still sending.
import type { SipRequest, SipResponse } from '../sip/message.js';
import { serializeMessage } from '../sip/serializer.js';
import { responseTarget } from '../sip/transport/response-target.js';
import type { Endpoint, MessageSender, SentResponse, Source } from '../sip/transport/types.js';

export interface WirePacket {
  bytes: Buffer;
  to: Endpoint;
}

export class WarmUpWire implements MessageSender {
  private queue: WirePacket[] = [];

  sendRequest(request: SipRequest, to: Endpoint): void {
    this.queue.push({ bytes: serializeMessage(request), to });
  }

  sendResponse(response: SipResponse, source: Source): SentResponse | undefined {
    const via = response.via;
    if (via === undefined) return undefined;
    const { connectionId: _, ...target } = responseTarget(via, source);
    const bytes = serializeMessage(response);
    this.queue.push({ bytes, to: target });
    return { status: response.status, bytes, target };
  }

  resendResponse(sent: SentResponse): void {
    this.queue.push({ bytes: sent.bytes, to: sent.target });
  }

  /** What was sent since the last call, oldest first. */
  take(): WirePacket[] {
    const out = this.queue;
    this.queue = [];
    return out;
  }
}
