// Via header values (RFC 3261 §20.42, §18.2.1, RFC 3581 rport).
import { hostRef } from '../net/address.js';
import { formatParams, isToken, type Params, parseParams } from './grammar.js';
import { ipv6Reference, isHostname } from './uri.js';

/** Branch IDs of RFC 3261 transactions start with this magic cookie (§8.1.1.7). */
export const MAGIC_COOKIE = 'z9hG4bK';

export class Via {
  constructor(
    /** e.g. UDP, TCP, TLS, WS (upper-cased). */
    public transport: string,
    /** Host without brackets. */
    public host: string,
    public port: number | undefined,
    public params: Params = new Map(),
    public protocol = 'SIP/2.0',
  ) {}

  get branch(): string | undefined {
    return this.params.get('branch') ?? undefined;
  }
  get received(): string | undefined {
    return this.params.get('received') ?? undefined;
  }
  /** rport: undefined when absent, null when present without a value (a request for one), else the port. */
  get rport(): number | null | undefined {
    if (!this.params.has('rport')) return undefined;
    const v = this.params.get('rport');
    return v === null || v === undefined ? null : Number(v);
  }
  get maddr(): string | undefined {
    return this.params.get('maddr') ?? undefined;
  }
  /** sent-by as written, IPv6 bracketed: used for transaction matching (§17.2.3). */
  get sentBy(): string {
    const h = hostRef(this.host);
    return this.port === undefined ? h : `${h}:${this.port}`;
  }

  toString(): string {
    return `${this.protocol}/${this.transport} ${this.sentBy}${formatParams(this.params)}`;
  }
}

/** Parses one Via element: `SIP/2.0/UDP host[:port] *(;param)`. */
export function parseVia(text: string): Via | undefined {
  const s = text.trim();
  // sent-protocol = protocol-name SLASH protocol-version SLASH transport, LWS allowed around the slashes.
  const m =
    /^([A-Za-z0-9\-.!%*_+`'~]+)\s*\/\s*([A-Za-z0-9\-.!%*_+`'~]+)\s*\/\s*([A-Za-z0-9\-.!%*_+`'~]+)\s+/.exec(s);
  if (m === null) return undefined;
  return parseSentBy(s.slice(m[0].length), m[3]!.toUpperCase(), `${m[1]!.toUpperCase()}/${m[2]}`);
}

function parseSentBy(text: string, transport: string, protocol: string): Via | undefined {
  let rest = text.trimStart();
  let host: string;
  if (rest.startsWith('[')) {
    const ref = ipv6Reference(rest);
    if (ref === undefined) return undefined;
    host = ref.host;
    rest = rest.slice(ref.end);
  } else {
    let end = 0;
    while (end < rest.length) {
      const c = rest.charCodeAt(end);
      if (c === 58 || c === 59 || c === 32 || c === 9) break;
      end++;
    }
    host = rest.slice(0, end);
    if (!isHostname(host)) return undefined;
    if (end === rest.length) end = -1;
    rest = end === -1 ? '' : rest.slice(end);
  }
  rest = rest.trimStart();
  let port: number | undefined;
  if (rest.startsWith(':')) {
    const pm = /^:\s*([0-9]{1,5})/.exec(rest);
    if (pm === null) return undefined;
    port = Number(pm[1]);
    if (port > 65535 || port === 0) return undefined;
    rest = rest.slice(pm[0].length).trimStart();
  }
  if (rest !== '' && !rest.startsWith(';')) return undefined;
  const params = parseParams(rest);
  if (params === undefined) return undefined;
  const rport = params.get('rport');
  if (rport !== undefined && rport !== null && !/^[0-9]{1,5}$/.test(rport)) return undefined;
  const branch = params.get('branch');
  if (branch === null || (branch !== undefined && !isToken(branch))) return undefined;
  return new Via(transport, host, port, params, protocol);
}
