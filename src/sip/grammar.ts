// Small lexical helpers shared by the header parsers (RFC 3261 §25.1).

const TOKEN_CHARS = new Uint8Array(128);
for (const c of "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`'~") {
  TOKEN_CHARS[c.charCodeAt(0)] = 1;
}

/** A set of ASCII characters as a lookup table. */
export function charClass(chars: string): Uint8Array {
  const t = new Uint8Array(128);
  for (const c of chars) t[c.charCodeAt(0)] = 1;
  return t;
}

export const ALPHANUM = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** Whether every character of s is in the class, or (with `escapes`) a valid %HH escape. Empty → `allowEmpty`. */
export function allIn(table: Uint8Array, s: string, escapes: boolean, allowEmpty = false): boolean {
  if (s.length === 0) return allowEmpty;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 128 && table[c] === 1) continue;
    if (escapes && c === 37 && isHex(s.charCodeAt(i + 1)) && isHex(s.charCodeAt(i + 2))) {
      i += 2;
      continue;
    }
    return false;
  }
  return true;
}

function isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}

/** token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~") */
export function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || TOKEN_CHARS[c] !== 1) return false;
  }
  return true;
}

/** word = 1*(token chars and ( ) < > : \ " / [ ] ? { }) — used by Call-ID. */
export function isWord(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c <= 32 || c >= 127) return false;
  }
  return true;
}

/**
 * An unsigned decimal integer (1*DIGIT) with at most `maxDigits` significant digits; -1 if the text is anything else.
 * Leading zeros are allowed and not counted (`Max-Forwards: 0068`, RFC 4475 §3.1.1.1).
 */
export function parseUnsigned(s: string, maxDigits = 10): number {
  let i = 0;
  while (i < s.length - 1 && s.charCodeAt(i) === 48) i++;
  if (s.length === 0 || s.length - i > maxDigits) return -1;
  let n = 0;
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    n = n * 10 + c;
  }
  return n;
}

/**
 * Splits a header value at top-level commas: never inside a quoted string or inside <...>,
 * so `"Doe, John" <sip:j@x;a=b,c>` stays one element. Elements are trimmed; empty ones are dropped.
 */
export function splitTopLevel(value: string, separator = ','): string[] {
  const sep = separator.charCodeAt(0);
  if (value.indexOf(separator) === -1) {
    const t = value.trim();
    return t === '' ? [] : [t];
  }
  const out: string[] = [];
  let start = 0;
  let inQuote = false;
  let angle = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (inQuote) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inQuote = false;
    } else if (c === 34) inQuote = true;
    else if (c === 60 /* < */) angle++;
    else if (c === 62 /* > */ && angle > 0) angle--;
    else if (c === sep && angle === 0) {
      const t = value.slice(start, i).trim();
      if (t !== '') out.push(t);
      start = i + 1;
    }
  }
  const t = value.slice(start).trim();
  if (t !== '') out.push(t);
  return out;
}

/** Whether a comma-separated list has an empty element (`a,,b`, `a,`, `,a`) outside quotes and <...>. */
export function hasEmptyElement(value: string): boolean {
  let empty = true;
  let inQuote = false;
  let angle = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (inQuote) {
      if (c === 92) i++;
      else if (c === 34) inQuote = false;
    } else if (c === 44 /* , */ && angle === 0) {
      if (empty) return true;
      empty = true;
      continue;
    } else if (c === 34) inQuote = true;
    else if (c === 60) angle++;
    else if (c === 62 && angle > 0) angle--;
    if (c !== 32 && c !== 9) empty = false;
  }
  return empty;
}

/** Index of the first `ch` outside quotes and <...> at or after `from`, or -1. */
export function indexOfTopLevel(value: string, ch: string, from = 0): number {
  const target = ch.charCodeAt(0);
  let inQuote = false;
  let angle = 0;
  for (let i = from; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (inQuote) {
      if (c === 92) i++;
      else if (c === 34) inQuote = false;
    } else if (c === 34) inQuote = true;
    else if (c === 60) angle++;
    else if (c === 62 && angle > 0) angle--;
    else if (c === target && angle === 0) return i;
  }
  return -1;
}

/** Reads a quoted-string starting at `start` (which must be `"`). Returns the unescaped text and the index after it. */
export function readQuoted(s: string, start: number): { text: string; end: number } | undefined {
  let text = '';
  for (let i = start + 1; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 92) {
      if (i + 1 >= s.length) return undefined;
      text += s[i + 1];
      i++;
    } else if (c === 34) return { text, end: i + 1 };
    else text += s[i];
  }
  return undefined;
}

export function quote(text: string): string {
  return `"${text.replace(/["\\]/g, (m) => `\\${m}`)}"`;
}

/** Generic parameters: `;name=value;flag` (leading `;` optional). Names are lower-cased; a flag maps to null. */
export type Params = Map<string, string | null>;

/**
 * One pass over `*( SEMI generic-param )` text (RFC 3261 §25.1); quoted values are kept as written so re-serialising is
 * lossless. LWS may surround `;` and `=`, but every `;` must be followed by a parameter: `;;` or a trailing `;` is
 * malformed (RFC 4475 §3.1.2.1).
 */
export function parseParams(s: string): Params | undefined {
  const params: Params = new Map();
  const n = s.length;
  let i = skipSpaces(s, 0);
  while (i < n) {
    if (s.charCodeAt(i) !== 59 /* ; */) return undefined;
    i = skipSpaces(s, i + 1);
    const nameStart = i;
    while (i < n && isTokenChar(s.charCodeAt(i))) i++;
    if (i === nameStart) return undefined;
    const name = s.slice(nameStart, i).toLowerCase();
    i = skipSpaces(s, i);
    if (s.charCodeAt(i) !== 61 /* = */) {
      params.set(name, null);
      continue;
    }
    i = skipSpaces(s, i + 1);
    if (s.charCodeAt(i) === 34) {
      const q = readQuoted(s, i);
      if (q === undefined) return undefined;
      params.set(name, s.slice(i, q.end));
      i = q.end;
    } else {
      const valueStart = i;
      while (i < n && isParamValueChar(s.charCodeAt(i))) i++;
      if (i === valueStart) return undefined;
      params.set(name, s.slice(valueStart, i));
    }
    i = skipSpaces(s, i);
  }
  return params;
}

function skipSpaces(s: string, from: number): number {
  let i = from;
  while (i < s.length && isSpace(s.charCodeAt(i))) i++;
  return i;
}

function isSpace(c: number): boolean {
  return c === 32 || c === 9;
}

function isTokenChar(c: number): boolean {
  return c < 128 && TOKEN_CHARS[c] === 1;
}

function isParamValueChar(c: number): boolean {
  return c < 128 && PARAM_VALUE[c] === 1;
}

// Unquoted generic-param values: token / host (incl. IPv6 reference) characters.
const PARAM_VALUE = charClass(`${ALPHANUM}-.!%*_+\`'~:[]/@?&=$`);

export function formatParams(params: Params): string {
  let out = '';
  for (const [name, value] of params) out += value === null ? `;${name}` : `;${name}=${value}`;
  return out;
}
