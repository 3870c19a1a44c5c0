// Several pairs with digest authentication (a users file on each): a call that the first pair authenticated is not
// challenged again by the pair it is sent on to (another pair of the domain is a trusted peer), while a stranger
// sending as a pair's neighbour gets no such trust.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { type ClusterDirectory, createClusterDirectory } from '../../src/app/cluster-directory.js';
import { configSchema } from '../../src/config/schema.js';
import type { EtcdCluster } from '../../src/lab/etcd-cluster.js';
import { digestResponse } from '../../src/server/digest-auth.js';
import { SipServer } from '../../src/server/sip-server.js';
import { parseMessage } from '../../src/sip/parser.js';
import { startLoopbackEtcd } from '../helpers/etcd.js';
import { freePort } from '../helpers/ports.js';
import { UdpPeer } from '../helpers/sip-peer.js';

const DOMAIN = 'example.test';

interface Pair {
  port: number;
  server: SipServer;
  cluster: ClusterDirectory;
}

async function startPair(dir: string, etcd: string[], id: string): Promise<Pair> {
  const port = await freePort();
  const config = configSchema.parse({
    sip: { listen: [`udp://127.0.0.1:${port}`], domain: DOMAIN, warm_up: false, users_file: 'users.yaml' },
    cluster: { etcd, pair_id: id, pair_lease_ttl_s: 2, batch_ms: 10 },
    log: { level: 'warn' },
  });
  const log = pino({ level: 'warn' });
  const resolvePath = (p: string) => join(dir, p);
  const server = new SipServer({ config, resolvePath, log });
  const cluster = await createClusterDirectory(server, { file: 'test.yaml', config, resolvePath }, log, {
    acting: () => true,
    revokeOnClose: true,
  });
  assert.ok(cluster !== undefined);
  await server.start();
  cluster.start();
  return { port, server, cluster };
}

async function eventually(what: string, cond: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

let seq = 0;
function invite(caller: UdpPeer, call: string, extra: string[] = []): string {
  seq++;
  return [
    `INVITE sip:bob@${DOMAIN} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:${caller.port};branch=z9hG4bKauth${seq};rport`,
    'Max-Forwards: 70',
    `From: <sip:alice@${DOMAIN}>;tag=a${seq}`,
    `To: <sip:bob@${DOMAIN}>`,
    `Call-ID: ${call}`,
    'CSeq: 1 INVITE',
    `Contact: <sip:alice@127.0.0.1:${caller.port}>`,
    ...extra,
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

describe('cluster directory with authentication (real etcd)', () => {
  let dir: string;
  let etcd: EtcdCluster;
  let p1: Pair;
  let p2: Pair;
  let alice: UdpPeer;
  let bob: UdpPeer;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sipha-dir-auth-'));
    await writeFile(join(dir, 'users.yaml'), 'alice: s3cret\nbob: b0b\n');
    etcd = await startLoopbackEtcd(1);
    p1 = await startPair(dir, etcd.endpoints(), 'p1');
    p2 = await startPair(dir, etcd.endpoints(), 'p2');
    alice = await UdpPeer.open();
    bob = await UdpPeer.open();
  });
  after(async () => {
    alice?.close();
    bob?.close();
    for (const p of [p1, p2]) {
      await p?.server.stop(0);
      await p?.cluster.close();
    }
    await etcd?.destroy();
    await rm(dir, { recursive: true, force: true });
  });

  it('p2 takes from p1 the call p1 authenticated: bob’s phone rings, no second challenge', async () => {
    // bob's binding on p2 (as its registrar would record it after his authenticated REGISTER).
    const now = performance.now();
    p2.server.location.put({
      aor: `bob@${DOMAIN}`,
      contact: `sip:bob@127.0.0.1:${bob.port}`,
      q: 1000,
      expiresAt: now + 600_000,
      callId: 'reg-bob',
      cseq: 1,
      path: [],
      updatedAt: now,
    });
    await eventually('p1 sees bob at p2', () => p1.cluster.directory.entry(`bob@${DOMAIN}`)?.pair === 'p2');
    await alice.send(invite(alice, 'auth-1'), p1.port);
    const challenge = await alice.nextResponse((r) => r.status === 407);
    const md5 = challenge.headers.getFields('proxy-authenticate').find((v) => /algorithm=MD5/.test(v)) ?? '';
    const nonce = /nonce="([^"]+)"/.exec(md5)?.[1];
    assert.ok(nonce);
    const uri = `sip:bob@${DOMAIN}`;
    const c = { username: 'alice', realm: DOMAIN, nonce, uri, algorithm: 'MD5' as const };
    const creds = `Digest username="alice", realm="${DOMAIN}", nonce="${nonce}", uri="${uri}", response="${digestResponse(c, 's3cret', 'INVITE')}", algorithm=MD5`;
    await alice.send(invite(alice, 'auth-2', [`Proxy-Authorization: ${creds}`]), p1.port);
    const got = parseMessage(await bob.next((b) => b.toString('latin1').startsWith('INVITE '), 3000));
    assert.ok(got.ok && got.message.kind === 'request');
    assert.equal(got.message.headers.get('call-id'), 'auth-2');
    assert.deepEqual(got.message.headers.getFields('proxy-authorization'), [], 'credentials stay at p1');
    assert.equal(
      alice.received.filter((b) => b.toString('latin1').startsWith('SIP/2.0 407') && b.includes('auth-2'))
        .length,
      0,
      'no challenge from p2',
    );
  });

  it('without credentials, p1 still challenges a call for a user of another pair', async () => {
    await alice.send(invite(alice, 'auth-3'), p1.port);
    const r = await alice.nextResponse((x) => x.headers.get('call-id') === 'auth-3' && x.status >= 200);
    assert.equal(r.status, 407);
  });
});
