// Acknowledged means replicated, with real sockets on loopback: a primary and a backup SIP server with replication
// between them, the backup's side of the link through a relay that can hold its acks. A REGISTER's 200 and the 2xx
// that confirms a call leave the primary only once the backup has acknowledged the change, or at the bound; the
// server transaction absorbs retransmissions meanwhile; other requests are not held up; a lone primary never waits.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { WorkerRoleHolder } from '../../../src/app/worker-role.js';
import { adaptStores } from '../../../src/ha/replication/store-adapter.js';
import { WorkerReplication } from '../../../src/ha/replication/worker-replication.js';
import { createLogger } from '../../../src/log/logger.js';
import type { SipServer } from '../../../src/server/sip-server.js';
import { createResponse } from '../../../src/sip/build.js';
import type { SipRequest } from '../../../src/sip/message.js';
import { parseMessage } from '../../../src/sip/parser.js';
import { serializeMessage } from '../../../src/sip/serializer.js';
import { freePort } from '../../helpers/ports.js';
import { loopback, replicaSipServer, until } from '../../helpers/replication-pair.js';
import { UdpPeer } from '../../helpers/sip-peer.js';
import { TcpGate } from '../../helpers/tcp-gate.js';

const log = createLogger('silent');
const key = randomBytes(32);
const BOUND_MS = 400;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let cseq = 1;
function registerText(port: number, user: string): { text: string; branch: string } {
  const branch = `z9hG4bK${randomBytes(6).toString('hex')}`;
  const text = [
    'REGISTER sip:example.test SIP/2.0',
    `Via: SIP/2.0/UDP 127.0.0.1:${port};branch=${branch}`,
    'Max-Forwards: 70',
    `From: <sip:${user}@example.test>;tag=r${user}`,
    `To: <sip:${user}@example.test>`,
    `Call-ID: reg-${user}`,
    `CSeq: ${cseq++} REGISTER`,
    `Contact: <sip:${user}@127.0.0.1:${port}>`,
    'Expires: 600',
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
  return { text, branch };
}

/** Responses for `branch` that reached the peer so far (left in its inbox). */
function responsesFor(peer: UdpPeer, branch: string, status: number): number {
  return peer.received.filter((b) => {
    const r = parseMessage(b);
    return r.ok && r.message.kind === 'response' && r.message.status === status && b.includes(branch);
  }).length;
}

describe('acknowledged means replicated, on loopback', { timeout: 60_000 }, () => {
  let a: SipServer;
  let b: SipServer;
  let ra: WorkerReplication;
  let rb: WorkerReplication;
  let gate: TcpGate;
  const roleA = new WorkerRoleHolder();
  const roleB = new WorkerRoleHolder();
  let phone: UdpPeer;
  let other: UdpPeer;
  let portA: number;
  let bindingChanges = 0;

  before(async () => {
    portA = await freePort();
    const portB = await freePort();
    const replA = await freePort();
    const replB = await freePort();
    roleA.set('primary');
    a = await replicaSipServer(portA, roleA, log);
    b = await replicaSipServer(portB, roleB, log);
    gate = await TcpGate.open(replA);
    const common = { key, log, tickMs: 50, idleTimeoutMs: 3000, retryMs: 50, ackWaitMs: BOUND_MS };
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
      peers: [loopback(gate.port)],
    });
    // What start-worker-replication.ts does in the SIP worker.
    a.proxy.commitGate = ra.ackBarrier;
    a.location.subscribe((c) => {
      if (c.origin === 'local') bindingChanges++;
    });
    await ra.start();
    await rb.start();
    phone = await UdpPeer.open();
    other = await UdpPeer.open();
    await until(() => ra.source.synced && rb.status().synced, 5000, 'synced');
  });

  after(async () => {
    gate.resume();
    phone.close();
    other.close();
    await ra.stop();
    await rb.stop();
    await gate.close();
    await a.stop(0);
    await b.stop(0);
  });

  it('with acks flowing, the 200 comes back promptly and the backup already holds the binding', async () => {
    const { text, branch } = registerText(phone.port, 'amy');
    const sent = performance.now();
    await phone.send(text, portA);
    await phone.nextResponse((r) => r.status === 200 && r.via?.branch === branch);
    const took = performance.now() - sent;
    assert.ok(b.location.hasAor('amy@example.test'), 'on the backup before the phone got its 200');
    assert.ok(took < BOUND_MS, `200 after ${took.toFixed(1)} ms`);
    assert.equal(ra.ackBarrier.stats.waits, 1);
    assert.equal(ra.ackBarrier.stats.acked, 1);
    assert.equal(ra.ackBarrier.stats.timeouts, 0);
  });

  it('the 200 waits for the held ack; retransmissions are absorbed and other requests pass meanwhile', async () => {
    const changesBefore = bindingChanges;
    const { text, branch } = registerText(phone.port, 'ben');
    gate.pause();
    await phone.send(text, portA);
    await sleep(60);
    // A retransmission (same branch) while the 200 waits: the server transaction is in Trying and absorbs it.
    await phone.send(text, portA);
    // An OPTIONS to the server meanwhile is answered at once: the wait holds nothing but that one response.
    await other.send(
      [
        `OPTIONS sip:127.0.0.1:${portA} SIP/2.0`,
        `Via: SIP/2.0/UDP 127.0.0.1:${other.port};branch=z9hG4bKopt${randomBytes(4).toString('hex')}`,
        'Max-Forwards: 70',
        '<sip:x@example.test>;tag=o'.replace(/^/, 'From: '),
        'To: <sip:127.0.0.1>',
        'Call-ID: opt-1',
        'CSeq: 1 OPTIONS',
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n'),
      portA,
    );
    const options = await other.nextResponse(() => true, 1000);
    assert.equal(options.status, 200);
    await sleep(90);
    assert.equal(responsesFor(phone, branch, 200), 0, 'no 200 while the backup has not acknowledged');
    assert.ok(b.location.hasAor('ben@example.test'), 'the backup applied it; only its ack is held');
    assert.equal(ra.ackBarrier.waiting, 1);
    const resumed = performance.now();
    gate.resume();
    await phone.nextResponse((r) => r.status === 200 && r.via?.branch === branch, BOUND_MS);
    const after = performance.now() - resumed;
    assert.ok(after < BOUND_MS, `200 ${after.toFixed(1)} ms after the ack went`);
    await sleep(50);
    assert.equal(responsesFor(phone, branch, 200), 0, 'one 200, not one per copy of the request');
    assert.equal(bindingChanges - changesBefore, 1, 'the retransmission was not processed again');
    assert.equal(ra.ackBarrier.stats.timeouts, 0);
    assert.equal(ra.source.synced, true);
  });

  it('without an ack the 200 goes at the bound, counted, and the backup is unsynced until it catches up', async () => {
    const { text, branch } = registerText(phone.port, 'cal');
    gate.pause();
    const sent = performance.now();
    await phone.send(text, portA);
    await phone.nextResponse((r) => r.status === 200 && r.via?.branch === branch, BOUND_MS + 1000);
    const took = performance.now() - sent;
    assert.ok(took >= BOUND_MS - 5, `200 after ${took.toFixed(1)} ms, bound ${BOUND_MS}`);
    assert.equal(ra.ackBarrier.stats.timeouts, 1);
    assert.equal(ra.source.synced, false);
    assert.equal(ra.status().synced, false);
    // While lagging nothing waits: the next REGISTER is answered at once.
    const next = registerText(phone.port, 'cal');
    const t = performance.now();
    await phone.send(next.text, portA);
    await phone.nextResponse((r) => r.status === 200 && r.via?.branch === next.branch, BOUND_MS);
    assert.ok(performance.now() - t < BOUND_MS / 2, 'a lagging backup holds nothing back');
    assert.equal(ra.ackBarrier.stats.timeouts, 1);
    gate.resume();
    await until(() => ra.source.synced, 2000, 'caught up');
  });

  it('the 2xx that confirms a call waits for the ack; a retransmitted 2xx is neither sent twice nor lost', async () => {
    const callee = await UdpPeer.open();
    const caller = await UdpPeer.open();
    try {
      const reg = registerText(callee.port, 'dan');
      await callee.send(reg.text, portA);
      await callee.nextResponse((r) => r.status === 200 && r.via?.branch === reg.branch);
      const branch = `z9hG4bKinv${randomBytes(4).toString('hex')}`;
      await caller.send(
        [
          'INVITE sip:dan@example.test SIP/2.0',
          `Via: SIP/2.0/UDP 127.0.0.1:${caller.port};branch=${branch}`,
          'Max-Forwards: 70',
          'From: <sip:eve@example.test>;tag=eve1',
          'To: <sip:dan@example.test>',
          'Call-ID: ack-wait-call',
          'CSeq: 1 INVITE',
          `Contact: <sip:eve@127.0.0.1:${caller.port}>`,
          'Content-Length: 0',
          '',
          '',
        ].join('\r\n'),
        portA,
      );
      const raw = await callee.next((m) => m.subarray(0, 6).toString() === 'INVITE');
      const parsed = parseMessage(raw);
      assert.ok(parsed.ok && parsed.message.kind === 'request');
      const ok = createResponse(parsed.message as SipRequest, 200, 'OK', 'dan1');
      ok.headers.append('Contact', `<sip:dan@127.0.0.1:${callee.port}>`);
      ok.headers.append('Content-Length', '0');
      const okBytes = serializeMessage(ok);
      const timeouts = ra.ackBarrier.stats.timeouts;
      const waits = ra.ackBarrier.stats.waits;
      gate.pause();
      await callee.send(okBytes, portA);
      await sleep(40);
      await callee.send(okBytes, portA); // the UAS retransmits its 2xx (§13.3.1.4)
      await sleep(60);
      assert.equal(responsesFor(caller, branch, 200), 0, 'no 2xx upstream before the backup acknowledged');
      assert.equal(b.dialogs.get('ack-wait-call;eve1;dan1')?.state, 'confirmed');
      gate.resume();
      await caller.nextResponse((r) => r.status === 200 && r.via?.branch === branch, BOUND_MS);
      await sleep(50);
      assert.equal(responsesFor(caller, branch, 200), 0, 'the held 2xx went up once');
      assert.equal(ra.ackBarrier.stats.timeouts, timeouts, 'released by the ack, not the bound');
      assert.equal(
        ra.ackBarrier.stats.waits,
        waits + 1,
        'one wait for the call, none for its retransmission',
      );
      // After the hold, a further retransmission goes up as usual (2xx reliability is end to end, §16.7 step 5).
      await callee.send(okBytes, portA);
      await caller.nextResponse((r) => r.status === 200 && r.via?.branch === branch, 1000);
    } finally {
      caller.close();
      callee.close();
    }
  });

  it('a lone primary does not wait', async () => {
    await rb.stop();
    await until(() => !ra.source.connected, 3000, 'backup gone');
    const waits = ra.ackBarrier.stats.waits;
    const { text, branch } = registerText(phone.port, 'fay');
    const sent = performance.now();
    await phone.send(text, portA);
    await phone.nextResponse((r) => r.status === 200 && r.via?.branch === branch);
    const took = performance.now() - sent;
    assert.ok(took < BOUND_MS / 2, `200 after ${took.toFixed(1)} ms`);
    assert.equal(ra.ackBarrier.stats.waits, waits, 'no wait was even started');
  });
});
