// Event ids across node restarts: `<boot>-<n>`, so a follower resuming with an id of the node's previous run gets
// everything the new run holds instead of skipping its first events (ids used to restart at 1).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { EventFeed, parseEventId } from '../../src/mgmt/event-feed.js';
import { ManagementServer } from '../../src/mgmt/server.js';
import { followEvents, type SseMessage } from '../../src/mgmt/sse-client.js';
import { freePort } from '../helpers/ports.js';
import { FakeNode } from './fake-node.js';

const TOKEN = 'unit-token-0123456789abcdef';
const log = pino({ level: 'silent' });

describe('event feed ids', () => {
  const feed = (boot: number) => {
    const f = new EventFeed(3, boot);
    for (let i = 0; i < 4; i++) f.push('role', { i });
    return f;
  };

  it('numbers events <boot>-<n>, n from 1', () => {
    const f = new EventFeed(10, 1000);
    assert.equal(f.push('role', {}).id, '1000-1');
    assert.equal(f.push('alarm', {}).id, '1000-2');
  });

  it('resumes after an id of this run; all held when that one is older than the history', () => {
    const f = feed(1000);
    assert.deepEqual(
      f.since('1000-3').map((e) => e.id),
      ['1000-4'],
    );
    assert.deepEqual(f.since('1000-4'), []);
    assert.deepEqual(
      f.since('1000-0').map((e) => e.id),
      ['1000-2', '1000-3', '1000-4'],
    );
  });

  it('an id of another run (the node restarted), or one it cannot read: everything held', () => {
    const f = feed(2000);
    const all = ['2000-2', '2000-3', '2000-4'];
    for (const id of ['1000-900', '3000-1', 'garbage', '-', '1.5'])
      assert.deepEqual(
        f.since(id).map((e) => e.id),
        all,
        id,
      );
  });

  it('a bare number counts in this run (`--since 0` is the whole history)', () => {
    const f = feed(1000);
    assert.equal(f.since('0').length, 3);
    assert.deepEqual(
      f.since('3').map((e) => e.id),
      ['1000-4'],
    );
    assert.deepEqual(parseEventId('17'), { boot: null, n: 17 });
    assert.deepEqual(parseEventId('1700000000000-17'), { boot: '1700000000000', n: 17 });
    assert.equal(parseEventId('a-1'), undefined);
  });
});

describe('sipha events --follow across a node restart', () => {
  it('misses none of the restarted node’s events', async () => {
    const port = await freePort();
    const listen = `127.0.0.1:${port}`;
    const node1 = new FakeNode('a', 'primary', 3, 'b');
    let server = new ManagementServer({ listen, token: TOKEN, node: node1, log });
    await server.start();
    const got: SseMessage[] = [];
    const f = followEvents(
      { url: `http://${listen}`, token: TOKEN },
      { since: '0', retryMs: 300, onMessage: (m) => got.push(m) },
    );
    try {
      await sleep(100);
      node1.setRole('backup', 4);
      node1.setRole('primary', 5);
      await waitFor(() => got.length >= 2);
      // The node restarts: a new process, a new feed whose counter starts again.
      await server.close();
      await sleep(5);
      const node2 = new FakeNode('a', 'starting', 5, 'b');
      server = new ManagementServer({ listen, token: TOKEN, node: node2, log });
      await server.start();
      // Before the follower is back: it resumes with the old run's id "<boot1>-2".
      node2.setRole('backup', 5);
      node2.setRole('primary', 6);
      await waitFor(() => got.length >= 4);
      node2.setRole('backup', 7);
      await waitFor(() => got.length >= 5);
      await sleep(50);
      const roles = got.map((m) => (JSON.parse(m.data) as { to: string; term: number }).term);
      assert.deepEqual(roles, [4, 5, 5, 6, 7], 'every event once, in order');
      const boots = got.map((m) => m.id?.split('-')[0]);
      assert.equal(new Set(boots.slice(0, 2)).size, 1);
      assert.notEqual(boots[2], boots[0], 'the restarted node’s ids name its new run');
      assert.deepEqual(
        got.slice(2).map((m) => m.id?.split('-')[1]),
        ['1', '2', '3'],
      );
    } finally {
      f.close();
      await server.close();
    }
  });
});

async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await sleep(10);
  }
}
