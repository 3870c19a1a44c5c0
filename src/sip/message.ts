// SIP requests and responses (RFC 3261 §7). Headers stay raw strings; typed views are parsed on first use and
// cached against the raw text, so a proxy that touches five headers parses only those five.
import { type CSeq, parseCSeq } from './cseq.js';
import { parseUnsigned } from './grammar.js';
import { Headers } from './headers.js';
import { NameAddr, parseNameAddr } from './name-addr.js';
import { parseUri, type Uri } from './uri.js';
import { parseVia, type Via } from './via.js';

export const SIP_VERSION = 'SIP/2.0';
const EMPTY = Buffer.alloc(0);

class Cached<T> {
  private text: string | undefined;
  private value: T | undefined;
  constructor(private readonly parse: (text: string) => T | undefined) {}
  get(text: string | undefined): T | undefined {
    if (text === undefined) return undefined;
    if (text !== this.text) {
      this.text = text;
      this.value = this.parse(text);
    }
    return this.value;
  }
}

export abstract class SipMessage {
  headers: Headers;
  /** The body as bytes (binary-safe); Content-Length is derived from it when serialising. */
  body: Buffer;

  private readonly viaCache = new Cached(parseVia);
  private readonly fromCache = new Cached(parseNameAddr);
  private readonly toCache = new Cached(parseNameAddr);
  private readonly cseqCache = new Cached(parseCSeq);

  constructor(headers: Headers, body: Buffer = EMPTY) {
    this.headers = headers;
    this.body = body;
  }

  abstract readonly kind: 'request' | 'response';

  /** The topmost Via element, parsed. */
  get via(): Via | undefined {
    return this.viaCache.get(this.headers.first('via'));
  }
  get from(): NameAddr | undefined {
    return this.fromCache.get(this.headers.get('from'));
  }
  get to(): NameAddr | undefined {
    return this.toCache.get(this.headers.get('to'));
  }
  get callId(): string | undefined {
    return this.headers.get('call-id');
  }
  get cseq(): CSeq | undefined {
    return this.cseqCache.get(this.headers.get('cseq'));
  }
  /** Every Via element in order, parsed (undefined entries for unparseable ones). */
  vias(): Array<Via | undefined> {
    return this.headers.values('via').map(parseVia);
  }
  /** Parsed elements of a name-addr list header such as Contact, Route, Record-Route or Path. */
  nameAddrs(name: string): Array<NameAddr | undefined> {
    return this.headers.values(name).map(parseNameAddr);
  }
}

export class SipRequest extends SipMessage {
  readonly kind = 'request' as const;
  private readonly uriCache = new Cached(parseUri);

  constructor(
    public method: string,
    /** The Request-URI as written. */
    public uri: string,
    headers: Headers = new Headers(),
    body?: Buffer,
    public version = SIP_VERSION,
  ) {
    super(headers, body);
  }

  get requestUri(): Uri | undefined {
    return this.uriCache.get(this.uri);
  }

  /** Max-Forwards, or undefined when absent or not a number 0-255. */
  get maxForwards(): number | undefined {
    const v = this.headers.get('max-forwards');
    if (v === undefined) return undefined;
    const n = parseUnsigned(v, 3);
    return n >= 0 && n <= 255 ? n : undefined;
  }

  clone(): SipRequest {
    return new SipRequest(this.method, this.uri, this.headers.clone(), this.body, this.version);
  }
}

export class SipResponse extends SipMessage {
  readonly kind = 'response' as const;

  constructor(
    public status: number,
    public reason: string,
    headers: Headers = new Headers(),
    body?: Buffer,
    public version = SIP_VERSION,
  ) {
    super(headers, body);
  }

  clone(): SipResponse {
    return new SipResponse(this.status, this.reason, this.headers.clone(), this.body, this.version);
  }
}

export type AnySipMessage = SipRequest | SipResponse;

export { NameAddr };
