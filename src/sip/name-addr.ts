// name-addr / addr-spec with header parameters: From, To, Contact, Route, Record-Route, Path (RFC 3261 §20.10, §25.1).
import { formatParams, type Params, parseParams, quote, readQuoted } from './grammar.js';
import { parseUri, type Uri } from './uri.js';

export class NameAddr {
  constructor(
    public uri: Uri,
    public displayName: string | undefined = undefined,
    public params: Params = new Map(),
    /** Whether the URI was (or must be) written inside <...>. */
    public bracketed = true,
  ) {}

  get tag(): string | undefined {
    return this.params.get('tag') ?? undefined;
  }

  toString(): string {
    // A URI with parameters, headers or a comma must be bracketed so they are not read as header parameters.
    let s = '';
    if (this.displayName !== undefined && this.displayName !== '') s += `${quote(this.displayName)} `;
    s += `<${this.uri.toString()}>`;
    return s + formatParams(this.params);
  }
}

/** Parses one name-addr or addr-spec element (already split from its list). */
export function parseNameAddr(text: string): NameAddr | undefined {
  const s = text.trim();
  if (s === '') return undefined;
  let displayName: string | undefined;
  let i = 0;
  if (s.charCodeAt(0) === 34) {
    const q = readQuoted(s, 0);
    if (q === undefined) return undefined;
    displayName = q.text;
    i = q.end;
    while (s.charCodeAt(i) === 32 || s.charCodeAt(i) === 9) i++;
    if (s.charCodeAt(i) !== 60) return undefined;
  }
  // name-addr when a '<' comes before any ';' (a display name holds no ';'); otherwise addr-spec.
  const lt = s.indexOf('<', i);
  const firstSemi = s.indexOf(';', i);
  if (displayName !== undefined || (lt !== -1 && (firstSemi === -1 || lt < firstSemi))) {
    if (displayName === undefined) {
      const dn = s.slice(0, lt).trim();
      if (dn !== '') {
        if (!/^[A-Za-z0-9\-.!%*_+`'~ \t]+$/.test(dn)) return undefined;
        displayName = dn.replace(/\s+/g, ' ');
      }
    }
    const gt = s.indexOf('>', lt);
    if (gt === -1) return undefined;
    const uri = parseUri(s.slice(lt + 1, gt).trim());
    if (uri === undefined) return undefined;
    const params = parseParams(s.slice(gt + 1));
    if (params === undefined) return undefined;
    return new NameAddr(uri, displayName, params, true);
  }
  // addr-spec: everything up to the first ';' is the URI; what follows are header parameters (§20.10).
  const semi = s.indexOf(';');
  // LWS may come before the SEMI of the first header parameter (RFC 4475 §3.1.1.1), not inside the URI.
  const uriText = semi === -1 ? s : s.slice(0, semi).trimEnd();
  if (/[\s<>"]/.test(uriText)) return undefined;
  const uri = parseUri(uriText);
  if (uri === undefined) return undefined;
  const params = semi === -1 ? new Map<string, string | null>() : parseParams(s.slice(semi));
  if (params === undefined) return undefined;
  return new NameAddr(uri, undefined, params, false);
}
