// Building messages we originate: responses to requests (§8.2.6), tags, Call-IDs.
import { randomBytes } from 'node:crypto';
import { Headers } from './headers.js';
import { type SipRequest, SipResponse } from './message.js';
import { parseNameAddr } from './name-addr.js';
import { reasonPhrase } from './reasons.js';

/** A random token for To/From tags and Call-IDs (≥ 32 bits of randomness, §19.3). */
export function randomToken(bytes = 8): string {
  return randomBytes(bytes).toString('hex');
}

/**
 * §8.2.6.2: the response copies From, Call-ID, CSeq and all Via values of the request; To too, with a tag added
 * when the request had none and the response is not a 100 (a 100 also copies Timestamp, §8.2.6.1).
 */
export function createResponse(
  request: Pick<SipRequest, 'headers'>,
  status: number,
  reason = reasonPhrase(status),
  toTag?: string,
): SipResponse {
  const h = new Headers();
  for (const f of request.headers.fields) {
    if (
      f.key === 'via' ||
      f.key === 'from' ||
      f.key === 'call-id' ||
      f.key === 'cseq' ||
      (f.key === 'timestamp' && status === 100)
    ) {
      h.fields.push({ name: f.name, key: f.key, value: f.value });
    } else if (f.key === 'to') {
      let value = f.value;
      if (status > 100) {
        const to = parseNameAddr(value);
        if (to !== undefined && to.tag === undefined) value = `${value};tag=${toTag ?? randomToken()}`;
      }
      h.fields.push({ name: f.name, key: f.key, value });
    }
  }
  return new SipResponse(status, reason, h);
}
