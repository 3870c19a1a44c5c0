// A corpus of valid and invalid messages around the RFC 3261 §25 grammar's corners.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TYPICAL_INVITE } from '../../bench/messages.js';
import { hasEmptyElement, splitTopLevel } from '../../src/sip/grammar.js';
import type { AnySipMessage, SipRequest } from '../../src/sip/message.js';
import { parseNameAddr } from '../../src/sip/name-addr.js';
import type { ParseErrorCode } from '../../src/sip/parse-error.js';
import { parseMessage } from '../../src/sip/parser.js';
import { serializeMessage } from '../../src/sip/serializer.js';
import { type SipUri, TelUri } from '../../src/sip/uri.js';

const BASE = [
  'Via: SIP/2.0/UDP 198.51.100.1:5060;branch=z9hG4bK1',
  'From: <sip:a@example.test>;tag=1',
  'To: <sip:b@example.test>',
  'Call-ID: c1@example.test',
  'CSeq: 1 OPTIONS',
];

function msg(lines: string[], body = ''): Buffer {
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n${body}`, 'latin1');
}

function ok(bytes: Buffer | string): AnySipMessage {
  const r = parseMessage(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes);
  if (!r.ok) assert.fail(`expected a message, got ${r.error.code}: ${r.error.reason}`);
  return r.message;
}

function req(bytes: Buffer | string): SipRequest {
  const m = ok(bytes);
  assert.equal(m.kind, 'request');
  return m as SipRequest;
}

describe('parser: valid messages', () => {
  it('parses a typical INVITE and serialises it byte for byte', () => {
    const bytes = Buffer.from(TYPICAL_INVITE, 'latin1');
    const m = req(bytes);
    assert.equal(m.method, 'INVITE');
    assert.equal(m.via!.branch, 'z9hG4bK776asdhds');
    assert.equal(m.from!.tag, '1928301774');
    assert.equal(m.from!.displayName, 'Alice');
    assert.deepEqual(m.cseq, { seq: 314159, method: 'INVITE' });
    assert.equal(m.body.length, 142);
    assert.deepEqual(serializeMessage(m), bytes);
  });

  it('reads compact header forms and case-insensitive names', () => {
    const m = req(
      msg([
        'OPTIONS sip:b@example.test SIP/2.0',
        'v: SIP/2.0/UDP 198.51.100.1;branch=z9hG4bKc',
        'f: <sip:a@example.test>;tag=9',
        't: sip:b@example.test',
        'i: compact@x',
        'CSEQ: 7 OPTIONS',
        'm: <sip:a@198.51.100.1>',
        'k: path, gruu',
        'l: 0',
      ]),
    );
    assert.equal(m.callId, 'compact@x');
    assert.equal(m.headers.get('Call-ID'), 'compact@x');
    assert.equal(m.headers.get('contact'), '<sip:a@198.51.100.1>');
    assert.deepEqual(m.headers.values('Supported'), ['path', 'gruu']);
    assert.equal(m.cseq!.seq, 7);
    assert.equal(m.to!.uri.toString(), 'sip:b@example.test');
  });

  it('unfolds continuation lines', () => {
    const m = req(
      msg([
        'OPTIONS sip:b@example.test SIP/2.0',
        ...BASE,
        'Subject: I know you are there,',
        '   pick up the phone',
        '\tand talk to me!',
      ]),
    );
    assert.equal(m.headers.get('subject'), 'I know you are there, pick up the phone and talk to me!');
  });

  it('splits list headers at top-level commas only, across several fields', () => {
    const m = req(
      msg([
        'OPTIONS sip:b@example.test SIP/2.0',
        'Via: SIP/2.0/UDP 198.51.100.1;branch=z9hG4bKa, SIP/2.0/TCP 198.51.100.2:5070;branch=z9hG4bKb',
        'Via: SIP/2.0/UDP [2001:db8::9]:5080;branch=z9hG4bKc;received=2001:db8::10',
        ...BASE.slice(1),
        'Contact: "Doe, \\"John\\"" <sip:j@example.test;lr>;q=0.5, <sip:k@example.test>',
      ]),
    );
    const vias = m.vias();
    assert.deepEqual(
      vias.map((v) => [v!.transport, v!.host, v!.port, v!.branch]),
      [
        ['UDP', '198.51.100.1', undefined, 'z9hG4bKa'],
        ['TCP', '198.51.100.2', 5070, 'z9hG4bKb'],
        ['UDP', '2001:db8::9', 5080, 'z9hG4bKc'],
      ],
    );
    const contacts = m.nameAddrs('contact');
    assert.equal(contacts.length, 2);
    assert.equal(contacts[0]!.displayName, 'Doe, "John"');
    assert.equal(contacts[0]!.params.get('q'), '0.5');
    assert.equal((contacts[0]!.uri as SipUri).params.get('lr'), null);
    assert.deepEqual(splitTopLevel('<sip:a@x?h=1,2>;p="x,y", b'), ['<sip:a@x?h=1,2>;p="x,y"', 'b']);
  });

  it('parses IPv6 references in the Request-URI and Via', () => {
    const m = req(
      msg([
        'OPTIONS sip:bob@[2001:db8::1]:5070;transport=tcp SIP/2.0',
        'Via: SIP/2.0/TCP [2001:db8::2];branch=z9hG4bKv6',
        ...BASE.slice(1),
      ]),
    );
    const uri = m.requestUri as SipUri;
    assert.equal(uri.host, '2001:db8::1');
    assert.equal(uri.port, 5070);
    assert.equal(uri.transport, 'tcp');
    assert.equal(m.via!.sentBy, '[2001:db8::2]');
  });

  it('parses tel URIs, %-escapes and URI headers', () => {
    const tel = req(msg(['OPTIONS tel:+1-201-555-0123;phone-context=example.test SIP/2.0', ...BASE]));
    assert.ok(tel.requestUri instanceof TelUri);
    assert.equal((tel.requestUri as TelUri).number, '+1-201-555-0123');
    const esc = req(msg(['OPTIONS sip:%61lice%20smith@example.test SIP/2.0', ...BASE]));
    assert.equal((esc.requestUri as SipUri).userText, 'alice smith');
    const hdr = req(msg(['OPTIONS sip:b@example.test?subject=project%20x&priority=urgent SIP/2.0', ...BASE]));
    assert.deepEqual((hdr.requestUri as SipUri).headers, [
      ['subject', 'project%20x'],
      ['priority', 'urgent'],
    ]);
  });

  it('reads addr-spec parameters as header parameters (§20.10)', () => {
    const m = req(
      msg([
        'OPTIONS sip:b@example.test SIP/2.0',
        BASE[0]!,
        'From: sip:a@example.test;tag=xyz',
        ...BASE.slice(2),
      ]),
    );
    assert.equal(m.from!.tag, 'xyz');
    assert.equal((m.from!.uri as SipUri).params.size, 0);
  });

  it('tolerates odd whitespace: around the colon, inside Via, tabs', () => {
    const m = req(
      msg([
        'OPTIONS sip:b@example.test SIP/2.0',
        'Via  :\tSIP / 2.0 / UDP   198.51.100.1 ; branch = z9hG4bKws',
        'From:<sip:a@example.test>;tag=1',
        'To :   <sip:b@example.test>   ',
        'Call-ID:c1',
        'CSeq:\t1\tOPTIONS',
      ]),
    );
    assert.equal(m.via!.branch, 'z9hG4bKws');
    assert.equal(m.cseq!.seq, 1);
    assert.equal(m.callId, 'c1');
  });

  it('skips CRLFs before the start line (§7.5)', () => {
    const m = req(
      Buffer.concat([Buffer.from('\r\n\r\n'), msg(['OPTIONS sip:b@example.test SIP/2.0', ...BASE])]),
    );
    assert.equal(m.method, 'OPTIONS');
  });

  it('keeps binary bodies intact, framed by Content-Length', () => {
    const body = Buffer.from([0, 1, 2, 13, 10, 13, 10, 255, 0x80, 0]);
    const head = Buffer.from(
      `MESSAGE sip:b@example.test SIP/2.0\r\n${BASE.join('\r\n').replace('OPTIONS', 'MESSAGE')}\r\nContent-Type: application/octet-stream\r\nContent-Length: ${body.length}\r\n\r\n`,
      'latin1',
    );
    const bytes = Buffer.concat([head, body, Buffer.from('trailing garbage')]);
    const m = req(bytes);
    assert.deepEqual(m.body, body);
    assert.deepEqual(serializeMessage(m), Buffer.concat([head, body]));
  });

  it('parses responses, with and without reason phrase', () => {
    const r = ok(msg(['SIP/2.0 183 Session Progress (early media)', ...BASE]));
    assert.equal(r.kind, 'response');
    assert.equal(r.kind === 'response' && r.status, 183);
    assert.equal(r.kind === 'response' && r.reason, 'Session Progress (early media)');
    const e = ok(msg(['SIP/2.0 200 ', ...BASE]));
    assert.equal(e.kind === 'response' && e.reason, '');
  });

  it('keeps non-UTF-8 header bytes unchanged on a round trip', () => {
    const bytes = msg(['OPTIONS sip:b@example.test SIP/2.0', ...BASE, 'Subject: caf\xe9 \xff']);
    assert.deepEqual(
      serializeMessage(ok(bytes)),
      Buffer.concat([bytes.subarray(0, bytes.length - 4), Buffer.from('\r\nContent-Length: 0\r\n\r\n')]),
    );
  });
});

describe('parser: RFC 4475 and RFC 5118 torture classes', () => {
  it('unfolds a CSeq continued on the next line; integers may have leading zeros (RFC 4475 §3.1.1.1)', () => {
    const m = req(
      msg(['OPTIONS sip:b@x SIP/2.0', ...BASE.slice(0, 4), 'cseq: 0009', '  OPTIONS', 'Max-Forwards: 0068']),
    );
    assert.deepEqual(m.cseq, { seq: 9, method: 'OPTIONS' });
    assert.equal(m.maxForwards, 68);
  });

  it('reads LWS before the SEMI of an addr-spec parameter, and folded parameters (RFC 4475 §3.1.1.1)', () => {
    const m = req(
      msg([
        'OPTIONS sip:b@x SIP/2.0',
        BASE[0]!,
        'TO :',
        ' sip:b@example.test ;   tag    = 1918181833n',
        'from   : "J Rosenberg \\\\\\""       <sip:a@example.test>',
        '  ;',
        '  tag = 98asjd8',
        ...BASE.slice(3),
      ]),
    );
    assert.equal(m.to!.tag, '1918181833n');
    assert.equal(m.from!.tag, '98asjd8');
    assert.equal(m.from!.displayName, 'J Rosenberg \\"');
  });

  it('takes the whole token alphabet in methods and header names, and ? in a URI user part (§3.1.1.2)', () => {
    const method = "!interesting-Method0123456789_*+`.%indeed'~";
    const user = "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*";
    const m = req(
      msg([
        `${method} sip:${user}:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com SIP/2.0`,
        BASE[0]!,
        `To: "BEL:\\\x07 NUL:\\\x00 DEL:\\\x7f" <sip:${user}@example.com>`,
        ...BASE.slice(1, 2),
        ...BASE.slice(3, 4),
        `CSeq: 139122385 ${method}`,
        "extensionHeader-!.%*+_`'~: \xef\xbb\xbf",
      ]),
    );
    assert.equal(m.method, method);
    const uri = m.requestUri as SipUri;
    assert.equal(uri.user, user);
    assert.equal(uri.host, 'example.com');
    assert.equal((m.to!.uri as SipUri).user, user);
    assert.equal(m.headers.get("extensionheader-!.%*+_`'~"), '\xef\xbb\xbf');
  });

  it('tolerates the three-colon IPv6 reference of RFC 3261 ABNF (RFC 5118 §4.10)', () => {
    const m = req(msg(['OPTIONS sip:user@[2001:db8:::192.0.2.1] SIP/2.0', ...BASE]));
    assert.equal((m.requestUri as SipUri).host, '2001:db8::192.0.2.1');
  });

  it('rejects extraneous separators in Via and Contact parameters (RFC 4475 §3.1.2.1)', () => {
    for (const via of [
      'SIP/2.0/UDP 192.0.2.15;;,;,,',
      'SIP/2.0/UDP 192.0.2.15;',
      'SIP/2.0/UDP h;branch=z9hG4bK1;;a',
      'SIP/2.0/UDP h;branch=z9hG4bK1,,SIP/2.0/UDP g',
      'SIP/2.0/UDP h;branch=z9hG4bK1, ',
    ]) {
      const r = parseMessage(msg(['OPTIONS sip:b@x SIP/2.0', `Via: ${via}`, ...BASE.slice(1)]));
      assert.ok(!r.ok, via);
      if (!r.ok) assert.equal(r.error.header, 'via');
    }
    const two = req(msg(['OPTIONS sip:b@x SIP/2.0', `${BASE[0]}, SIP/2.0/TCP g;x="a,,b"`, ...BASE.slice(1)]));
    assert.equal(two.headers.values('via').length, 2);
    assert.equal(hasEmptyElement('a, "x,,y", <sip:b;c=d,,>'), false);
    assert.equal(parseNameAddr('"Joe" <sip:joe@example.org>;;;;'), undefined);
    assert.equal(parseNameAddr('sip:joe@example.org;'), undefined);
    assert.equal(parseNameAddr('sip:joe@example.org ; tag = 1')?.tag, '1');
  });

  it('reads the headers after a malformed request line, so that the 400 can be addressed (§3.1.2.8-10)', () => {
    for (const line of [
      'OPTIONS sip:b@x SIP/2.0  ',
      'INVITE  sip:b@x  SIP/2.0',
      'INVITE sip:b@x; lr SIP/2.0',
    ]) {
      const r = parseMessage(msg([line, ...BASE]));
      assert.ok(!r.ok, line);
      if (r.ok) continue;
      assert.equal(r.error.code, 'bad-start-line');
      assert.equal(r.error.startLine, 'request');
      assert.equal(r.error.headers?.get('via'), BASE[0]!.slice(5));
    }
  });
});

