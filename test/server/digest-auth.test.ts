import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DigestAuthenticator, digestResponse, parseDigestCredentials } from '../../src/server/digest-auth.js';

describe('digest authentication', () => {
  // RFC 7616 §3.9.1 example (the same computation RFC 8760 brings to SIP).
  const example = {
    username: 'Mufasa',
    realm: 'http-auth@example.org',
    nonce: '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v',
    uri: '/dir/index.html',
    qop: 'auth',
    nc: '00000001',
    cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ',
  };
  it('computes the RFC 7616 SHA-256 and MD5 example responses', () => {
    assert.equal(
      digestResponse({ ...example, algorithm: 'SHA-256' }, 'Circle of Life', 'GET'),
      '753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1',
    );
    assert.equal(
      digestResponse({ ...example, algorithm: 'MD5' }, 'Circle of Life', 'GET'),
      '8ca523f5e9506fed4657c9700eebdbec',
    );
  });

  let clock = 1_000_000;
  const auth = new DigestAuthenticator(
    'example.test',
    new Map([['alice', 's3cret']]),
    300_000,
    ['SHA-256', 'MD5'],
    Buffer.alloc(32, 7),
    () => clock,
  );

  function answer(
    challenge: string,
    password: string,
    algorithm: 'SHA-256' | 'MD5',
    username = 'alice',
  ): string {
    const nonce = /nonce="([^"]+)"/.exec(challenge)![1]!;
    const c = {
      username,
      realm: 'example.test',
      nonce,
      uri: 'sip:example.test',
      algorithm,
      qop: 'auth',
      nc: '00000001',
      cnonce: 'abc',
    };
    return `Digest username="${username}", realm="example.test", nonce="${nonce}", uri="sip:example.test", response="${digestResponse(c, password, 'REGISTER')}", algorithm=${algorithm}, qop=auth, nc=00000001, cnonce="abc"`;
  }

  it('offers SHA-256 first, then MD5, and accepts a correct answer to either', () => {
    const [sha, md5] = auth.challenges();
    assert.match(sha!, /algorithm=SHA-256/);
    assert.match(md5!, /algorithm=MD5/);
    assert.deepEqual(auth.verify([answer(sha!, 's3cret', 'SHA-256')], 'REGISTER'), {
      ok: true,
      username: 'alice',
    });
    assert.deepEqual(auth.verify([answer(md5!, 's3cret', 'MD5')], 'REGISTER'), {
      ok: true,
      username: 'alice',
    });
  });

  it('rejects wrong passwords, unknown users, forged nonces and missing credentials', () => {
    const [sha] = auth.challenges();
    assert.deepEqual(auth.verify([answer(sha!, 'nope', 'SHA-256')], 'REGISTER'), {
      ok: false,
      reason: 'bad-credentials',
    });
    assert.deepEqual(auth.verify([answer(sha!, 's3cret', 'SHA-256', 'mallory')], 'REGISTER'), {
      ok: false,
      reason: 'unknown-user',
    });
    const forged = answer(sha!.replace(/nonce="[^."]+/, 'nonce="zzzz'), 's3cret', 'SHA-256');
    assert.deepEqual(auth.verify([forged], 'REGISTER'), { ok: false, reason: 'bad-nonce' });
    assert.deepEqual(auth.verify([], 'REGISTER'), { ok: false, reason: 'no-credentials' });
    assert.deepEqual(auth.verify(['Basic YWxpY2U6czNjcmV0'], 'REGISTER'), {
      ok: false,
      reason: 'bad-credentials',
    });
  });

  it('calls a correct answer to an expired nonce stale, so the phone can retry silently', () => {
    const [sha] = auth.challenges();
    clock += 300_001;
    assert.deepEqual(auth.verify([answer(sha!, 's3cret', 'SHA-256')], 'REGISTER'), {
      ok: false,
      reason: 'stale-nonce',
    });
    assert.match(auth.challenges(true)[0]!, /stale=true/);
  });

  it('parses quoted parameters with commas', () => {
    const c = parseDigestCredentials(
      'Digest username="a,b", realm="r", nonce="n", uri="sip:x", response="00", algorithm=MD5',
    );
    assert.equal(c?.username, 'a,b');
  });
});
