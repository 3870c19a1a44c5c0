// The ACK a client INVITE transaction sends for a non-2xx final response (RFC 3261 §17.1.1.3).
import { Headers } from '../headers.js';
import type { SipResponse } from '../message.js';
import { SipRequest } from '../message.js';

export function createNon2xxAck(invite: SipRequest, response: SipResponse): SipRequest {
  const headers = new Headers();
  // "The ACK MUST contain a single Via header field, and this MUST be equal to the top Via header field of the
  // original request."
  const via = invite.headers.first('via');
  if (via !== undefined) headers.append('Via', via);
  // "If the INVITE request whose response is being acknowledged had Route header fields, those header fields
  // MUST appear in the ACK."
  for (const f of invite.headers.fields) {
    if (f.key === 'route') headers.fields.push({ name: f.name, key: f.key, value: f.value });
  }
  // Every request carries Max-Forwards (§8.1.1.6); the INVITE's value is what the next hop expects.
  headers.append('Max-Forwards', invite.headers.get('max-forwards') ?? '70');
  // "values for the Call-ID, From, and Request-URI that are equal to the values of those header fields in the
  // request passed to the transport by the client transaction"
  const from = invite.headers.get('from');
  if (from !== undefined) headers.append('From', from);
  // "The To header field in the ACK MUST equal the To header field in the response being acknowledged"
  const to = response.headers.get('to');
  if (to !== undefined) headers.append('To', to);
  const callId = invite.headers.get('call-id');
  if (callId !== undefined) headers.append('Call-ID', callId);
  // "the same value for the sequence number as was present in the original request, but the method parameter
  // MUST be equal to "ACK""
  const cseq = invite.cseq;
  if (cseq !== undefined) headers.append('CSeq', `${cseq.seq} ACK`);
  return new SipRequest('ACK', invite.uri, headers);
}
