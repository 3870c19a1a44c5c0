// SIP, SIPS and tel URIs (RFC 3261 §19.1, §25.1; RFC 3966), with parameters, headers, %-escapes and IPv6 references.
import { isIPv4, isIPv6 } from 'node:net';
import { hostRef } from '../net/address.js';
import { ALPHANUM, allIn, charClass, formatParams, isToken, type Params } from './grammar.js';

export class SipUri {
  constructor(
    public scheme: 'sip' | 'sips',
    /** The user part exactly as written (still %-escaped); see `userText` for the decoded form. */
    public user: string | undefined,
    public password: string | undefined,
    /** Hostname, IPv4 address, or IPv6 address without brackets. */
    public host: string,
    public port: number | undefined,
    public params: Params = new Map(),
    /** `?name=value&...` headers, values still escaped, in order. */
    public headers: Array<[string, string]> = [],
  ) {}

  get userText(): string | undefined {
    return this.user === undefined ? undefined : unescapeUri(this.user);
  }

  /** The host as it appears in a URI or Via: IPv6 in brackets. */
  get hostRef(): string {
    return hostRef(this.host);
  }

  /** transport parameter, lower-cased; undefined when absent. */
  get transport(): string | undefined {
    const t = this.params.get('transport');
    return t === null || t === undefined ? undefined : t.toLowerCase();
  }

  clone(): SipUri {
    return new SipUri(
      this.scheme,
      this.user,
      this.password,
      this.host,
      this.port,
      new Map(this.params),
      this.headers.map(([n, v]) => [n, v]),
    );
  }

  toString(): string {
    let s = `${this.scheme}:`;
    if (this.user !== undefined) {
      s += this.user;
      if (this.password !== undefined) s += `:${this.password}`;
      s += '@';
    }
    s += this.hostRef;
    if (this.port !== undefined) s += `:${this.port}`;
    s += formatParams(this.params);
    if (this.headers.length > 0) s += `?${this.headers.map(([n, v]) => `${n}=${v}`).join('&')}`;
    return s;
  }
}

export class TelUri {
  readonly scheme = 'tel' as const;
  constructor(
    public number: string,
    public params: Params = new Map(),
  ) {}

  toString(): string {
    return `tel:${this.number}${formatParams(this.params)}`;
  }
}

/** Any other absolute URI (RFC 3986 scheme ":" rest), kept as an opaque string. */
export class OtherUri {
  constructor(
    readonly scheme: string,
    readonly text: string,
  ) {}
  toString(): string {
    return this.text;
  }
}

export type Uri = SipUri | TelUri | OtherUri;

