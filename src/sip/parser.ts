// Parses one whole SIP message from bytes (RFC 3261 §7, §25). Never throws: the result is a message or a
// structured error. Only the headers every SIP element needs are validated here (Via, From, To, Call-ID,
// CSeq, Content-Length, Max-Forwards); the rest are parsed lazily by whoever reads them.
import { hasEmptyElement, isToken, isWord, parseUnsigned } from './grammar.js';
import { commonHeaderKey, type HeaderField, Headers, headerDisplayName, headerKey } from './headers.js';
import { DEFAULT_LIMITS, type ParseLimits } from './limits.js';
import { type AnySipMessage, SIP_VERSION, SipRequest, SipResponse } from './message.js';
import { type ParseErrorCode, SipParseError } from './parse-error.js';

export type ParseResult = { ok: true; message: AnySipMessage } | { ok: false; error: SipParseError };

/**
 * `datagram`: the body is the rest of the datagram, cut to Content-Length if that is smaller (§18.3).
 * `stream`: Content-Length is mandatory and must match the bytes given (the framer has already cut them).
 */
export type Framing = 'datagram' | 'stream';

const EMPTY_BODY = Buffer.alloc(0);

/**
 * Where the header section ends: `{ headEnd, bodyStart }`, or undefined if there is no blank line. Accepts CRLF and
 * bare-LF line ends; scans line by line so a body is never searched.
 */
export function findHeaderEnd(buf: Buffer, from = 0): { headEnd: number; bodyStart: number } | undefined {
  let nl = buf.indexOf(10, from);
  while (nl !== -1) {
    const next = buf[nl + 1];
    if (next === 10) return { headEnd: buf[nl - 1] === 13 ? nl - 1 : nl, bodyStart: nl + 2 };
    if (next === 13 && buf[nl + 2] === 10)
      return { headEnd: buf[nl - 1] === 13 ? nl - 1 : nl, bodyStart: nl + 3 };
    nl = buf.indexOf(10, nl + 1);
  }
  return undefined;
}

function failure(
  code: ParseErrorCode,
  reason: string,
  startLine?: 'request' | 'response',
  method?: string,
  headers?: Headers,
  header?: string,
): ParseResult {
  return { ok: false, error: new SipParseError(code, reason, startLine, method, headers, header) };
}

function badHeader(
  key: string,
  kind: 'request' | 'response',
  method: string | undefined,
  headers: Headers,
): ParseResult {
  return failure('bad-header', `Bad ${headerDisplayName(key)} Header`, kind, method, headers, key);
}

// Occurrence counters for the headers that must appear exactly once (or at most once).
const VIA = 0;
const FROM = 1;
const TO = 2;
const CALL_ID = 3;
const CSEQ = 4;
const CONTENT_LENGTH = 5;
/** The headers counted while parsing (the mandatory ones and Content-Length), by canonical key. */
const COUNTED: ReadonlyMap<string, number> = new Map([
  ['via', VIA],
  ['from', FROM],
  ['to', TO],
  ['call-id', CALL_ID],
  ['cseq', CSEQ],
  ['content-length', CONTENT_LENGTH],
]);
const COUNTED_KEYS = ['via', 'from', 'to', 'call-id', 'cseq', 'content-length'];

