// Parses one whole SIP message from bytes (RFC 3261 §7, §25). Never throws: the result is a message or a
// structured error. Only the headers every SIP element needs are validated here (Via, From, To, Call-ID,
// CSeq, Content-Length, Max-Forwards); the rest are parsed lazily by whoever reads them.
import { isToken, isWord, parseUnsigned } from './grammar.js';
import { type HeaderField, Headers, headerDisplayName, headerKey } from './headers.js';
import { DEFAULT_LIMITS, type ParseLimits } from './limits.js';
import { type AnySipMessage, SIP_VERSION, SipRequest, SipResponse } from './message.js';
import { type ParseErrorCode, SipParseError } from './parse-error.js';

export type ParseResult = { ok: true; message: AnySipMessage } | { ok: false; error: SipParseError };

/**
 * `datagram`: the body is the rest of the datagram, cut to Content-Length if that is smaller (§18.3).
 * `stream`: Content-Length is mandatory and must match the bytes given (the framer has already cut them).
 */
export type Framing = 'datagram' | 'stream';

const CRLFCRLF = Buffer.from('\r\n\r\n');
const LFLF = Buffer.from('\n\n');
const MANDATORY = ['via', 'from', 'to', 'call-id', 'cseq'] as const;

/** Where the header section ends: `{ headEnd, bodyStart }`, or undefined if there is no blank line. */
export function findHeaderEnd(buf: Buffer, from = 0): { headEnd: number; bodyStart: number } | undefined {
  const i = buf.indexOf(CRLFCRLF, from);
  const j = buf.indexOf(LFLF, from);
  if (i === -1 && j === -1) return undefined;
  if (j === -1 || (i !== -1 && i < j)) return { headEnd: i, bodyStart: i + 4 };
  return { headEnd: j, bodyStart: j + 2 };
}

