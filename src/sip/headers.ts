// Header fields of a SIP message: names are case-insensitive and have compact forms (RFC 3261 §7.3.3, §20).
import { splitTopLevel } from './grammar.js';

/** Compact form → canonical lower-case key. */
const COMPACT: Record<string, string> = {
  i: 'call-id',
  m: 'contact',
  e: 'content-encoding',
  l: 'content-length',
  c: 'content-type',
  f: 'from',
  s: 'subject',
  k: 'supported',
  t: 'to',
  v: 'via',
  o: 'event',
  u: 'allow-events',
  r: 'refer-to',
  b: 'referred-by',
  a: 'accept-contact',
  j: 'reject-contact',
  d: 'request-disposition',
  x: 'session-expires',
  y: 'identity',
  n: 'identity-info',
};

/** Canonical spelling used when we create a header ourselves. */
const DISPLAY: Record<string, string> = {
  'call-id': 'Call-ID',
  cseq: 'CSeq',
  'www-authenticate': 'WWW-Authenticate',
  'mime-version': 'MIME-Version',
  rack: 'RAck',
  rseq: 'RSeq',
};

/** Headers whose value is a comma-separated list (RFC 3261 §7.3.1): several fields combine into one list. */
const LIST_HEADERS = new Set([
  'via',
  'contact',
  'route',
  'record-route',
  'path',
  'service-route',
  'allow',
  'allow-events',
  'supported',
  'require',
  'proxy-require',
  'unsupported',
  'accept',
  'accept-encoding',
  'accept-language',
  'content-encoding',
  'content-language',
  'in-reply-to',
  'warning',
  'alert-info',
  'call-info',
  'error-info',
  'reason',
]);

const keyCache = new Map<string, string>();

// The usual spellings, bucketed by length: comparing a few short strings beats hashing every name we read.
const COMMON: Array<Array<[string, string]>> = [];
for (const spelling of [
  'Via',
  'From',
  'To',
  'Call-ID',
  'CSeq',
  'Contact',
  'Max-Forwards',
  'Content-Length',
  'Content-Type',
  'Allow',
  'Supported',
  'User-Agent',
  'Record-Route',
  'Route',
  'Expires',
  'Authorization',
  'Proxy-Authorization',
  'WWW-Authenticate',
  'Proxy-Authenticate',
  'Require',
  'Server',
  'Accept',
  'Path',
  'Call-Id',
  'Cseq',
  'v',
  'f',
  't',
  'i',
  'm',
  'l',
  'c',
  'k',
]) {
  COMMON[spelling.length] ??= [];
  COMMON[spelling.length]!.push([
    spelling,
    spelling.length === 1 ? COMPACT[spelling]! : spelling.toLowerCase(),
  ]);
}

/** The key of a header name written in one of its usual spellings, else undefined. */
export function commonHeaderKey(name: string): string | undefined {
  const bucket = COMMON[name.length];
  if (bucket !== undefined) for (const [spelling, key] of bucket) if (spelling === name) return key;
  return undefined;
}

/** The canonical lower-case key for a header name as written on the wire. */
export function headerKey(name: string): string {
  const common = commonHeaderKey(name);
  if (common !== undefined) return common;
  const cached = keyCache.get(name);
  if (cached !== undefined) return cached;
  const lower = name.toLowerCase();
  const key = lower.length === 1 ? (COMPACT[lower] ?? lower) : lower;
  if (keyCache.size < 1024) keyCache.set(name, key);
  return key;
}

/** The canonical display spelling for a key: `call-id` → `Call-ID`, `record-route` → `Record-Route`. */
export function headerDisplayName(key: string): string {
  return DISPLAY[key] ?? key.replace(/(^|-)([a-z])/g, (_, dash: string, c: string) => dash + c.toUpperCase());
}

export function isListHeader(key: string): boolean {
  return LIST_HEADERS.has(key);
}

export interface HeaderField {
  /** Name as written (kept so a proxy forwards it unchanged). */
  name: string;
  /** Canonical lower-case long name. */
  key: string;
  value: string;
}

