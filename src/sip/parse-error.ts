// A structured parse error: what was wrong, and what the transport layer needs to answer it (or not).
import type { Headers } from './headers.js';

export type ParseErrorCode =
  | 'too-large'
  | 'bad-start-line'
  | 'bad-version'
  | 'bad-request-uri'
  | 'bad-status-code'
  | 'bad-header-line'
  | 'too-many-headers'
  | 'line-too-long'
  | 'missing-header'
  | 'bad-header'
  | 'bad-content-length'
  | 'body-truncated'
  | 'cseq-method-mismatch';

export class SipParseError {
  constructor(
    readonly code: ParseErrorCode,
    /** Reason phrase for the 4xx/5xx answer; it names the defect. */
    readonly reason: string,
    /** What kind of message the start line announced, when it could be read at all. */
    readonly startLine: 'request' | 'response' | undefined,
    /** The request method when the start line was a readable request. */
    readonly method: string | undefined,
    /** Header fields read before the defect was found (enough to address a response, sometimes). */
    readonly headers: Headers | undefined,
    /** The header the defect is in, as a canonical key. */
    readonly header?: string,
  ) {}

  /** The status to answer a malformed request with: 505 for another SIP version, 513 when too large, else 400. */
  get status(): number {
    if (this.code === 'bad-version') return 505;
    if (this.code === 'too-large') return 513;
    return 400;
  }

  toString(): string {
    return `${this.code}: ${this.reason}`;
  }
}