export function parseMessage(
  buf: Buffer,
  limits: Readonly<ParseLimits> = DEFAULT_LIMITS,
  framing: Framing = 'datagram',
): ParseResult {
  const fail = (
    code: ParseErrorCode,
    reason: string,
    startLine?: 'request' | 'response',
    method?: string,
    headers?: Headers,
    header?: string,
  ): ParseResult => ({
    ok: false,
    error: new SipParseError(code, reason, startLine, method, headers, header),
  });

  if (buf.length > limits.maxMessageBytes) return fail('too-large', 'Message Too Large');

  // §7.5: CRLFs before the start line are ignored.
  let start = 0;
  while (start < buf.length && (buf[start] === 13 || buf[start] === 10)) start++;
  const end = findHeaderEnd(buf, start);
  // A datagram may omit the final blank line when it has no body; tolerate it.
  const headEnd = end === undefined ? buf.length : end.headEnd;
  const bodyStart = end === undefined ? buf.length : end.bodyStart;
  if (end === undefined && framing === 'stream') return fail('bad-start-line', 'Incomplete Message');
  const head = buf.toString('latin1', start, headEnd);

  // Start line.
  let lineEnd = head.indexOf('\n');
  if (lineEnd === -1) lineEnd = head.length;
  const startLine = head.charCodeAt(lineEnd - 1) === 13 ? head.slice(0, lineEnd - 1) : head.slice(0, lineEnd);
  if (startLine.length > limits.maxLineLength) return fail('line-too-long', 'Start Line Too Long');

  let request: { method: string; uri: string; version: string } | undefined;
  let response: { status: number; reason: string; version: string } | undefined;
  if (startLine.startsWith('SIP/') || startLine.startsWith('sip/')) {
    const sp1 = startLine.indexOf(' ');
    const sp2 = sp1 === -1 ? -1 : startLine.indexOf(' ', sp1 + 1);
    const version = sp1 === -1 ? startLine : startLine.slice(0, sp1);
    const code = sp1 === -1 ? '' : startLine.slice(sp1 + 1, sp2 === -1 ? undefined : sp2);
    const status = parseUnsigned(code, 3);
    if (code.length !== 3 || status < 100 || status > 699)
      return fail('bad-status-code', 'Bad Status Code', 'response');
    if (version.toUpperCase() !== SIP_VERSION)
      return fail('bad-version', 'Version Not Supported', 'response');
    response = { status, reason: sp2 === -1 ? '' : startLine.slice(sp2 + 1), version: SIP_VERSION };
  } else {
    // Request-Line = Method SP Request-URI SP SIP-Version: exactly two single spaces.
    const sp1 = startLine.indexOf(' ');
    const sp2 = sp1 === -1 ? -1 : startLine.indexOf(' ', sp1 + 1);
    if (sp1 === -1 || sp2 === -1 || startLine.indexOf(' ', sp2 + 1) !== -1) {
      return fail('bad-start-line', 'Bad Request Line');
    }
    const method = startLine.slice(0, sp1);
    const uri = startLine.slice(sp1 + 1, sp2);
    const version = startLine.slice(sp2 + 1);
    if (!isToken(method)) return fail('bad-start-line', 'Bad Method');
    if (!/^SIP\/[0-9]+\.[0-9]+$/i.test(version)) return fail('bad-start-line', 'Bad Request Line');
    request = { method, uri, version: version.toUpperCase() };
  }
  const kind = request === undefined ? 'response' : 'request';
  const method = request?.method;

  // Header fields, unfolding continuation lines (§7.3.1).
  const fields: HeaderField[] = [];
  const headers = new Headers(fields);
  let pos = lineEnd + 1;
  while (pos < head.length) {
    let nl = head.indexOf('\n', pos);
    if (nl === -1) nl = head.length;
    let line = head.charCodeAt(nl - 1) === 13 ? head.slice(pos, nl - 1) : head.slice(pos, nl);
    pos = nl + 1;
    // Folded continuation: the next line starts with SP or HTAB.
    while (pos < head.length && (head.charCodeAt(pos) === 32 || head.charCodeAt(pos) === 9)) {
      let nl2 = head.indexOf('\n', pos);
      if (nl2 === -1) nl2 = head.length;
      const cont = head.charCodeAt(nl2 - 1) === 13 ? head.slice(pos, nl2 - 1) : head.slice(pos, nl2);
      line = `${line.trimEnd()} ${cont.trim()}`;
      pos = nl2 + 1;
      if (line.length > limits.maxLineLength) break;
    }
    if (line.length > limits.maxLineLength) {
      return fail('line-too-long', 'Header Line Too Long', kind, method, headers);
    }
    if (line.length === 0) continue;
    const colon = line.indexOf(':');
    if (colon <= 0) return fail('bad-header-line', 'Malformed Header Line', kind, method, headers);
    let nameEnd = colon;
    while (nameEnd > 0 && (line.charCodeAt(nameEnd - 1) === 32 || line.charCodeAt(nameEnd - 1) === 9))
      nameEnd--;
    const name = line.slice(0, nameEnd);
    if (!isToken(name)) return fail('bad-header-line', 'Malformed Header Name', kind, method, headers);
    if (fields.length >= limits.maxHeaders)
      return fail('too-many-headers', 'Too Many Headers', kind, method, headers);
    fields.push({ name, key: headerKey(name), value: line.slice(colon + 1).trim() });
  }

  if (request !== undefined && request.version !== SIP_VERSION) {
    return fail('bad-version', 'Version Not Supported', kind, method, headers);
  }

  // Mandatory headers (§8.1.1) and the ones every element relies on.
  for (const key of MANDATORY) {
    if (!headers.has(key))
      return fail('missing-header', `Missing ${headerDisplayName(key)} Header`, kind, method, headers, key);
  }
  const badHeader = (key: string) =>
    fail('bad-header', `Bad ${headerDisplayName(key)} Header`, kind, method, headers, key);
  if (headers.getFields('call-id').length !== 1 || !isWord(headers.get('call-id')!))
    return badHeader('call-id');
  if (headers.getFields('cseq').length !== 1 || headers.getFields('from').length !== 1) {
    return badHeader(headers.getFields('cseq').length !== 1 ? 'cseq' : 'from');
  }
  if (headers.getFields('to').length !== 1) return badHeader('to');

  // Body framing by Content-Length (§18.3, §20.14).
  const clFields = headers.getFields('content-length');
  let body: Buffer;
  const available = buf.length - bodyStart;
  if (clFields.length > 1)
    return fail('bad-content-length', 'Bad Content-Length', kind, method, headers, 'content-length');
  if (clFields.length === 1) {
    const cl = parseUnsigned(clFields[0]!, 10);
    if (cl < 0)
      return fail('bad-content-length', 'Bad Content-Length', kind, method, headers, 'content-length');
    if (cl > available) {
      return fail(
        'body-truncated',
        'Body Shorter Than Content-Length',
        kind,
        method,
        headers,
        'content-length',
      );
    }
    if (framing === 'stream' && cl !== available) {
      return fail('bad-content-length', 'Bad Content-Length', kind, method, headers, 'content-length');
    }
    body = cl === 0 ? Buffer.alloc(0) : buf.subarray(bodyStart, bodyStart + cl);
  } else {
    if (framing === 'stream')
      return fail('missing-header', 'Missing Content-Length Header', kind, method, headers, 'content-length');
    body = buf.subarray(bodyStart);
  }

  const message: AnySipMessage =
    request !== undefined
      ? new SipRequest(request.method, request.uri, headers, body)
      : new SipResponse(response!.status, response!.reason, headers, body);

  const cseq = message.cseq;
  if (cseq === undefined) return badHeader('cseq');
  if (message.via === undefined) return badHeader('via');
  if (message.from === undefined) return badHeader('from');
  if (message.to === undefined) return badHeader('to');
  if (message.kind === 'request') {
    if (message.requestUri === undefined)
      return fail('bad-request-uri', 'Bad Request-URI', kind, method, headers);
    if (cseq.method !== message.method) {
      return fail('cseq-method-mismatch', 'CSeq Method Does Not Match', kind, method, headers, 'cseq');
    }
    if (headers.has('max-forwards') && message.maxForwards === undefined) return badHeader('max-forwards');
  }
  return { ok: true, message };
}
