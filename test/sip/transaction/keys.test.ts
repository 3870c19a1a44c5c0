import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  clientKeyForRequest,
  clientKeyForResponse,
  hasMagicCookie,
  inviteKeyForCancel,
  rfc2543AckKey,
  serverKey,
} from '../../../src/sip/transaction/keys.js';
import { makeRequest, makeResponse, type RequestSpec } from './helpers.js';

const INVITE: RequestSpec = { method: 'INVITE', branch: 'z9hG4bKabc' };
const LEGACY_INVITE: RequestSpec = { method: 'INVITE', branch: '' };

describe('server transaction keys (§17.2.3)', () => {
  // [name, the request that created the transaction, a received request, same transaction?]
  const table: Array<[string, RequestSpec, RequestSpec, boolean]> = [
    ['retransmission', INVITE, INVITE, true],
    [
      'ACK with the same branch matches the INVITE',
      INVITE,
      { ...INVITE, method: 'ACK', cseqMethod: 'ACK', toTag: 'x' },
      true,
    ],
    ['CANCEL with the same branch is its own transaction', INVITE, { ...INVITE, method: 'CANCEL' }, false],
    ['same branch from another sent-by', INVITE, { ...INVITE, sentBy: '198.51.100.101:5060' }, false],
    [
      'sent-by host compares case-insensitively',
      { ...INVITE, sentBy: 'PC.Example.test' },
      { ...INVITE, sentBy: 'pc.example.TEST' },
      true,
    ],
    [
      'sent-by with and without a port differ',
      { ...INVITE, sentBy: 'pc.example.test' },
      { ...INVITE, sentBy: 'pc.example.test:5060' },
      false,
    ],
    ['other branch', INVITE, { ...INVITE, branch: 'z9hG4bKabd' }, false],
    ['cookie match ignores Call-ID and tags', INVITE, { ...INVITE, callId: 'other', fromTag: 'other' }, true],
    [
      'non-INVITE retransmission',
      { method: 'OPTIONS', branch: 'z9hG4bKo' },
      { method: 'OPTIONS', branch: 'z9hG4bKo' },
      true,
    ],
    ['RFC 2543 retransmission', LEGACY_INVITE, LEGACY_INVITE, true],
    [
      'RFC 2543 branch without cookie, same value',
      { method: 'INVITE', branch: 'old1' },
      { method: 'INVITE', branch: 'old1' },
      true,
    ],
    ['RFC 2543 other From tag', LEGACY_INVITE, { ...LEGACY_INVITE, fromTag: 'from-2' }, false],
    ['RFC 2543 other Call-ID', LEGACY_INVITE, { ...LEGACY_INVITE, callId: 'call-2@example.test' }, false],
    ['RFC 2543 other CSeq number', LEGACY_INVITE, { ...LEGACY_INVITE, cseq: 2 }, false],
    ['RFC 2543 other Request-URI', LEGACY_INVITE, { ...LEGACY_INVITE, uri: 'sip:carol@example.test' }, false],
    ['RFC 2543 other top Via', LEGACY_INVITE, { ...LEGACY_INVITE, sentBy: '198.51.100.101:5060' }, false],
    ['RFC 2543 CANCEL is its own transaction', LEGACY_INVITE, { ...LEGACY_INVITE, method: 'CANCEL' }, false],
    [
      'RFC 2543 ACK without the To tag of a response',
      LEGACY_INVITE,
      { ...LEGACY_INVITE, method: 'ACK', cseqMethod: 'ACK' },
      true,
    ],
  ];
  for (const [name, created, received, same] of table) {
    it(`${name}: ${same ? 'matches' : 'does not match'}`, () => {
      const a = serverKey(makeRequest(created));
      const b = serverKey(makeRequest(received));
      assert.ok(a !== undefined && b !== undefined);
      assert.equal(a === b, same, `${a} vs ${b}`);
    });
  }

  it('an RFC 2543 ACK matches through the To tag of the response sent', () => {
    const invite = makeRequest(LEGACY_INVITE);
    const response = makeResponse(invite, 486, 'Busy Here', 'resp-tag');
    const ack = makeRequest({ ...LEGACY_INVITE, method: 'ACK', cseqMethod: 'ACK', toTag: 'resp-tag' });
    assert.notEqual(serverKey(ack), serverKey(invite));
    assert.equal(serverKey(ack), rfc2543AckKey(invite, response));
    // With the cookie the INVITE's key already covers the ACK: no alias.
    const modern = makeRequest(INVITE);
    assert.equal(rfc2543AckKey(modern, makeResponse(modern, 486, 'Busy Here', 'resp-tag')), undefined);
  });

  it('a CANCEL finds the key of the INVITE it cancels, with and without the cookie', () => {
    for (const spec of [INVITE, LEGACY_INVITE]) {
      const cancel = makeRequest({ ...spec, method: 'CANCEL' });
      assert.equal(inviteKeyForCancel(cancel), serverKey(makeRequest(spec)));
      assert.notEqual(serverKey(cancel), serverKey(makeRequest(spec)));
    }
  });

  it('recognises the magic cookie exactly', () => {
    assert.equal(hasMagicCookie('z9hG4bK123'), true);
    assert.equal(hasMagicCookie('z9hg4bk123'), false);
    assert.equal(hasMagicCookie('123'), false);
    assert.equal(hasMagicCookie(undefined), false);
  });
});

describe('client transaction keys (§17.1.3)', () => {
  it('matches a response by top Via branch and CSeq method', () => {
    const invite = makeRequest(INVITE);
    const cancel = makeRequest({ ...INVITE, method: 'CANCEL' });
    assert.equal(
      clientKeyForResponse(makeResponse(invite, 180, 'Ringing', 't')),
      clientKeyForRequest(invite),
    );
    assert.equal(clientKeyForResponse(makeResponse(cancel, 200, 'OK', 't')), clientKeyForRequest(cancel));
    assert.notEqual(clientKeyForRequest(cancel), clientKeyForRequest(invite));
    const other = makeRequest({ ...INVITE, branch: 'z9hG4bKzzz' });
    assert.notEqual(clientKeyForResponse(makeResponse(other, 200, 'OK')), clientKeyForRequest(invite));
  });

  it('gives no key to a response without a branch', () => {
    const response = makeResponse(makeRequest(LEGACY_INVITE), 200, 'OK');
    assert.equal(clientKeyForResponse(response), undefined);
  });
});
