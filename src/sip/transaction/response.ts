// Building a response from a request (RFC 3261 §8.2.6.2), as the transaction layer's 100 Trying needs.
import { Headers } from '../headers.js';
import type { SipRequest } from '../message.js';
import { SipResponse } from '../message.js';

/**
 * A response with the request's Via fields (in order), From, To, Call-ID and CSeq; for 100 Trying also its
 * Timestamp (§8.2.6.1). No To tag is added: the caller adds one to responses other than 100 (§8.2.6.2).
 */
export function createResponse(request: SipRequest, status: number, reason: string): SipResponse {
  const headers = new Headers();
  for (const f of request.headers.fields) {
    switch (f.key) {
      case 'via':
      case 'from':
      case 'to':
      case 'call-id':
      case 'cseq':
        headers.fields.push({ name: f.name, key: f.key, value: f.value });
        break;
      case 'timestamp':
        if (status === 100) headers.fields.push({ name: f.name, key: f.key, value: f.value });
        break;
    }
  }
  return new SipResponse(status, reason, headers);
}
