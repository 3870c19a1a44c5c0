// The pair's permit against a real etcd (three members on loopback): one winner at a time, the fencing token
// grows, a withdrawn permit goes to the waiting node at once, a node cut off from etcd says so before its lease can
// expire, and its permit goes to the other node only after the lease expired in etcd.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Etcd3 } from 'etcd3';
import pino from 'pino';
import { PairPermit, permitClientOptions } from '../../src/cluster/pair-permit.js';
import type { EtcdCluster } from '../../src/lab/etcd-cluster.js';
import { startLoopbackEtcd } from '../helpers/etcd.js';

let etcd: EtcdCluster;

/** Waits (bounded) until cond holds; fails the test naming what did not happen. */
async function until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
const clients: Etcd3[] = [];
const permits: PairPermit[] = [];

before(async () => {
  etcd = await startLoopbackEtcd(3);
});
after(async () => {
  await Promise.all(permits.map((p) => p.close().catch(() => {})));
  for (const c of clients) c.close();
  await etcd?.destroy();
});

interface Seen {
  reachable: boolean[];
  won: number[];
  lost: string[];
}

function permit(node: string, key: string, hosts = etcd.endpoints()): { p: PairPermit; seen: Seen } {
  const client = new Etcd3(permitClientOptions({ hosts, dialTimeout: 500 }));
  clients.push(client);
  const seen: Seen = { reachable: [], won: [], lost: [] };
  const p = new PairPermit(
    { client, key, nodeId: node, ttlS: 1, requestTimeoutMs: 500, log: pino({ level: 'silent' }) },
    {
      reachable: (ok) => seen.reachable.push(ok),
      won: (f) => seen.won.push(f),
      lost: (d) => seen.lost.push(d),
    },
  );
  permits.push(p);
  p.start();
  return { p, seen };
}

test('one holder at a time; the waiting node wins the moment the holder withdraws, with a higher fence', async () => {
  const a = permit('a', '/t1/permit');
  const b = permit('b', '/t1/permit');
  await until(() => a.seen.reachable[0] === true && b.seen.reachable[0] === true, 5000, 'both renew');
  await a.p.campaign(false);
  assert.equal(a.seen.won.length, 1);
  const f1 = a.seen.won[0] ?? 0;
  assert.equal(a.p.mayServe(f1), undefined);
  await b.p.campaign(false);
  assert.deepEqual(b.seen.won, []);
  assert.match(b.seen.lost[0] ?? '', /held by node a/);
  const waiting = b.p.campaign(true);
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(b.seen.won, [], 'no permit while a holds it');
  const t0 = Date.now();
  await a.p.withdraw();
  await waiting;
  assert.equal(b.seen.won.length, 1);
  assert.ok((b.seen.won.at(0) ?? 0) > f1, 'the fence grows');
  assert.ok(Date.now() - t0 < 1000, 'a withdrawn permit is taken at once, not after a lease TTL');
  assert.notEqual(a.p.mayServe(f1), undefined, 'the old holder may not add the VIP any more');
  await b.p.withdraw();
});

test('a holder cut off from etcd says so before its lease expires; the other node wins after it expired', async () => {
  // a talks to m1 only: killing m1 cuts a off while m2 and m3 keep a quorum for b.
  const [m1] = etcd.endpoints();
  const a = permit('a', '/t2/permit', [m1 as string]);
  const b = permit('b', '/t2/permit', etcd.endpoints().slice(1));
  await until(() => a.seen.reachable[0] === true && b.seen.reachable[0] === true, 5000, 'both renew');
  await a.p.campaign(false);
  const f1 = a.seen.won[0] ?? 0;
  const waiting = b.p.campaign(true);
  await etcd.stopMember('m1', 'SIGKILL');
  const cutAt = Date.now();
  await until(() => a.seen.reachable.at(-1) === false, 3000, 'a: unreachable');
  const unreachableAt = Date.now();
  assert.notEqual(a.p.mayServe(f1), undefined, 'past its deadline a may not add the VIP');
  await waiting;
  const wonAt = Date.now();
  assert.ok((b.seen.won.at(0) ?? 0) > f1);
  assert.ok(
    unreachableAt < wonAt,
    `a gives up (${unreachableAt - cutAt} ms) before b wins (${wonAt - cutAt} ms)`,
  );
  assert.deepEqual(a.seen.lost, [], 'a lease running out is not reported as a lost permit');
  // m1 back: a renews with a new lease, and asking again without waiting says b holds the permit.
  etcd.startMember('m1');
  await until(() => a.seen.reachable.at(-1) === true, 15_000, 'a: reachable again');
  await a.p.campaign(false);
  assert.match(a.seen.lost.at(-1) ?? '', /held by node b/);
});
