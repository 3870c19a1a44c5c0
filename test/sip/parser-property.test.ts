// Property-based round trips: whatever well-formed message we build, serialise → parse → serialise is stable and the
// parsed fields are the ones we put in.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { quote } from '../../src/sip/grammar.js';
import { Headers } from '../../src/sip/headers.js';
import { SipRequest, SipResponse } from '../../src/sip/message.js';
import { parseMessage } from '../../src/sip/parser.js';
import { serializeMessage } from '../../src/sip/serializer.js';
import { parseUri, SipUri } from '../../src/sip/uri.js';

const token = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9.!%*_+`'~-]{0,11}$/);
const user = fc.stringMatching(/^(?:[A-Za-z0-9._~!$&=+-]|%[0-9A-F]{2}){1,16}$/);
const host = fc.oneof(fc.ipV4(), fc.ipV6(), fc.domain());
const port = fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined });
const paramValue = fc.stringMatching(/^[A-Za-z0-9._~-]{1,10}$/);
const uriParams = fc.uniqueArray(
  fc.tuple(fc.stringMatching(/^[a-z][a-z0-9-]{0,7}$/), fc.option(paramValue, { nil: null })),
  {
    selector: ([k]) => k,
    maxLength: 4,
  },
);
const sipUri = fc
  .record({
    scheme: fc.constantFrom('sip' as const, 'sips' as const),
    user: fc.option(user, { nil: undefined }),
    host,
    port,
    params: uriParams,
  })
  .map((u) => new SipUri(u.scheme, u.user, undefined, u.host, u.port, new Map(u.params)));
const displayName = fc.option(
  fc.string({ unit: fc.constantFrom('a', 'Z', ' ', '"', '\\', ',', ';', '<', '>', 'é', '9') }),
  {
    nil: undefined,
  },
);

describe('parser round trips (fast-check)', () => {
  it('SIP URIs survive toString → parse → toString', () => {
    fc.assert(
      fc.property(sipUri, (uri) => {
        const text = uri.toString();
        const parsed = parseUri(text);
        assert.ok(parsed instanceof SipUri, `did not parse: ${text}`);
        assert.equal(parsed.toString(), text);
        assert.equal(parsed.host.toLowerCase(), uri.host.toLowerCase());
        assert.equal(parsed.port, uri.port);
      }),
      { numRuns: 2000 },
    );
  });

  it('requests survive serialise → parse → serialise with their fields intact', () => {
    fc.assert(
      fc.property(
        fc.record({
          method: token,
          uri: sipUri,
          viaHost: host,
          viaPort: port,
          branch: fc.stringMatching(/^[A-Za-z0-9-]{1,20}$/),
          fromName: displayName,
          fromUri: sipUri,
          tag: token,
          callId: fc.stringMatching(/^[A-Za-z0-9@.!%*_+~-]{1,40}$/),
          seq: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
          extra: fc.array(fc.tuple(token, fc.stringMatching(/^[ -~]{0,30}$/)), { maxLength: 6 }),
          body: fc.uint8Array({ maxLength: 300 }),
        }),
        (r) => {
          const h = new Headers();
          const viaHost = r.viaHost.includes(':') ? `[${r.viaHost}]` : r.viaHost;
          h.append(
            'Via',
            `SIP/2.0/UDP ${viaHost}${r.viaPort === undefined ? '' : `:${r.viaPort}`};branch=z9hG4bK${r.branch}`,
          );
          h.append(
            'From',
            `${r.fromName === undefined ? '' : `${quote(r.fromName)} `}<${r.fromUri}>;tag=${r.tag}`,
          );
          h.append('To', `<${r.uri}>`);
          h.append('Call-ID', r.callId);
          h.append('CSeq', `${r.seq} ${r.method}`);
          for (const [name, value] of r.extra) h.append(`X-${name}`, value.trim());
          const m = new SipRequest(r.method, r.uri.toString(), h, Buffer.from(r.body));
          const bytes = serializeMessage(m);
          const parsed = parseMessage(bytes);
          assert.ok(
            parsed.ok,
            parsed.ok ? '' : `${parsed.error.code} ${parsed.error.reason}\n${bytes.toString('latin1')}`,
          );
          const p = parsed.message as SipRequest;
          assert.deepEqual(serializeMessage(p), bytes);
          assert.equal(p.method, r.method);
          assert.equal(p.cseq!.seq, r.seq);
          assert.equal(p.via!.branch, `z9hG4bK${r.branch}`);
          assert.equal(p.from!.tag, r.tag);
          assert.equal(p.from!.displayName ?? '', r.fromName ?? '');
          assert.equal(p.callId, r.callId);
          assert.deepEqual(p.body, Buffer.from(r.body));
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('responses survive the round trip', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 100, max: 699 }),
        fc.stringMatching(/^[ -~]{0,40}$/),
        fc.uint8Array({ maxLength: 100 }),
        (status, reason, body) => {
          const h = new Headers();
          h.append('Via', 'SIP/2.0/TCP 198.51.100.7;branch=z9hG4bKr');
          h.append('From', '<sip:a@example.test>;tag=1');
          h.append('To', '<sip:b@example.test>;tag=2');
          h.append('Call-ID', 'r@x');
          h.append('CSeq', '5 INVITE');
          const bytes = serializeMessage(new SipResponse(status, reason.trim(), h, Buffer.from(body)));
          const parsed = parseMessage(bytes, undefined, 'stream');
          assert.ok(parsed.ok);
          assert.ok(parsed.message.kind === 'response');
          assert.equal(parsed.message.status, status);
          assert.equal(parsed.message.reason, reason.trim());
          assert.deepEqual(serializeMessage(parsed.message), bytes);
        },
      ),
      { numRuns: 1000 },
    );
  });
});