/** An ordered list of header fields with case-insensitive, compact-form-aware access. */
export class Headers {
  readonly fields: HeaderField[];

  constructor(fields: HeaderField[] = []) {
    this.fields = fields;
  }

  has(name: string): boolean {
    const key = headerKey(name);
    for (const f of this.fields) if (f.key === key) return true;
    return false;
  }

  /** The first field's whole value. */
  get(name: string): string | undefined {
    const key = headerKey(name);
    for (const f of this.fields) if (f.key === key) return f.value;
    return undefined;
  }

  /** Every field's whole value, in order. */
  getFields(name: string): string[] {
    const key = headerKey(name);
    const out: string[] = [];
    for (const f of this.fields) if (f.key === key) out.push(f.value);
    return out;
  }

  /** All elements of a list header across all its fields (`Via: a, b` + `Via: c` → [a, b, c]). */
  values(name: string): string[] {
    const key = headerKey(name);
    const out: string[] = [];
    for (const f of this.fields) {
      if (f.key !== key) continue;
      if (isListHeader(key)) for (const v of splitTopLevel(f.value)) out.push(v);
      else out.push(f.value);
    }
    return out;
  }

  /** The first element of a list header. */
  first(name: string): string | undefined {
    const key = headerKey(name);
    for (const f of this.fields) {
      if (f.key !== key) continue;
      if (!isListHeader(key)) return f.value;
      const comma = f.value.indexOf(',');
      if (comma === -1) return f.value.trim();
      const vs = splitTopLevel(f.value);
      if (vs.length > 0) return vs[0];
    }
    return undefined;
  }

  /** Replaces all fields of that name by one field (added at the position of the first, else at the end). */
  set(name: string, value: string): this {
    const key = headerKey(name);
    const idx = this.fields.findIndex((f) => f.key === key);
    const field = { name: idx === -1 ? displayFor(name, key) : this.fields[idx]!.name, key, value };
    this.remove(name);
    if (idx === -1) this.fields.push(field);
    else this.fields.splice(idx, 0, field);
    return this;
  }

  append(name: string, value: string): this {
    const key = headerKey(name);
    this.fields.push({ name: displayFor(name, key), key, value });
    return this;
  }

  /** Adds a value before all others of that name, as Via and Record-Route need (§16.6, §16.7). */
  prepend(name: string, value: string): this {
    const key = headerKey(name);
    const idx = this.fields.findIndex((f) => f.key === key);
    const field = { name: displayFor(name, key), key, value };
    if (idx === -1) this.fields.push(field);
    else this.fields.splice(idx, 0, field);
    return this;
  }

  remove(name: string): this {
    const key = headerKey(name);
    for (let i = this.fields.length - 1; i >= 0; i--)
      if (this.fields[i]!.key === key) this.fields.splice(i, 1);
    return this;
  }

  /** Removes the first element of a list header (the top Via, the top Route). */
  removeFirst(name: string): string | undefined {
    const key = headerKey(name);
    const idx = this.fields.findIndex((f) => f.key === key);
    if (idx === -1) return undefined;
    const field = this.fields[idx]!;
    const parts = isListHeader(key) ? splitTopLevel(field.value) : [field.value];
    const [top, ...rest] = parts;
    if (rest.length === 0) this.fields.splice(idx, 1);
    else field.value = rest.join(', ');
    return top;
  }

  /** Replaces the first element of a list header (the top Via after adding received/rport). */
  replaceFirst(name: string, value: string): this {
    const key = headerKey(name);
    const field = this.fields.find((f) => f.key === key);
    if (field === undefined) return this.append(name, value);
    if (!isListHeader(key) || field.value.indexOf(',') === -1) {
      field.value = value;
      return this;
    }
    const [, ...rest] = splitTopLevel(field.value);
    field.value = [value, ...rest].join(', ');
    return this;
  }

  clone(): Headers {
    return new Headers(this.fields.map((f) => ({ name: f.name, key: f.key, value: f.value })));
  }
}

function displayFor(name: string, key: string): string {
  return name.length === 1 || name === key ? headerDisplayName(key) : name;
}
