// Two SIP servers on loopback, a primary and a backup, with real replication between them: REGISTER through the
// primary, the backup holds the binding within milliseconds; a broken link brings a fresh snapshot; roles swap.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { WorkerRoleHolder } from '../../../src/app/worker-role.js';
import { adaptStores } from '../../../src/ha/replication/store-adapter.js';
import { WorkerReplication } from '../../../src/ha/replication/worker-replication.js';
import { createLogger } from '../../../src/log/logger.js';
import type { SipServer } from '../../../src/server/sip-server.js';
import type { SipRequest, SipResponse } from '../../../src/sip/message.js';
import { parseMessage } from '../../../src/sip/parser.js';
import { freePort } from '../../helpers/ports.js';
import { loopback, replicaSipServer, until } from '../../helpers/replication-pair.js';
import { UdpPeer } from '../../helpers/sip-peer.js';

const log = createLogger('silent');
const key = randomBytes(32);

let cseq = 1;
async function register(peer: UdpPeer, sipPort: number, user: string, expires = 600): Promise<void> {
  const branch = `z9hG4bK${randomBytes(6).toString('hex')}`;
  const msg = [
    'REGISTER sip:example.test SIP/2.0',
    `Via: SIP/2.0/UDP 127.0.0.1:${peer.port};branch=${branch}`,
    'Max-Forwards: 70',
    `From: <sip:${user}@example.test>;tag=r${user}`,
    `To: <sip:${user}@example.test>`,
    `Call-ID: reg-${user}`,
    `CSeq: ${cseq++} REGISTER`,
    `Contact: <sip:${user}@127.0.0.1:${peer.port}>`,
    `Expires: ${expires}`,
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
  await peer.send(msg, sipPort);
  const r = await peer.nextResponse((res) => res.headers.get('via')?.includes(branch) ?? false);
  assert.equal(r.status, 200, `REGISTER ${user}`);
}

function parse<T extends SipRequest | SipResponse>(text: string): T {
  const r = parseMessage(Buffer.from(text.split('\n').join('\r\n'), 'latin1'));
  if (!r.ok) throw new Error('unparsable');
  return r.message as T;
}

function call(callId: string): { invite: SipRequest; ok: SipResponse; bye: SipRequest } {
  const head = [
    'Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKcall',
    'From: <sip:alice@example.test>;tag=ft',
    `Call-ID: ${callId}`,
  ];
  const invite = parse<SipRequest>(
    [
      'INVITE sip:bob@example.test SIP/2.0',
      ...head,
      'To: <sip:bob@example.test>',
      'CSeq: 1 INVITE',
      'Content-Length: 0',
      '',
      '',
    ].join('\n'),
  );
  const ok = parse<SipResponse>(
    [
      'SIP/2.0 200 OK',
      ...head,
      'To: <sip:bob@example.test>;tag=tt',
      'CSeq: 1 INVITE',
      'Content-Length: 0',
      '',
      '',
    ].join('\n'),
  );
  const bye = parse<SipRequest>(
    [
      'BYE sip:alice@127.0.0.1 SIP/2.0',
      ...head,
      'To: <sip:bob@example.test>;tag=tt',
      'CSeq: 2 BYE',
      'Content-Length: 0',
      '',
      '',
    ].join('\n'),
  );
  return { invite, ok, bye };
}

describe('replication between two SIP servers on loopback', { timeout: 60_000 }, () => {
  let a: SipServer;
  let b: SipServer;
  let ra: WorkerReplication;
  let rb: WorkerReplication;
  const roleA = new WorkerRoleHolder();
  const roleB = new WorkerRoleHolder();
  let peer: UdpPeer;
  let portA: number;
  let portB: number;

  before(async () => {
    portA = await freePort();
    portB = await freePort();
    const replA = await freePort();
    const replB = await freePort();
    const dead = await freePort(); // nothing listens: the first path is broken
    roleA.set('primary');
    a = await replicaSipServer(portA, roleA, log);
    b = await replicaSipServer(portB, roleB, log);
    const common = { key, log, tickMs: 50, idleTimeoutMs: 1000, retryMs: 50 };
    ra = new WorkerReplication({
      ...common,
      nodeId: 'a',
      role: roleA,
      stores: adaptStores(a),
      listen: [loopback(replA)],
      peers: [loopback(replB)],
    });
    rb = new WorkerReplication({
      ...common,
      nodeId: 'b',
      role: roleB,
      stores: adaptStores(b),
      listen: [loopback(replB)],
      peers: [loopback(dead), loopback(replA)],
    });
    await ra.start();
    peer = await UdpPeer.open();
  });

  after(async () => {
    peer.close();
    await ra.stop();
    await rb.stop();
    await a.stop(0);
    await b.stop(0);
  });

  it('a backup that connects gets the snapshot (over the second path when the first is dead), then is synced', async () => {
    await register(peer, portA, 'alice');
    assert.equal(ra.status().synced, false, 'no backup yet');
    assert.equal(ra.status().promotedSynced, false, 'promoted without ever being synced');
    assert.equal(rb.status().lastSyncedAgoMs, null);
    const d = await ra.drain(50);
    assert.equal(d.ok, false);
    assert.match(d.detail, /no backup/);
    await rb.start();
    await until(() => rb.status().synced && ra.status().synced, 3000, 'synced');
    assert.equal(rb.client.connectedPath, 1);
    assert.equal(b.location.size, 1);
    assert.ok(b.location.find('alice@example.test', `sip:alice@127.0.0.1:${peer.port}`));
  });

  it('a REGISTER through the primary reaches the backup within a few ms, with the same remaining lifetime', async () => {
    const sent = performance.now();
    await register(peer, portA, 'bob', 300);
    const took = await until(() => b.location.hasAor('bob@example.test'), 1000, 'bob on the backup');
    const total = performance.now() - sent;
    assert.ok(
      total < 100,
      `bob replicated ${took.toFixed(1)} ms after the 200 OK (${total.toFixed(1)} ms in all)`,
    );
    const onA = a.location.lookup('bob@example.test', performance.now())[0];
    const onB = b.location.lookup('bob@example.test', performance.now())[0];
    assert.ok(onA && onB);
    // Same process, same monotonic clock: the rebuilt expiry is within a few ms of the original.
    assert.ok(Math.abs(onA.expiresAt - onB.expiresAt) < 20, `expiry ${onA.expiresAt} vs ${onB.expiresAt}`);
    await until(() => ra.status().ackedSeq === ra.status().lastSeq, 1000, 'ack');
    assert.notEqual(ra.status().lagP99Ms, null);
  });

  it('dialogs follow: created, confirmed, ended', async () => {
    const c = call('call-1');
    a.dialogs.onInviteResponse(c.invite, c.ok);
    await until(() => b.dialogs.get('call-1;ft;tt')?.state === 'confirmed', 1000, 'dialog on the backup');
    a.dialogs.onBye(c.bye);
    await until(() => b.dialogs.size === 0, 1000, 'dialog ended on the backup');
  });

  it('unregistering removes the binding on the backup; the backup never expires anything itself', async () => {
    await register(peer, portA, 'carol', 0);
    await register(peer, portA, 'carol');
    await register(peer, portA, 'carol', 0);
    await until(() => !b.location.hasAor('carol@example.test') && rb.status().synced, 1000, 'carol gone');
    assert.equal(b.acting, false);
  });

  it('drain resolves once the backup acknowledged the last change', async () => {
    await register(peer, portA, 'dave');
    const r = await ra.drain(1000);
    assert.equal(r.ok, true, r.detail);
    assert.equal(r.ackedSeq, r.lastSeq);
    assert.ok(b.location.hasAor('dave@example.test'));
  });

  it('a broken link brings a reconnect and a new snapshot; state changed meanwhile arrives', async () => {
    const before = rb.client.snapshots;
    rb.client.drop('test');
    await until(() => !rb.status().connected, 1000, 'disconnect seen');
    assert.equal(rb.status().synced, false);
    // Changes while the link is down come with the next snapshot.
    await register(peer, portA, 'erin');
    await register(peer, portA, 'dave', 0);
    await until(() => rb.client.snapshots === before + 1 && rb.status().synced, 3000, 'resynced');
    assert.ok(b.location.hasAor('erin@example.test'));
    assert.equal(
      b.location.hasAor('dave@example.test'),
      false,
      'removed while disconnected: gone after the snapshot',
    );
    assert.equal(b.location.size, a.location.size);
  });

  it('roles swap: the new primary serves the old one, which resyncs from its snapshot', async () => {
    const c = call('call-2');
    a.dialogs.onInviteResponse(c.invite, c.ok);
    const drained = await ra.drain(1000);
    assert.equal(drained.ok, true, drained.detail);
    // Handover: the old primary steps down first, then the backup is promoted.
    roleA.set('backup');
    roleB.set('primary');
    assert.equal(a.acting, false);
    assert.equal(b.acting, true);
    // The link went down as A stepped down, just before the promotion: B still counts as synced then.
    assert.equal(rb.status().promotedSynced, true);
    await until(() => ra.status().synced && rb.status().synced, 3000, 'old primary synced as backup');
    assert.equal(b.dialogs.get('call-2;ft;tt')?.state, 'confirmed');
    // The call goes on: its BYE through the new primary ends it on both.
    b.dialogs.onBye(c.bye);
    await until(() => a.dialogs.size === 0, 1000, 'BYE replicated back');
    await register(peer, portB, 'frank');
    await until(() => a.location.hasAor('frank@example.test'), 1000, 'frank on the new backup');
    assert.deepEqual(
      a.location
        .all()
        .map((x) => x.aor)
        .sort(),
      b.location
        .all()
        .map((x) => x.aor)
        .sort(),
    );
  });

  it('a primary whose backup goes away reports it unsynced', async () => {
    await rb.stop();
    await until(() => !ra.status().connected, 3000, 'backup lost its primary');
    assert.equal(ra.status().synced, false);
  });
});
