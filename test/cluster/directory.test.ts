// Several pairs for one domain, against a real etcd: three standalone SIP servers on loopback as pairs p1, p2 and
// p3 of example.test. A user registered through p2 is reached by a call through p1 (p1 → p2 → phone, and back by
// Record-Route); only a first and a last binding write to etcd; a user who registers through another pair moves
// there; a pair that goes away takes its users out of the directory, and a call to them gets 480.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { type ClusterDirectory, createClusterDirectory } from '../../src/app/cluster-directory.js';
import { DirectoryMetrics } from '../../src/cluster/directory-metrics.js';
import { configSchema } from '../../src/config/schema.js';
import type { EtcdCluster } from '../../src/lab/etcd-cluster.js';
import { SipServer } from '../../src/server/sip-server.js';
import type { SipRequest, SipResponse } from '../../src/sip/message.js';
import { parseMessage } from '../../src/sip/parser.js';
import { startLoopbackEtcd } from '../helpers/etcd.js';
import { freePort } from '../helpers/ports.js';
import { UdpPeer } from '../helpers/sip-peer.js';

const DOMAIN = 'example.test';

interface Pair {
  id: string;
  port: number;
  server: SipServer;
  cluster: ClusterDirectory;
}

async function startPair(etcd: string[], id: string, revokeOnClose: boolean): Promise<Pair> {
  const port = await freePort();
  const config = configSchema.parse({
    sip: { listen: [`udp://127.0.0.1:${port}`], domain: DOMAIN, warm_up: false },
    cluster: { etcd, pair_id: id, pair_lease_ttl_s: 1, batch_ms: 20, request_timeout_ms: 1000 },
    log: { level: 'warn' },
  });
  const log = pino({ level: 'warn' });
  const server = new SipServer({ config, resolvePath: (p) => p, log });
  const loaded = { file: 'test.yaml', config, resolvePath: (p: string) => p };
  const cluster = await createClusterDirectory(server, loaded, log, { acting: () => true, revokeOnClose });
  assert.ok(cluster !== undefined);
  await server.start();
  cluster.start();
  return { id, port, server, cluster };
}

async function stopPair(p: Pair): Promise<void> {
  await p.server.stop(0);
  await p.cluster.close();
}

