// CSeq (RFC 3261 §20.16): a 32-bit sequence number below 2**31 and the method.
import { isToken, parseUnsigned } from './grammar.js';

export interface CSeq {
  seq: number;
  method: string;
}

export const MAX_CSEQ = 2 ** 31 - 1;

export function parseCSeq(text: string): CSeq | undefined {
  const s = text.trim();
  const sp = s.search(/\s/);
  if (sp === -1) return undefined;
  const seq = parseUnsigned(s.slice(0, sp), 10);
  const method = s.slice(sp).trim();
  if (seq < 0 || seq > MAX_CSEQ || !isToken(method)) return undefined;
  return { seq, method };
}
