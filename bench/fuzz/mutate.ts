// RFC 3261-aware mutations of SIP messages, driven by a seeded PRNG so that a seed reproduces a run. Pure: no I/O.
// Each kind aims at one corner of the grammar (§7, §20, §25) or of the framing (§18.3).

export type Rand = () => number;

/** mulberry32: small, fast and good enough to pick mutations; the same seed gives the same stream. */
export function prng(seed: number): Rand {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const MUTATION_KINDS = [
  'reorder-headers',
  'fold-lines',
  'letter-case',
  'compact-forms',
  'random-bytes',
  'truncate',
  'huge-value',
  'duplicate-mandatory',
  'remove-mandatory',
  'bad-content-length',
  'crlf-lf-mix',
  'nul-bytes',
  'long-line',
  'many-headers',
] as const;
export type MutationKind = (typeof MUTATION_KINDS)[number];

/** The headers every request needs (§8.1.1), plus Content-Length, which stream framing needs (§18.3). */
export const MANDATORY = ['Via', 'From', 'To', 'Call-ID', 'CSeq', 'Max-Forwards', 'Content-Length'] as const;

/** §7.3.3 compact forms. */
export const COMPACT: Readonly<Record<string, string>> = {
  via: 'v',
  from: 'f',
  to: 't',
  'call-id': 'i',
  contact: 'm',
  'content-length': 'l',
  'content-type': 'c',
  'content-encoding': 'e',
  subject: 's',
  supported: 'k',
};
const LONG_FORM: Readonly<Record<string, string>> = {
  v: 'Via',
  f: 'From',
  t: 'To',
  i: 'Call-ID',
  m: 'Contact',
  l: 'Content-Length',
  c: 'Content-Type',
  e: 'Content-Encoding',
  s: 'Subject',
  k: 'Supported',
};

const int = (rand: Rand, n: number): number => Math.floor(rand() * n);
const pick = <T>(rand: Rand, xs: readonly T[]): T => xs[int(rand, xs.length)]!;

/** A message cut into start line, header lines (folded continuations kept as their own lines) and body. */
export interface Parts {
  start: string;
  headers: string[];
  body: string;
}

export function split(text: string): Parts {
  let end = text.indexOf('\r\n\r\n');
  let sep = 4;
  if (end < 0) {
    end = text.indexOf('\n\n');
    sep = 2;
  }
  const head = end < 0 ? text : text.slice(0, end);
  const body = end < 0 ? '' : text.slice(end + sep);
  const lines = head.split(/\r?\n/);
  return { start: lines[0] ?? '', headers: lines.slice(1), body };
}

export function join(p: Parts, eol = '\r\n'): string {
  return [p.start, ...p.headers].join(eol) + eol + eol + p.body;
}

/** The header name of a line, or undefined for a continuation or a line without a colon. */
export function headerName(line: string): string | undefined {
  if (line.startsWith(' ') || line.startsWith('\t')) return undefined;
  const colon = line.indexOf(':');
  return colon <= 0 ? undefined : line.slice(0, colon).trim();
}

function isNamed(line: string, name: string): boolean {
  const n = headerName(line)?.toLowerCase();
  if (n === undefined) return false;
  const want = name.toLowerCase();
  return n === want || n === COMPACT[want];
}

function randomCase(rand: Rand, s: string): string {
  let out = '';
  for (const ch of s) out += rand() < 0.5 ? ch.toLowerCase() : ch.toUpperCase();
  return out;
}

function filler(rand: Rand, n: number): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789-.!%*_+`\'~;=,@<>"';
  const c = pick(rand, alphabet.split(''));
  // One repeated character, with a few random ones: cheap to build even at 60 KB.
  const chars = c.repeat(n).split('');
  for (let i = 0; i < 8 && n > 0; i++) chars[int(rand, n)] = pick(rand, alphabet.split(''));
  return chars.join('');
}

/** Applies one mutation of `kind` to the latin1 text of a message. */
export function mutate(text: string, kind: MutationKind, rand: Rand): string {
  const p = split(text);
  switch (kind) {
    case 'reorder-headers': {
      // §7.3.1: order matters only among same-named headers; shuffle all (Fisher–Yates).
      const h = p.headers.filter((l) => !l.startsWith(' ') && !l.startsWith('\t'));
      for (let i = h.length - 1; i > 0; i--) {
        const j = int(rand, i + 1);
        [h[i], h[j]] = [h[j]!, h[i]!];
      }
      return join({ ...p, headers: h });
    }
    case 'fold-lines': {
      // §7.3.1 line folding: a CRLF followed by whitespace inside a header value.
      const headers = p.headers.map((line) => {
        const colon = line.indexOf(':');
        if (colon <= 0 || rand() < 0.4) return line;
        const spaces: number[] = [colon + 1];
        for (let i = colon + 1; i < line.length; i++) if (line[i] === ' ') spaces.push(i);
        const at = pick(rand, spaces);
        return `${line.slice(0, at)}\r\n${pick(rand, [' ', '\t', '   '])}${line.slice(at).trimStart()}`;
      });
      return join({ ...p, headers: headers.join('\r\n').split('\r\n') });
    }
    case 'letter-case': {
      // §7.3.1: header names are case-insensitive; so are URI schemes, hosts and parameter names (§19.1.4).
      const headers = p.headers.map((line) => {
        const name = headerName(line);
        return name === undefined ? line : randomCase(rand, name) + line.slice(name.length);
      });
      return join({ ...p, headers });
    }
    case 'compact-forms': {
      const headers = p.headers.map((line) => {
        const name = headerName(line);
        if (name === undefined || rand() < 0.2) return line;
        const other = COMPACT[name.toLowerCase()] ?? LONG_FORM[name.toLowerCase()];
        return other === undefined ? line : other + line.slice(name.length);
      });
      return join({ ...p, headers });
    }
    case 'random-bytes': {
      const chars = text.split('');
      const n = 1 + int(rand, 8);
      for (let i = 0; i < n && chars.length > 0; i++)
        chars[int(rand, chars.length)] = String.fromCharCode(int(rand, 256));
      return chars.join('');
    }
    case 'truncate':
      return text.slice(0, int(rand, text.length));
    case 'huge-value': {
      // Just under, at and over the 8 KB line limit and the 64 KB message limit.
      const n = pick(rand, [1000, 8190, 8192, 8193, 20_000, 65_000]);
      const i = int(rand, p.headers.length + 1);
      const headers = [...p.headers];
      if (i === p.headers.length || headerName(headers[i]!) === undefined)
        headers.push(`Subject: ${filler(rand, n)}`);
      else headers[i] = `${headers[i]}${filler(rand, n)}`;
      return join({ ...p, headers });
    }
    case 'duplicate-mandatory': {
      const name = pick(rand, MANDATORY);
      const at = p.headers.findIndex((l) => isNamed(l, name));
      const copy = at >= 0 ? p.headers[at]! : `${name}: 1`;
      const variant = rand() < 0.5 ? copy : copy.replace(/[0-9]/, (d) => String((Number(d) + 1) % 10));
      const headers = [...p.headers];
      headers.splice(int(rand, headers.length + 1), 0, variant);
      return join({ ...p, headers });
    }
    case 'remove-mandatory': {
      const present = MANDATORY.filter((n) => p.headers.some((l) => isNamed(l, n)));
      if (present.length === 0) return text;
      const name = pick(rand, present);
      return join({ ...p, headers: p.headers.filter((l) => !isNamed(l, name)) });
    }
    case 'bad-content-length': {
      const len = Buffer.byteLength(p.body, 'latin1');
      const value = pick(rand, [
        String(len + 1 + int(rand, 100)),
        String(Math.max(0, len - 1 - int(rand, len + 1))),
        '-1',
        '99999999999',
        '4294967296',
        '',
        'abc',
        `0${len}x`,
        '1e3',
        `${len}, ${len + 5}`,
        ` ${len} ;x`,
      ]);
      const wanted = value === String(len) ? `${value}0` : value;
      const others = p.headers.filter((l) => !isNamed(l, 'Content-Length'));
      return join({ ...p, headers: [...others, `Content-Length: ${wanted}`] });
    }
    case 'crlf-lf-mix': {
      // §7: lines end in CRLF; many parsers also take a bare LF, and a bare CR is a trap.
      const head = [p.start, ...p.headers];
      let out = '';
      for (const line of head) out += line + pick(rand, ['\r\n', '\r\n', '\n', '\r']);
      out += pick(rand, ['\r\n', '\n']);
      return out + p.body;
    }
    case 'nul-bytes': {
      const chars = text.split('');
      const n = 1 + int(rand, 5);
      for (let i = 0; i < n; i++) chars.splice(int(rand, chars.length + 1), 0, '\0');
      return chars.join('');
    }
    case 'long-line': {
      // A line around the 8,192-byte limit, or one far beyond it, as an extension header or as the start line.
      const n = pick(rand, [4096, 8180, 8191, 8192, 8200, 30_000, 70_000]);
      if (rand() < 0.3) return join({ ...p, start: `${p.start} ${filler(rand, n)}` });
      const headers = [...p.headers];
      headers.splice(int(rand, headers.length + 1), 0, `X-Long: ${filler(rand, n)}`);
      return join({ ...p, headers });
    }
    case 'many-headers': {
      // Around the 128-header limit, and far beyond it; some repeat a mandatory header.
      const n = pick(rand, [100, 127, 128, 129, 300, 1000]);
      const extra: string[] = [];
      for (let i = 0; i < n; i++) {
        extra.push(
          rand() < 0.05
            ? `${pick(rand, ['Via', 'Record-Route', 'Route'])}: <sip:h${i}.invalid;lr>`
            : `X-H${i}: v${i}`,
        );
      }
      const headers = [...p.headers];
      headers.splice(int(rand, headers.length + 1), 0, ...extra);
      return join({ ...p, headers });
    }
  }
}

export interface FuzzCase {
  /** Index into the corpus. */
  base: number;
  /** The mutations applied, in order; empty for an unmutated message. */
  kinds: MutationKind[];
  bytes: Buffer;
}

/**
 * The next fuzz case: a corpus message (already made concrete) with 0–3 mutations. One in twenty is sent as is,
 * so the server also sees valid traffic in between.
 */
export function fuzzCase(
  corpus: readonly string[],
  rand: Rand,
  concrete: (template: string) => string,
): FuzzCase {
  const base = int(rand, corpus.length);
  let text = concrete(corpus[base]!);
  const kinds: MutationKind[] = [];
  const r = rand();
  const n = r < 0.05 ? 0 : r < 0.75 ? 1 : r < 0.93 ? 2 : 3;
  for (let i = 0; i < n; i++) {
    const kind = pick(rand, MUTATION_KINDS);
    kinds.push(kind);
    text = mutate(text, kind, rand);
  }
  return { base, kinds, bytes: Buffer.from(text, 'latin1') };
}