/** Polls `cond` every 20 ms for up to `ms`. */
async function eventually(what: string, cond: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

let seq = 0;

function register(user: string, phone: UdpPeer, expires = 600): string {
  seq++;
  return [
    `REGISTER sip:${DOMAIN} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:${phone.port};branch=z9hG4bKreg${seq};rport`,
    'Max-Forwards: 70',
    `From: <sip:${user}@${DOMAIN}>;tag=r${seq}`,
    `To: <sip:${user}@${DOMAIN}>`,
    `Call-ID: reg-${user}-${phone.port}`,
    `CSeq: ${seq} REGISTER`,
    `Contact: <sip:${user}@127.0.0.1:${phone.port}>`,
    `Expires: ${expires}`,
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

function invite(user: string, caller: UdpPeer, call: string, via = `127.0.0.1:${caller.port}`): string {
  seq++;
  return [
    `INVITE sip:${user}@${DOMAIN} SIP/2.0`,
    `Via: SIP/2.0/UDP ${via};branch=z9hG4bKinv${seq};rport`,
    'Max-Forwards: 70',
    `From: <sip:alice@${DOMAIN}>;tag=alice${seq}`,
    `To: <sip:${user}@${DOMAIN}>`,
    `Call-ID: ${call}`,
    'CSeq: 1 INVITE',
    `Contact: <sip:alice@127.0.0.1:${caller.port}>`,
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

/** An in-dialog request from the caller along the route set (the Record-Route of the 200, reversed). */
function inDialog(method: 'ACK' | 'BYE', ok: SipResponse, caller: UdpPeer, cseq: number) {
  seq++;
  const rr = ok.headers.getFields('record-route').reverse();
  const contact = /<([^>]+)>/.exec(ok.headers.get('contact') ?? '')?.[1];
  return [
    `${method} ${contact} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:${caller.port};branch=z9hG4bK${method}${seq};rport`,
    'Max-Forwards: 70',
    ...rr.map((r) => `Route: ${r}`),
    `From: ${ok.headers.get('from')}`,
    `To: ${ok.headers.get('to')}`,
    `Call-ID: ${ok.headers.get('call-id')}`,
    `CSeq: ${cseq} ${method}`,
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

/** The phone's answer to `request`, with its To tag and Contact. */
function answer(request: SipRequest, status: number, reason: string, phone: UdpPeer): string {
  const copy = (name: string) => request.headers.getFields(name).map((v) => `${name}: ${v}`);
  return [
    `SIP/2.0 ${status} ${reason}`,
    ...copy('Via'),
    ...copy('Record-Route'),
    ...copy('From'),
    `To: ${request.headers.get('to')}${request.method === 'INVITE' ? ';tag=callee' : ''}`,
    ...copy('Call-ID'),
    ...copy('CSeq'),
    `Contact: <sip:callee@127.0.0.1:${phone.port}>`,
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

function asRequest(bytes: Buffer): SipRequest {
  const r = parseMessage(bytes);
  assert.ok(r.ok && r.message.kind === 'request');
  return r.message;
}

const isRequest = (method: string) => (b: Buffer) =>
  b.subarray(0, method.length + 1).toString() === `${method} `;

async function registerOn(pair: Pair, user: string, phone: UdpPeer, expires = 600): Promise<void> {
  await phone.send(register(user, phone, expires), pair.port);
  assert.equal((await phone.nextResponse((r) => r.cseq?.method === 'REGISTER')).status, 200);
}

/** A whole call from `caller` through `via` to the phone `callee`: INVITE, 200, ACK, BYE, 200. */
async function call(via: Pair, user: string, caller: UdpPeer, callee: UdpPeer): Promise<SipRequest> {
  const id = `call-${user}-${++seq}`;
  await caller.send(invite(user, caller, id), via.port);
  const inv = asRequest(await callee.next(isRequest('INVITE')));
  assert.equal(inv.uri, `sip:${user}@127.0.0.1:${callee.port}`, 'the phone gets it at its contact');
  const ok = answer(inv, 200, 'OK', callee);
  const top = inv.via!;
  await callee.send(ok, top.rport ?? top.port ?? 5060, top.host);
  const got = await caller.nextResponse((r) => r.status === 200 && r.headers.get('call-id') === id);
  await caller.send(inDialog('ACK', got, caller, 1), via.port);
  const ack = asRequest(await callee.next(isRequest('ACK')));
  assert.equal(ack.headers.get('call-id'), id);
  await caller.send(inDialog('BYE', got, caller, 2), via.port);
  const bye = asRequest(await callee.next(isRequest('BYE')));
  const byeVia = bye.via!;
  await callee.send(answer(bye, 200, 'OK', callee), byeVia.rport ?? byeVia.port ?? 5060, byeVia.host);
  const byeOk = await caller.nextResponse((r) => r.cseq?.method === 'BYE');
  assert.equal(byeOk.status, 200);
  return inv;
}

describe('cluster directory across pairs (real etcd)', () => {
  let etcd: EtcdCluster;
  let p1: Pair;
  let p2: Pair;
  let p3: Pair | undefined;
  const peers: UdpPeer[] = [];
  const phone = async () => {
    const p = await UdpPeer.open();
    peers.push(p);
    return p;
  };

  before(async () => {
    etcd = await startLoopbackEtcd(1);
    p1 = await startPair(etcd.endpoints(), 'p1', true);
    p2 = await startPair(etcd.endpoints(), 'p2', true);
    await eventually(
      'each pair sees the other',
      () => p1.cluster.directory.status().pairs === 2 && p2.cluster.directory.status().pairs === 2,
    );
  });

  after(async () => {
    for (const p of peers) p.close();
    for (const p of [p1, p2, p3]) if (p !== undefined) await stopPair(p).catch(() => {});
    await etcd?.destroy();
  });

  it('a call through p1 reaches a phone registered through p2, and the dialog runs along both', async () => {
    const bob = await phone();
    const alice = await phone();
    await registerOn(p2, 'bob', bob);
    await eventually('p1 sees bob at p2', () => p1.cluster.directory.entry(`bob@${DOMAIN}`)?.pair === 'p2');
    assert.equal(p1.cluster.directory.entry(`bob@${DOMAIN}`)?.target, `127.0.0.1:${p2.port}`);
    const inv = await call(p1, 'bob', alice, bob);
    // Through both proxies: each one record-routes and decrements Max-Forwards (70 - 2).
    assert.equal(inv.headers.getFields('record-route').length, 2);
    assert.equal(inv.headers.get('max-forwards'), '68');
    assert.equal(inv.headers.getFields('via').length, 3);
    assert.equal(await DirectoryMetrics.value(p1.cluster.directory.metrics.lookups, { result: 'remote' }), 1);
    assert.ok((await DirectoryMetrics.value(p2.cluster.directory.metrics.lookups, { result: 'local' })) >= 1);
    // The metrics, as Prometheus reads them.
    const text = await p2.cluster.directory.metrics.registry.metrics();
    assert.match(text, /^sipha_cluster_directory_entries 1$/m);
    assert.match(text, /^sipha_cluster_directory_writes_total 1$/m);
    assert.match(text, /^sipha_cluster_directory_txns_total [1-9]/m);
    assert.match(text, /^sipha_cluster_etcd_request_seconds_count [1-9]/m);
    assert.match(text, /^sipha_cluster_directory_moves_total 0$/m);
    const status = p1.cluster.directory.status();
    assert.deepEqual(
      { entries: status.entries, pairs: status.pairs, reachable: status.etcdReachable, pair: status.pair },
      { entries: 1, pairs: 2, reachable: true, pair: 'p1' },
    );
  });

  it('only a first and a last binding write to etcd; refreshes do not', async () => {
    const writes = () => DirectoryMetrics.value(p2.cluster.directory.metrics.writes);
    const dave = await phone();
    const before = await writes();
    await registerOn(p2, 'dave', dave);
    await eventually('p1 sees dave', () => p1.cluster.directory.entry(`dave@${DOMAIN}`) !== undefined);
    assert.equal(await writes(), before + 1);
    const revision = await etcdRevision(etcd);
    await registerOn(p2, 'dave', dave);
    await registerOn(p2, 'dave', dave);
    await new Promise((r) => setTimeout(r, 200)); // well past batch_ms
    assert.equal(await writes(), before + 1, 'refreshes wrote nothing');
    assert.equal(await etcdRevision(etcd), revision, 'etcd unchanged by refreshes');
    await registerOn(p2, 'dave', dave, 0);
    await eventually(
      'dave leaves the directory',
      () => p1.cluster.directory.entry(`dave@${DOMAIN}`) === undefined,
    );
    assert.equal(await writes(), before + 2);
  });

  it('a user who registers through another pair moves there; p1 drops its binding and calls reach the new phone', async () => {
    const carolOld = await phone();
    const carolNew = await phone();
    const alice = await phone();
    await registerOn(p1, 'carol', carolOld);
    await eventually(
      'p2 sees carol at p1',
      () => p2.cluster.directory.entry(`carol@${DOMAIN}`)?.pair === 'p1',
    );
    await new Promise((r) => setTimeout(r, 5)); // a later registration time
    await registerOn(p2, 'carol', carolNew);
    await eventually('p1 drops carol', () => !p1.server.location.hasAor(`carol@${DOMAIN}`));
    assert.equal(p1.cluster.directory.status().moves, 1);
    assert.equal(await DirectoryMetrics.value(p1.cluster.directory.metrics.moves), 1);
    // p1's last binding went with the move, but the entry stays p2's (p1 deletes only its own).
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(p1.cluster.directory.entry(`carol@${DOMAIN}`)?.pair, 'p2');
    assert.equal(p2.cluster.directory.entry(`carol@${DOMAIN}`)?.pair, 'p2');
    await call(p1, 'carol', alice, carolNew);
    assert.equal(carolOld.received.filter(isRequest('INVITE')).length, 0, 'nothing reached the old phone');
  });

  it('never sends on a request that came from another pair (loop guard): answered as today', async () => {
    const erin = await phone();
    const fake = await phone();
    await registerOn(p2, 'erin', erin);
    await eventually('p1 sees erin', () => p1.cluster.directory.entry(`erin@${DOMAIN}`) !== undefined);
    // Top Via says p2 sent it (rport brings the answer back to this socket).
    await fake.send(invite('erin', fake, 'loop-1', `127.0.0.1:${p2.port}`), p1.port);
    const r = await fake.nextResponse((x) => x.cseq?.method === 'INVITE' && x.status >= 300);
    assert.equal(r.status, 480);
    assert.equal(erin.received.filter(isRequest('INVITE')).length, 0);
  });

  it('a pair that goes away takes its users with it: a call to them gets 480 (revoked on close, or expired)', async () => {
    const frank = await phone();
    const gina = await phone();
    const alice = await phone();
    p3 = await startPair(etcd.endpoints(), 'p3', false);
    await registerOn(p2, 'frank', frank);
    await registerOn(p3, 'gina', gina);
    await eventually(
      'p1 sees frank and gina',
      () =>
        p1.cluster.directory.entry(`frank@${DOMAIN}`) !== undefined &&
        p1.cluster.directory.entry(`gina@${DOMAIN}`) !== undefined,
    );
    // p2 revokes its lease on close; p3 (like an HA pair whose both nodes died) leaves it to expire (1 s TTL).
    await stopPair(p2);
    await stopPair(p3);
    await eventually(
      'frank leaves p1 cache',
      () => p1.cluster.directory.entry(`frank@${DOMAIN}`) === undefined,
      2000,
    );
    await eventually(
      'gina leaves p1 cache',
      () => p1.cluster.directory.entry(`gina@${DOMAIN}`) === undefined,
      6000,
    );
    for (const user of ['frank', 'gina']) {
      const id = `gone-${user}`;
      const started = Date.now();
      await alice.send(invite(user, alice, id), p1.port);
      const r = await alice.nextResponse((x) => x.headers.get('call-id') === id && x.status >= 300, 2000);
      assert.equal(r.status, 480, user);
      assert.ok(Date.now() - started < 1000, 'answered at once');
    }
    assert.equal(p1.cluster.directory.status().pairs, 1, 'only p1 left');
    assert.equal(p1.cluster.directory.status().etcdReachable, true);
  });
});

/** etcd's current revision (every write moves it). */
async function etcdRevision(etcd: EtcdCluster): Promise<string> {
  const { Etcd3 } = await import('etcd3');
  const client = new Etcd3({ hosts: etcd.endpoints() });
  try {
    const res = await client.kv.range({ key: Buffer.from('/'), range_end: Buffer.from([0]), limit: 1 });
    return res.header.revision;
  } finally {
    client.close();
  }
}