const SCHEME_RE = /^[A-Za-z][A-Za-z0-9+.-]*$/;
// user = 1*( unreserved / escaped / user-unreserved ); unreserved includes mark chars.
const USER = charClass(`${ALPHANUM}-_.!~*'()&=+$,;?/`);
const PASSWORD = charClass(`${ALPHANUM}-_.!~*'()&=+$,`);
const PARAM_CHARS = charClass(`${ALPHANUM}-_.!~*'()[]/:&+$`);
const HEADER_CHARS = charClass(`${ALPHANUM}-_.!~*'()[]/?:+$`);
const TEL_NUMBER_RE =
  /^(?:\+[0-9\-.()]*[0-9][0-9\-.()]*|[0-9A-Fa-f*#\-.()pw]*[0-9A-Fa-f*#][0-9A-Fa-f*#\-.()pw]*)$/;

/** Parses any absolute URI; sip/sips/tel are fully validated, other schemes only syntactically. */
export function parseUri(text: string): Uri | undefined {
  const colon = text.indexOf(':');
  if (colon <= 0) return undefined;
  const scheme = text.slice(0, colon).toLowerCase();
  if (scheme === 'sip' || scheme === 'sips') return parseSipUri(text);
  if (scheme === 'tel') return parseTelUri(text);
  if (!SCHEME_RE.test(scheme) || colon === text.length - 1) return undefined;
  for (let i = colon + 1; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c <= 32 || c >= 127 || c === 60 || c === 62 || c === 34) return undefined;
  }
  return new OtherUri(scheme, text);
}

export function parseSipUri(text: string): SipUri | undefined {
  const colon = text.indexOf(':');
  if (colon <= 0) return undefined;
  const scheme = text.slice(0, colon).toLowerCase();
  if (scheme !== 'sip' && scheme !== 'sips') return undefined;
  let rest = text.slice(colon + 1);

  // The user part may hold '?' (user-unreserved, RFC 3261 §25.1): headers start at the first '?' after the '@'.
  let headers: Array<[string, string]> = [];
  const q = rest.indexOf('?', rest.lastIndexOf('@') + 1);
  if (q !== -1) {
    const parsed = parseUriHeaders(rest.slice(q + 1));
    if (parsed === undefined) return undefined;
    headers = parsed;
    rest = rest.slice(0, q);
  }

  let user: string | undefined;
  let password: string | undefined;
  const at = rest.lastIndexOf('@');
  if (at !== -1) {
    const userinfo = rest.slice(0, at);
    rest = rest.slice(at + 1);
    // The password is after the first ':' of userinfo (user may not contain an unescaped ':').
    const pc = userinfo.indexOf(':');
    user = pc === -1 ? userinfo : userinfo.slice(0, pc);
    if (pc !== -1) password = userinfo.slice(pc + 1);
    if (!allIn(USER, user, true)) return undefined;
    if (password !== undefined && !allIn(PASSWORD, password, true, true)) return undefined;
  }

  let host: string;
  let afterHost: number;
  if (rest.startsWith('[')) {
    const ref = ipv6Reference(rest);
    if (ref === undefined) return undefined;
    host = ref.host;
    afterHost = ref.end;
  } else {
    afterHost = 0;
    while (afterHost < rest.length) {
      const c = rest.charCodeAt(afterHost);
      if (c === 58 /* : */ || c === 59 /* ; */) break;
      afterHost++;
    }
    host = rest.slice(0, afterHost);
    if (!isHostname(host)) return undefined;
  }

  let port: number | undefined;
  let i = afterHost;
  if (rest.charCodeAt(i) === 58) {
    let j = i + 1;
    while (j < rest.length && rest.charCodeAt(j) !== 59) j++;
    const digits = rest.slice(i + 1, j);
    if (!/^[0-9]{1,5}$/.test(digits)) return undefined;
    port = Number(digits);
    if (port > 65535) return undefined;
    i = j;
  }
  if (i < rest.length && rest.charCodeAt(i) !== 59) return undefined;

  const params: Params = new Map();
  if (i < rest.length) {
    for (const part of rest.slice(i + 1).split(';')) {
      const eq = part.indexOf('=');
      const name = eq === -1 ? part : part.slice(0, eq);
      if (!allIn(PARAM_CHARS, name, true)) return undefined;
      if (eq === -1) params.set(name.toLowerCase(), null);
      else {
        const value = part.slice(eq + 1);
        if (!allIn(PARAM_CHARS, value, true)) return undefined;
        params.set(name.toLowerCase(), value);
      }
    }
  }
  return new SipUri(scheme, user, password, host, port, params, headers);
}

function parseUriHeaders(s: string): Array<[string, string]> | undefined {
  const out: Array<[string, string]> = [];
  if (s === '') return out;
  for (const part of s.split('&')) {
    const eq = part.indexOf('=');
    if (eq <= 0) return undefined;
    const name = part.slice(0, eq);
    const value = part.slice(eq + 1);
    if (!allIn(HEADER_CHARS, name, true) || !allIn(HEADER_CHARS, value, true, true)) return undefined;
    out.push([name, value]);
  }
  return out;
}

export function parseTelUri(text: string): TelUri | undefined {
  if (text.slice(0, 4).toLowerCase() !== 'tel:') return undefined;
  const rest = text.slice(4);
  const semi = rest.indexOf(';');
  const number = semi === -1 ? rest : rest.slice(0, semi);
  if (!TEL_NUMBER_RE.test(number)) return undefined;
  const params: Params = new Map();
  if (semi !== -1) {
    for (const part of rest.slice(semi + 1).split(';')) {
      const eq = part.indexOf('=');
      const name = eq === -1 ? part : part.slice(0, eq);
      if (!isToken(name)) return undefined;
      if (eq === -1) params.set(name.toLowerCase(), null);
      else {
        const value = part.slice(eq + 1);
        if (!allIn(PARAM_CHARS, value, true)) return undefined;
        params.set(name.toLowerCase(), value);
      }
    }
  }
  return new TelUri(number, params);
}

/**
 * hostname (RFC 3261 §25.1: labels of alphanumerics and inner hyphens, optional final dot) or IPv4address. A string
 * of digits and dots must be a valid dotted quad.
 */
/** `[IPv6]` at the start of `text` (RFC 3261 §25.1 IPv6reference): the address and where it ends. */
export function ipv6Reference(text: string): { host: string; end: number } | undefined {
  const close = text.indexOf(']');
  if (close === -1) return undefined;
  const host = text.slice(1, close);
  if (isIPv6(host)) return { host, end: close + 1 };
  // RFC 3261's IPv6address ABNF (from RFC 2373) also derives `hexseq "::" ":" IPv4address`, three colons before an
  // embedded IPv4 address; RFC 5118 §4.10 asks for it to be tolerated. It is read as the RFC 4291 form.
  const triple = host.indexOf(':::');
  if (triple === -1 || host.indexOf(':', triple + 3) !== -1 || !isIPv4(host.slice(triple + 3)))
    return undefined;
  const fixed = host.slice(0, triple + 2) + host.slice(triple + 3);
  return isIPv6(fixed) ? { host: fixed, end: close + 1 } : undefined;
}

export function isHostname(host: string): boolean {
  const n = host.length;
  if (n === 0 || n > 255) return false;
  let labelStart = 0;
  let allDigits = true;
  for (let i = 0; i <= n; i++) {
    const c = i === n ? 46 : host.charCodeAt(i);
    if (c === 46) {
      if (i === labelStart) return i === n && i > 0 && !allDigits; // empty label only as the final dot of a name
      if (host.charCodeAt(labelStart) === 45 || host.charCodeAt(i - 1) === 45) return false;
      labelStart = i + 1;
    } else if (c >= 48 && c <= 57) {
      // digit
    } else if ((c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 45) allDigits = false;
    else return false;
  }
  return allDigits ? isIPv4(host) : true;
}

/** Decodes %HH escapes; invalid sequences are left as written. */
export function unescapeUri(s: string): string {
  if (s.indexOf('%') === -1) return s;
  try {
    return decodeURIComponent(s);
  } catch {
    return s.replace(/%([0-9A-Fa-f]{2})/g, (_, h: string) => String.fromCharCode(Number.parseInt(h, 16)));
  }
}

/** Escapes characters not allowed unescaped in a user part. */
export function escapeUser(s: string): string {
  return s.replace(/[^A-Za-z0-9\-_.!~*'()&=+$,;?/]/g, (c) =>
    Array.from(Buffer.from(c, 'utf8'))
      .map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`)
      .join(''),
  );
}