describe('parser: invalid messages give a structured error', () => {
  const cases: Array<[string, Buffer, ParseErrorCode, string?]> = [
    [
      'missing Call-ID',
      msg(['OPTIONS sip:b@x SIP/2.0', BASE[0]!, BASE[1]!, BASE[2]!, BASE[4]!]),
      'missing-header',
      'call-id',
    ],
    ['missing Via', msg(['OPTIONS sip:b@x SIP/2.0', ...BASE.slice(1)]), 'missing-header', 'via'],
    [
      'a bare CR inside a header value (a header injected at the next hop)',
      msg(['OPTIONS sip:b@x SIP/2.0', ...BASE, 'Subject: hi\rX-Injected: 1']),
      'bad-header-line',
    ],
    [
      'a bare CR inside a Via value',
      msg(['OPTIONS sip:b@x SIP/2.0', ...BASE, 'Via: SIP/2.0/UDP 10.0.0.1\rX-Injected: 1']),
      'bad-header-line',
    ],
    [
      'a NUL inside a header value',
      msg(['OPTIONS sip:b@x SIP/2.0', ...BASE, 'Subject: a\0b']),
      'bad-header-line',
    ],
    ['missing CSeq', msg(['OPTIONS sip:b@x SIP/2.0', ...BASE.slice(0, 4)]), 'missing-header', 'cseq'],
    ['missing From', msg(['OPTIONS sip:b@x SIP/2.0', BASE[0]!, ...BASE.slice(2)]), 'missing-header', 'from'],
    [
      'non-numeric CSeq',
      msg(['OPTIONS sip:b@x SIP/2.0', ...BASE.slice(0, 4), 'CSeq: abc OPTIONS']),
      'bad-header',
      'cseq',
    ],
    [
      'negative CSeq',
      msg(['OPTIONS sip:b@x SIP/2.0', ...BASE.slice(0, 4), 'CSeq: -1 OPTIONS']),
      'bad-header',
      'cseq',
    ],
    [
      'CSeq ≥ 2**31',
      msg(['OPTIONS sip:b@x SIP/2.0', ...BASE.slice(0, 4), 'CSeq: 2147483648 OPTIONS']),
      'bad-header',
      'cseq',
    ],
    [
      'huge CSeq',
      msg(['OPTIONS sip:b@x SIP/2.0', ...BASE.slice(0, 4), `CSeq: ${'9'.repeat(40)} OPTIONS`]),
      'bad-header',
      'cseq',
    ],
    [
      'CSeq method mismatch',
      msg(['OPTIONS sip:b@x SIP/2.0', ...BASE.slice(0, 4), 'CSeq: 1 INVITE']),
      'cseq-method-mismatch',
    ],
    [
      'negative Content-Length',
      msg(['OPTIONS sip:b@x SIP/2.0', ...BASE, 'Content-Length: -5']),
      'bad-content-length',
    ],
    [
      'huge Content-Length',
      msg(['OPTIONS sip:b@x SIP/2.0', ...BASE, 'Content-Length: 99999999999']),
      'bad-content-length',
    ],
    [
      'Content-Length beyond the datagram',
      msg(['OPTIONS sip:b@x SIP/2.0', ...BASE, 'Content-Length: 10'], 'abc'),
      'body-truncated',
    ],
    [
      'two Content-Lengths',
      msg(['OPTIONS sip:b@x SIP/2.0', ...BASE, 'Content-Length: 0', 'l: 3'], 'abc'),
      'bad-content-length',
    ],
    ['other SIP version', msg(['OPTIONS sip:b@x SIP/3.0', ...BASE]), 'bad-version'],
    ['double space in request line', msg(['OPTIONS  sip:b@x SIP/2.0', ...BASE]), 'bad-start-line'],
    ['no version', msg(['OPTIONS sip:b@x', ...BASE]), 'bad-start-line'],
    ['method not a token', msg(['OPT<IONS sip:b@x SIP/2.0', ...BASE]), 'bad-start-line'],
    ['Request-URI without host', msg(['OPTIONS sip:b@ SIP/2.0', ...BASE]), 'bad-request-uri'],
    ['unclosed IPv6 reference', msg(['OPTIONS sip:b@[2001:db8::1 SIP/2.0', ...BASE]), 'bad-request-uri'],
    ['bad IPv6 reference', msg(['OPTIONS sip:b@[2001:db8:::1] SIP/2.0', ...BASE]), 'bad-request-uri'],
    ['port out of range', msg(['OPTIONS sip:b@x:70000 SIP/2.0', ...BASE]), 'bad-request-uri'],
    ['bad escape', msg(['OPTIONS sip:b%zz@x SIP/2.0', ...BASE]), 'bad-request-uri'],
    [
      'header line without colon',
      msg(['OPTIONS sip:b@x SIP/2.0', ...BASE, 'Bogus header']),
      'bad-header-line',
    ],
    [
      'unterminated quote',
      msg(['OPTIONS sip:b@x SIP/2.0', BASE[0]!, 'From: "Alice <sip:a@x>;tag=1', ...BASE.slice(2)]),
      'bad-header',
      'from',
    ],
    [
      'To without URI',
      msg(['OPTIONS sip:b@x SIP/2.0', ...BASE.slice(0, 2), 'To: <>', ...BASE.slice(3)]),
      'bad-header',
      'to',
    ],
    [
      'Via without host',
      msg(['OPTIONS sip:b@x SIP/2.0', 'Via: SIP/2.0/UDP ;branch=z9hG4bK1', ...BASE.slice(1)]),
      'bad-header',
      'via',
    ],
    [
      'Max-Forwards not a number',
      msg(['OPTIONS sip:b@x SIP/2.0', ...BASE, 'Max-Forwards: seventy']),
      'bad-header',
      'max-forwards',
    ],
    [
      'Max-Forwards too large',
      msg(['OPTIONS sip:b@x SIP/2.0', ...BASE, 'Max-Forwards: 256']),
      'bad-header',
      'max-forwards',
    ],
    ['status code out of range', msg(['SIP/2.0 99 Odd', ...BASE]), 'bad-status-code'],
    ['status code with letters', msg(['SIP/2.0 2x0 OK', ...BASE]), 'bad-status-code'],
    ['response of another version', msg(['SIP/3.0 200 OK', ...BASE]), 'bad-version'],
  ];
  for (const [name, bytes, code, header] of cases) {
    it(name, () => {
      const r = parseMessage(bytes);
      assert.equal(r.ok, false, 'must not parse');
      if (r.ok) return;
      assert.equal(r.error.code, code);
      if (header !== undefined) assert.equal(r.error.header, header);
      assert.ok(r.error.reason.length > 0);
    });
  }

  it('enforces the size, header-count and line-length limits', () => {
    const limits = { maxMessageBytes: 4096, maxHeaders: 10, maxLineLength: 200 };
    const big = msg(['OPTIONS sip:b@x SIP/2.0', ...BASE], 'x'.repeat(5000));
    assert.equal((parseMessage(big, limits) as { error: { code: string } }).error.code, 'too-large');
    const many = msg([
      'OPTIONS sip:b@x SIP/2.0',
      ...BASE,
      ...Array.from({ length: 10 }, (_, i) => `X-H${i}: v`),
    ]);
    assert.equal((parseMessage(many, limits) as { error: { code: string } }).error.code, 'too-many-headers');
    const long = msg(['OPTIONS sip:b@x SIP/2.0', ...BASE, `Subject: ${'y'.repeat(300)}`]);
    assert.equal((parseMessage(long, limits) as { error: { code: string } }).error.code, 'line-too-long');
    const folded = msg([
      'OPTIONS sip:b@x SIP/2.0',
      ...BASE,
      'Subject: a',
      ...Array.from({ length: 50 }, () => ' yyyyyyyyyy'),
    ]);
    assert.equal((parseMessage(folded, limits) as { error: { code: string } }).error.code, 'line-too-long');
  });

  it('keeps the headers read so far in the error, for addressing a 400', () => {
    const r = parseMessage(msg(['INVITE sip:b@x SIP/2.0', ...BASE.slice(0, 4), 'CSeq: x INVITE']));
    assert.ok(!r.ok);
    if (r.ok) return;
    assert.equal(r.error.startLine, 'request');
    assert.equal(r.error.method, 'INVITE');
    assert.equal(r.error.headers?.get('call-id'), 'c1@example.test');
  });
});
