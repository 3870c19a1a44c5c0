// The CTI stream and its client with two scripted nodes: the client follows the primary across a switchover,
// and across dropped connections, without duplicates or gaps.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { CtiClient } from '../../src/mgmt/cti-client.js';
import { type CtiEvent, CtiFeed } from '../../src/mgmt/cti-feed.js';
import { ManagementServer } from '../../src/mgmt/server.js';
import { freePort } from '../helpers/ports.js';
import { FakeNode } from './fake-node.js';

const TOKEN = 'unit-token-0123456789abcdef';
const log = pino({ level: 'silent' });

describe('CTI feed', () => {
  it('numbers events per stream and replays what a client missed', () => {
    const f = new CtiFeed('a', 100, 1000);
    const call = (change: 'created' | 'confirmed' | 'terminated', id: string) =>
      f.push({
        type: 'call',
        change,
        at: 1,
        call: {
          id,
          callId: id,
          caller: 'x',
          callee: 'y',
          state: 'early',
          createdAt: 1,
          confirmedAt: null,
          endedAt: null,
          endReason: change === 'terminated' ? '486' : null,
        },
      });
    call('created', 'd1');
    call('confirmed', 'd1');
    call('terminated', 'd1');
    assert.equal(f.stream, 'a.1000');
    assert.deepEqual(
      f.replay('a.1000', 1).map((e) => [e.seq, e.event, e.index]),
      [
        [2, 'answered', 2],
        [3, 'ended', 3],
      ],
    );
    assert.equal(f.replay('a.1000', 3).length, 0);
    assert.equal(f.replay('a.999', 3).length, 3, 'another stream (restarted node): everything held');
    assert.equal(f.replay(undefined, undefined).length, 0, 'live only');
    assert.equal(f.replay('a.1000', 0)[2]?.reason, '486');
  });
});

describe('CTI client across a switchover', () => {
  let a: FakeNode;
  let b: FakeNode;
  let sa: ManagementServer;
  let sb: ManagementServer;
  let client: CtiClient;
  const got: CtiEvent[] = [];

  before(async () => {
    a = new FakeNode('a', 'primary', 1, 'b');
    b = new FakeNode('b', 'backup', 1, 'a');
    sa = new ManagementServer({ listen: `127.0.0.1:${await freePort()}`, token: TOKEN, node: a, log });
    sb = new ManagementServer({ listen: `127.0.0.1:${await freePort()}`, token: TOKEN, node: b, log });
    await sa.start();
    await sb.start();
    // Events before the client connects are still delivered (first contact replays what a node holds).
    a.call('created', 'early;1;2');
    client = new CtiClient({
      urls: [`http://127.0.0.1:${sa.port}`, `http://127.0.0.1:${sb.port}`],
      token: TOKEN,
      onEvent: (e) => got.push(e),
      reconnectMs: 100,
    });
    client.start();
    await waitFor(() => client.primary === 'a' && client.state().every((n) => n.connected));
  });
  after(async () => {
    client.stop();
    await sa.close();
    await sb.close();
  });

  it('follows the primary: calls from A, switchover, calls from B, each event once, in order per call', async () => {
    a.call('created', 'c1;f;t');
    a.call('confirmed', 'c1;f;t');
    a.call('created', 'c2;f;t');
    await waitFor(() => got.length === 4);
    // Switchover: A demotes, B promotes; the call that A answered ends on B.
    a.setRole('backup', 2);
    b.setRole('primary', 2);
    b.call('terminated', 'c1;f;t');
    b.call('confirmed', 'c2;f;t');
    await waitFor(() => client.primary === 'b' && got.length === 6);
    assert.deepEqual(
      got.map((e) => `${e.node}:${e.dialogId.split(';')[0]}:${e.event}`),
      ['a:early:ringing', 'a:c1:ringing', 'a:c1:answered', 'a:c2:ringing', 'b:c1:ended', 'b:c2:answered'],
    );
  });

  it('resumes after a dropped connection without gaps or duplicates (the node replays from the last seq)', async () => {
    const before = got.length;
    // Drop every connection to B; while the client is away B reports two events.
    for (const ws of (sb as unknown as { wss: { clients: Set<{ terminate(): void }> } }).wss.clients)
      ws.terminate();
    b.call('terminated', 'c2;f;t');
    b.call('created', 'c3;f;t');
    await waitFor(() => got.length === before + 2);
    await sleep(300);
    assert.deepEqual(
      got.slice(before).map((e) => `${e.node}:${e.dialogId.split(';')[0]}:${e.event}`),
      ['b:c2:ended', 'b:c3:ringing'],
    );
    const keys = got.map((e) => `${e.dialogId}#${e.index}`);
    assert.equal(new Set(keys).size, keys.length, 'no duplicates');
    // B's seq numbers as delivered have no holes.
    const seqs = got.filter((e) => e.node === 'b').map((e) => e.seq);
    assert.deepEqual(
      seqs,
      seqs.map((_, i) => (seqs[0] ?? 1) + i),
    );
  });

  it('reconnecting to A (the old primary) brings nothing twice', async () => {
    const before = client.duplicatesDropped;
    // A replay of A's whole stream (as after a reconnect with an unknown stream id) brings nothing new.
    for (const ws of (sa as unknown as { wss: { clients: Set<{ terminate(): void }> } }).wss.clients)
      ws.terminate();
    const n = got.length;
    await waitFor(() => client.state().every((x) => x.connected));
    await sleep(300);
    assert.equal(got.length, n);
    assert.ok(client.duplicatesDropped >= before);
  });
});

async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await sleep(10);
  }
}