export function parseMessage(
  buf: Buffer,
  limits: Readonly<ParseLimits> = DEFAULT_LIMITS,
  framing: Framing = 'datagram',
): ParseResult {
  if (buf.length > limits.maxMessageBytes) return failure('too-large', 'Message Too Large');

  // §7.5: CRLFs before the start line are ignored.
  let start = 0;
  while (start < buf.length && (buf[start] === 13 || buf[start] === 10)) start++;
  const end = findHeaderEnd(buf, start);
  // A datagram may omit the final blank line when it has no body; tolerate it.
  const headEnd = end === undefined ? buf.length : end.headEnd;
  const bodyStart = end === undefined ? buf.length : end.bodyStart;
  if (end === undefined && framing === 'stream') return failure('bad-start-line', 'Incomplete Message');
  const head = buf.toString('latin1', start, headEnd);

  // Start line.
  let lineEnd = head.indexOf('\n');
  if (lineEnd === -1) lineEnd = head.length;
  const startLine = head.charCodeAt(lineEnd - 1) === 13 ? head.slice(0, lineEnd - 1) : head.slice(0, lineEnd);
  if (startLine.length > limits.maxLineLength) return failure('line-too-long', 'Start Line Too Long');

  let request: { method: string; uri: string; version: string } | undefined;
  let badStartLine: string | undefined;
  let response: { status: number; reason: string } | undefined;
  if (startLine.startsWith('SIP/') || startLine.startsWith('sip/')) {
    const sp1 = startLine.indexOf(' ');
    const sp2 = sp1 === -1 ? -1 : startLine.indexOf(' ', sp1 + 1);
    const version = sp1 === -1 ? startLine : startLine.slice(0, sp1);
    const code = sp1 === -1 ? '' : startLine.slice(sp1 + 1, sp2 === -1 ? undefined : sp2);
    const status = parseUnsigned(code, 3);
    if (code.length !== 3 || status < 100 || status > 699) {
      return failure('bad-status-code', 'Bad Status Code', 'response');
    }
    if (version.toUpperCase() !== SIP_VERSION)
      return failure('bad-version', 'Version Not Supported', 'response');
    response = { status, reason: sp2 === -1 ? '' : startLine.slice(sp2 + 1) };
  } else {
    // Request-Line = Method SP Request-URI SP SIP-Version: exactly two single spaces (RFC 4475 §3.1.2.8-10). A
    // malformed one is reported after the headers are read, so that the 400 can be addressed by the top Via.
    const sp1 = startLine.indexOf(' ');
    const sp2 = sp1 === -1 ? -1 : startLine.indexOf(' ', sp1 + 1);
    const method = sp1 === -1 ? startLine : startLine.slice(0, sp1);
    const version = startLine.slice(sp2 + 1);
    if (sp1 === -1 || sp2 === -1 || startLine.indexOf(' ', sp2 + 1) !== -1) badStartLine = 'Bad Request Line';
    else if (!isToken(method)) badStartLine = 'Bad Method';
    else if (version !== SIP_VERSION && !/^SIP\/[0-9]+\.[0-9]+$/i.test(version))
      badStartLine = 'Bad Request Line';
    request = { method, uri: startLine.slice(sp1 + 1, sp2), version: version.toUpperCase() };
  }
  const fields: HeaderField[] = [];
  const headers = new Headers(fields);
  const kind = request === undefined ? 'response' : 'request';
  const method = request !== undefined && isToken(request.method) ? request.method : undefined;
  /** A defect in the header section, or the start line's when it had one (the first defect is the one named). */
  const headFailure = (code: ParseErrorCode, reason: string): ParseResult =>
    badStartLine === undefined
      ? failure(code, reason, kind, method, headers)
      : failure('bad-start-line', badStartLine, kind, method, headers);

  // Header fields, unfolding continuation lines (§7.3.1).
  const counts = [0, 0, 0, 0, 0, 0];
  let pos = lineEnd + 1;
  while (pos < head.length) {
    let nl = head.indexOf('\n', pos);
    if (nl === -1) nl = head.length;
    // The line is src[s, e): the head itself when not folded (no copy), else the unfolded text.
    let src = head;
    let s = pos;
    let e = head.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
    pos = nl + 1;
    // Folded continuation: the next line starts with SP or HTAB.
    if (pos < head.length && (head.charCodeAt(pos) === 32 || head.charCodeAt(pos) === 9)) {
      let line = head.slice(s, e);
      while (pos < head.length && (head.charCodeAt(pos) === 32 || head.charCodeAt(pos) === 9)) {
        let nl2 = head.indexOf('\n', pos);
        if (nl2 === -1) nl2 = head.length;
        const cont = head.charCodeAt(nl2 - 1) === 13 ? head.slice(pos, nl2 - 1) : head.slice(pos, nl2);
        line = `${line.trimEnd()} ${cont.trim()}`;
        pos = nl2 + 1;
        if (line.length > limits.maxLineLength) break;
      }
      src = line;
      s = 0;
      e = line.length;
    }
    if (e - s > limits.maxLineLength) {
      return headFailure('line-too-long', 'Header Line Too Long');
    }
    if (e === s) continue;
    const colon = src.indexOf(':', s);
    if (colon <= s || colon >= e) return headFailure('bad-header-line', 'Malformed Header Line');
    let nameEnd = colon;
    while (nameEnd > s && (src.charCodeAt(nameEnd - 1) === 32 || src.charCodeAt(nameEnd - 1) === 9))
      nameEnd--;
    const name = src.slice(s, nameEnd);
    if (fields.length >= limits.maxHeaders) {
      return headFailure('too-many-headers', 'Too Many Headers');
    }
    // A usual spelling is a token by construction; anything else is checked.
    let key = commonHeaderKey(name);
    if (key === undefined) {
      if (!isToken(name)) return headFailure('bad-header-line', 'Malformed Header Name');
      key = headerKey(name);
    }
    let vs = colon + 1;
    while (vs < e && (src.charCodeAt(vs) === 32 || src.charCodeAt(vs) === 9)) vs++;
    let ve = e;
    while (ve > vs && (src.charCodeAt(ve - 1) === 32 || src.charCodeAt(ve - 1) === 9)) ve--;
    const value = src.slice(vs, ve);
    // §25.1: a header value holds no bare CR (only CRLF of a folded line) and no NUL; forwarded as it is, a bare CR
    // would start a header of the sender's choosing at the next hop.
    if (hasBareCrOrNul(value)) return headFailure('bad-header-line', 'Bad Character In Header Value');
    const counted = COUNTED.get(key);
    if (counted !== undefined) counts[counted]!++;
    fields.push({ name, key, value });
    // via-parm *(COMMA via-parm): no empty elements (RFC 4475 §3.1.2.1); the proxy forwards them all.
    if (counted === VIA && value.indexOf(',') !== -1 && hasEmptyElement(value) && badStartLine === undefined)
      return badHeader('via', kind, method, headers);
  }

  if (badStartLine !== undefined) return failure('bad-start-line', badStartLine, kind, method, headers);
  if (request !== undefined && request.version !== SIP_VERSION) {
    return failure('bad-version', 'Version Not Supported', kind, method, headers);
  }

  // Mandatory headers (§8.1.1): Via at least once; From, To, Call-ID and CSeq exactly once.
  for (let i = VIA; i <= CSEQ; i++) {
    const key = COUNTED_KEYS[i]!;
    if (counts[i] === 0) {
      return failure(
        'missing-header',
        `Missing ${headerDisplayName(key)} Header`,
        kind,
        method,
        headers,
        key,
      );
    }
    if (i !== VIA && counts[i]! > 1) return badHeader(key, kind, method, headers);
  }
  if (!isWord(headers.get('call-id')!)) return badHeader('call-id', kind, method, headers);

  // Body framing by Content-Length (§18.3, §20.14).
  let body: Buffer;
  const available = buf.length - bodyStart;
  if (counts[CONTENT_LENGTH]! > 1) {
    return failure('bad-content-length', 'Bad Content-Length', kind, method, headers, 'content-length');
  }
  if (counts[CONTENT_LENGTH] === 1) {
    const cl = parseUnsigned(headers.get('content-length')!, 10);
    if (cl < 0)
      return failure('bad-content-length', 'Bad Content-Length', kind, method, headers, 'content-length');
    if (cl > available) {
      return failure(
        'body-truncated',
        'Body Shorter Than Content-Length',
        kind,
        method,
        headers,
        'content-length',
      );
    }
    if (framing === 'stream' && cl !== available) {
      return failure('bad-content-length', 'Bad Content-Length', kind, method, headers, 'content-length');
    }
    body = cl === 0 ? EMPTY_BODY : buf.subarray(bodyStart, bodyStart + cl);
  } else {
    if (framing === 'stream') {
      return failure(
        'missing-header',
        'Missing Content-Length Header',
        kind,
        method,
        headers,
        'content-length',
      );
    }
    body = available === 0 ? EMPTY_BODY : buf.subarray(bodyStart);
  }

  const message: AnySipMessage =
    request !== undefined
      ? new SipRequest(request.method, request.uri, headers, body)
      : new SipResponse(response!.status, response!.reason, headers, body);

  const cseq = message.cseq;
  if (cseq === undefined) return badHeader('cseq', kind, method, headers);
  if (message.via === undefined) return badHeader('via', kind, method, headers);
  if (message.from === undefined) return badHeader('from', kind, method, headers);
  if (message.to === undefined) return badHeader('to', kind, method, headers);
  if (message.kind === 'request') {
    if (message.requestUri === undefined)
      return failure('bad-request-uri', 'Bad Request-URI', kind, method, headers);
    if (cseq.method !== message.method) {
      return failure('cseq-method-mismatch', 'CSeq Method Does Not Match', kind, method, headers, 'cseq');
    }
    if (message.maxForwards === undefined && headers.has('max-forwards')) {
      return badHeader('max-forwards', kind, method, headers);
    }
  }
  return { ok: true, message };
}

/** A CR that does not end a line, or a NUL that is not a quoted-pair (`\` NUL, RFC 4475 §3.1.1.2). */
function hasBareCrOrNul(value: string): boolean {
  for (let i = value.indexOf('\0'); i !== -1; i = value.indexOf('\0', i + 1))
    if (value.charCodeAt(i - 1) !== 92) return true;
  for (let i = value.indexOf('\r'); i !== -1; i = value.indexOf('\r', i + 1))
    if (value.charCodeAt(i + 1) !== 10) return true;
  return false;
}
