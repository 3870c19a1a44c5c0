import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { aorKey, pairKey, pairLeaseId, parseKey, permitKey } from '../../src/cluster/keys.js';

describe('cluster keys', () => {
  it('lays out AoR, pair and permit keys under prefix/domain', () => {
    assert.equal(
      aorKey('/sipha', 'example.test', 'bob@example.test'),
      '/sipha/example.test/aor/bob@example.test',
    );
    assert.equal(pairKey('/sipha', 'example.test', 'p1'), '/sipha/example.test/pair/p1');
    assert.equal(permitKey('/sipha', 'example.test', 'p1'), '/sipha/example.test/pair/p1/permit');
  });

  it('parses them back, a permit being neither an AoR nor a pair', () => {
    assert.deepEqual(parseKey('/s', 'd', '/s/d/aor/bob@d'), { kind: 'aor', aor: 'bob@d' });
    assert.deepEqual(parseKey('/s', 'd', '/s/d/pair/p1'), { kind: 'pair', pair: 'p1' });
    assert.deepEqual(parseKey('/s', 'd', '/s/d/pair/p1/permit'), { kind: 'other' });
    assert.deepEqual(parseKey('/s', 'd', '/s/other/aor/x'), { kind: 'other' });
  });

  it('derives one positive 62-bit lease ID per (prefix, domain, pair), the same on every call', () => {
    const a = pairLeaseId('/sipha', 'example.test', 'p1');
    assert.equal(a, pairLeaseId('/sipha', 'example.test', 'p1'));
    assert.notEqual(a, pairLeaseId('/sipha', 'example.test', 'p2'));
    assert.notEqual(a, pairLeaseId('/sipha', 'other.test', 'p1'));
    assert.notEqual(a, pairLeaseId('/other', 'example.test', 'p1'));
    const n = BigInt(a);
    assert.ok(n > 0n && n < 1n << 62n, a);
    assert.match(a, /^[1-9][0-9]*$/);
  });
});
