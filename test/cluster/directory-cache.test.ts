import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DirectoryCache, parseEntry, parsePairTarget, reconcile } from '../../src/cluster/directory-cache.js';

const p2 = { pair: 'p2', target: '127.0.0.1:5062', at: 1000 };

describe('directory cache', () => {
  it('finds another pair for an AoR, a miss for none and for our own (stale) entry', () => {
    const c = new DirectoryCache('p1');
    c.put('bob@d', p2);
    c.put('me@d', { pair: 'p1', target: '127.0.0.1:5061', at: 5 });
    assert.deepEqual(c.lookup('bob@d', false), { result: 'remote', entry: p2 });
    assert.deepEqual(c.lookup('nobody@d', false), { result: 'miss' });
    assert.deepEqual(c.lookup('me@d', false), { result: 'miss' });
    assert.equal(c.size, 2);
    c.delete('bob@d');
    assert.deepEqual(c.lookup('bob@d', false), { result: 'miss' });
    assert.equal(c.size, 1);
  });

  it('never sends on what came from another pair (the loop guard)', () => {
    const c = new DirectoryCache('p1');
    c.put('bob@d', p2);
    assert.deepEqual(c.lookup('bob@d', true), { result: 'miss' });
  });

  it('knows the other pairs by their keys and their entries, not ourselves, until they go', () => {
    const c = new DirectoryCache('p1');
    c.putPair('p1', '127.0.0.1:5061');
    c.putPair('p3', '127.0.0.1:5063');
    c.put('bob@d', p2);
    assert.equal(c.isPeerTarget('127.0.0.1:5061'), false);
    assert.equal(c.isPeerTarget('127.0.0.1:5062'), true);
    assert.equal(c.isPeerTarget('127.0.0.1:5063'), true);
    assert.equal(c.pairCount, 2);
    c.delete('bob@d');
    c.deletePair('p3');
    assert.equal(c.isPeerTarget('127.0.0.1:5062'), false);
    assert.equal(c.isPeerTarget('127.0.0.1:5063'), false);
  });

  it('a pair target referenced twice stays known until both references go', () => {
    const c = new DirectoryCache('p1');
    c.putPair('p2', p2.target);
    c.put('bob@d', p2);
    c.put('bob@d', { ...p2, at: 2000 });
    c.deletePair('p2');
    assert.equal(c.isPeerTarget(p2.target), true);
    c.delete('bob@d');
    assert.equal(c.isPeerTarget(p2.target), false);
  });

  it('reset replaces everything', () => {
    const c = new DirectoryCache('p1');
    c.put('old@d', p2);
    c.reset([['bob@d', { ...p2, target: '127.0.0.1:9' }]], [['p4', '127.0.0.1:4']]);
    assert.equal(c.get('old@d'), undefined);
    assert.equal(c.isPeerTarget(p2.target), false);
    assert.equal(c.isPeerTarget('127.0.0.1:9'), true);
    assert.equal(c.isPeerTarget('127.0.0.1:4'), true);
  });

  it('parses entries and pair values, refusing what is not one', () => {
    assert.deepEqual(parseEntry(JSON.stringify(p2)), p2);
    assert.equal(parseEntry('{"pair":"p2"}'), undefined);
    assert.equal(parseEntry('not json'), undefined);
    assert.equal(parsePairTarget('{"target":"1.2.3.4:5"}'), '1.2.3.4:5');
    assert.equal(parsePairTarget('{}'), undefined);
  });
});

describe('directory reconcile (moves, crossed writes)', () => {
  it('does nothing for an AoR we do not hold, or one the directory gives us', () => {
    assert.equal(reconcile('p1', p2, undefined), 'none');
    assert.equal(reconcile('p1', { ...p2, pair: 'p1' }, 500), 'none');
  });

  it('drops ours when another pair registered the user later (last writer by registration time)', () => {
    assert.equal(reconcile('p1', p2, 999), 'drop');
  });

  it('publishes ours again when ours is newer (writes crossed) or our entry is gone while we hold it', () => {
    assert.equal(reconcile('p1', p2, 1001), 'republish');
    assert.equal(reconcile('p1', p2, 1000), 'republish');
    assert.equal(reconcile('p1', undefined, 5), 'republish');
  });
});
