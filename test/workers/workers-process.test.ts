// Several SIP workers in one real `sipha start` (sip.workers: 2, standalone): the kernel hands each datagram to
// either worker; every message must still meet the state of its home worker (src/workers/steering.ts). Call-IDs are
// chosen with the server's own steering function, so that registering and calling cross workers on purpose; which
// worker *receives* each datagram is the kernel's choice, and the workers' own counters (logged as they stop) show
// that both received messages for the other.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { SipRequest, SipResponse } from '../../src/sip/message.js';
import { parseMessage } from '../../src/sip/parser.js';
import { homeOfCallId } from '../../src/workers/steering.js';
import { freePort } from '../helpers/ports.js';
import { TcpPeer, UdpPeer } from '../helpers/sip-peer.js';
import { type SiphaProcess, startSipha } from '../helpers/sipha-process.js';

const WORKERS = 2;

/** A Call-ID whose home is worker `home`. */
function callIdHomedAt(home: number): string {
  for (;;) {
    const id = `${randomBytes(9).toString('base64url')}@198.51.100.9`;
    if (homeOfCallId(id, WORKERS) === home) return id;
  }
}

function parse(b: Buffer): SipRequest | SipResponse {
  const r = parseMessage(b, undefined, 'datagram');
  if (!r.ok) throw new Error(`unparsable: ${b.toString('latin1').slice(0, 200)}`);
  return r.message;
}

const isRequest = (method: string, callId: string) => (b: Buffer) => {
  const m = parse(b);
  return m.kind === 'request' && m.method === method && m.callId === callId;
};
const isResponse = (status: number, callId: string, method?: string) => (b: Buffer) => {
  const m = parse(b);
  return (
    m.kind === 'response' &&
    m.status === status &&
    m.callId === callId &&
    (method === undefined || m.cseq?.method === method)
  );
};

/** A UAS's response to `req`: its Vias, From, To (tagged), Call-ID, CSeq and Record-Route, as §8.2.6 and §12.1.1 say. */
function reply(req: Buffer, status: number, reason: string, contact?: string): string {
  const m = parse(req);
  assert.ok(m.kind === 'request');
  const lines = [`SIP/2.0 ${status} ${reason}`];
  for (const f of m.headers.fields) {
    if (['via', 'from', 'call-id', 'cseq', 'record-route'].includes(f.key))
      lines.push(`${f.name}: ${f.value}`);
    if (f.key === 'to')
      lines.push(`To: ${f.value}${status > 100 && !/;tag=/.test(f.value) ? ';tag=uas' : ''}`);
  }
  if (contact !== undefined) lines.push(`Contact: <${contact}>`);
  lines.push('Content-Length: 0', '', '');
  return lines.join('\r\n');
}

function register(user: string, contactPort: number, callId: string, cseq = 1): string {
  return [
    'REGISTER sip:example.test SIP/2.0',
    `Via: SIP/2.0/UDP 127.0.0.1:${contactPort};branch=z9hG4bK-r${randomBytes(6).toString('hex')};rport`,
    'Max-Forwards: 70',
    `From: <sip:${user}@example.test>;tag=r${cseq}`,
    `To: <sip:${user}@example.test>`,
    `Call-ID: ${callId}`,
    `CSeq: ${cseq} REGISTER`,
    `Contact: <sip:${user}@127.0.0.1:${contactPort}>`,
    'Expires: 600',
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

function invite(user: string, from: { port: number; over: 'UDP' | 'TCP' }, callId: string): string {
  return [
    `INVITE sip:${user}@example.test SIP/2.0`,
    `Via: SIP/2.0/${from.over} 127.0.0.1:${from.port};branch=z9hG4bK-i${randomBytes(6).toString('hex')};rport`,
    'Max-Forwards: 70',
    'From: <sip:alice@example.test>;tag=a1',
    `To: <sip:${user}@example.test>`,
    `Call-ID: ${callId}`,
    'CSeq: 1 INVITE',
    `Contact: <sip:alice@127.0.0.1:${from.port}${from.over === 'TCP' ? ';transport=tcp' : ''}>`,
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

/** An in-dialog request from the caller (ACK for the 2xx, BYE): to the callee's Contact, along the route set. */
function inDialog(
  method: 'ACK' | 'BYE',
  ok: SipResponse,
  from: { port: number; over: 'UDP' | 'TCP' },
  cseq: number,
): string {
  const contact = /<([^>]+)>/.exec(ok.headers.first('contact') ?? '')?.[1];
  assert.ok(contact, 'the 2xx has a Contact');
  const routes = ok.headers.getFields('record-route');
  assert.ok(routes.length > 0, 'the proxy record-routes the dialog');
  return [
    `${method} ${contact} SIP/2.0`,
    `Via: SIP/2.0/${from.over} 127.0.0.1:${from.port};branch=z9hG4bK-d${randomBytes(6).toString('hex')};rport`,
    'Max-Forwards: 70',
    // A UAC's route set is the Record-Route of the 2xx in reverse order (§12.1.2).
    ...[...routes].reverse().map((r) => `Route: ${r}`),
    `From: ${ok.headers.first('from')}`,
    `To: ${ok.headers.first('to')}`,
    `Call-ID: ${ok.callId}`,
    `CSeq: ${cseq} ${method}`,
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

function options(fromPort: number, callId: string): string {
  return [
    'OPTIONS sip:example.test SIP/2.0',
    `Via: SIP/2.0/UDP 127.0.0.1:${fromPort};branch=z9hG4bK-o${randomBytes(6).toString('hex')};rport`,
    'Max-Forwards: 70',
    'From: <sip:probe@example.test>;tag=o',
    'To: <sip:example.test>',
    `Call-ID: ${callId}`,
    'CSeq: 1 OPTIONS',
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

/** The workers' pids by index, read from their environment. */
function workerPids(parent: number): Map<number, number> {
  const out = new Map<number, number>();
  const children = execFileSync('pgrep', ['-P', String(parent)], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .filter(Boolean);
  for (const pid of children.map(Number)) {
    try {
      const env = readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0');
      const index = env.find((e) => e.startsWith('SIPHA_WORKER_INDEX='))?.split('=')[1];
      if (index !== undefined) out.set(Number(index), pid);
    } catch {
      // Gone meanwhile.
    }
  }
  return out;
}

async function until(what: string, check: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('several SIP workers in one sipha', { timeout: 120_000 }, () => {
  let sipha: SiphaProcess;
  let port: number;
  let caller: UdpPeer;
  const phones: UdpPeer[] = [];
  const listening = () => sipha.log().split('SIP server listening').length - 1;

  before(async () => {
    port = await freePort();
    sipha = await startSipha(
      [
        'sip:',
        `  listen: [udp://127.0.0.1:${port}, tcp://127.0.0.1:${port}]`,
        '  domain: example.test',
        `  workers: ${WORKERS}`,
        '  warm_up: false',
        'log: { level: info }',
        '',
      ].join('\n'),
    );
    await until('both workers listening', () => listening() >= WORKERS);
    // Give the workers' sibling links a moment to come up (they retry every 200 ms).
    await new Promise((r) => setTimeout(r, 500));
    caller = await UdpPeer.open();
    for (let i = 0; i < 8; i++) phones.push(await UdpPeer.open());
  });

  /** it() that shows the end of sipha's log when it fails. */
  const step = (name: string, fn: () => Promise<void>) =>
    it(name, async () => {
      try {
        await fn();
      } catch (err) {
        process.stderr.write(`--- sipha log (end) ---\n${sipha.log().slice(-6000)}\n`);
        throw err;
      }
    });

  after(async () => {
    caller?.close();
    for (const p of phones) p.close();
    await sipha?.stop();
  });

  step('a registration made through one worker is callable through the other', async () => {
    for (const [i, phone] of phones.entries()) {
      const user = `u${i}`;
      const regId = callIdHomedAt(i % WORKERS);
      await phone.send(register(user, phone.port, regId), port);
      await phone.next(isResponse(200, regId), 3000);
      // The call's Call-ID has the other home: the INVITE is handled by the worker that did not register the user.
      const callId = callIdHomedAt((i + 1) % WORKERS);
      await caller.send(invite(user, { port: caller.port, over: 'UDP' }, callId), port);
      const arrived = await phone.next(isRequest('INVITE', callId), 3000);
      await phone.send(reply(arrived, 486, 'Busy Here'), port);
      await caller.next(isResponse(486, callId), 3000);
    }
  });

  step(
    'retransmissions meet their transaction, a CANCEL its INVITE, and the ACK of a 2xx and a BYE their dialog',
    async () => {
      const phone = phones[0] as UdpPeer;
      for (let n = 0; n < 12; n++) {
        const callId = callIdHomedAt(n % WORKERS);
        const text = invite('u0', { port: caller.port, over: 'UDP' }, callId);
        await caller.send(text, port);
        const arrived = await phone.next(isRequest('INVITE', callId), 3000);
        await phone.send(reply(arrived, 180, 'Ringing', `sip:u0@127.0.0.1:${phone.port}`), port);
        await caller.next(isResponse(180, callId), 3000);
        // §17.2.1: a retransmitted INVITE gets the latest provisional response again, and goes no further.
        for (let r = 0; r < 3; r++) {
          await caller.send(text, port);
          await caller.next(isResponse(180, callId), 3000);
        }
        if (n % 2 === 0) {
          // A CANCEL (§9.2) reaches the INVITE's transaction: 200 for it, the callee's 487 comes back.
          await caller.send(
            text.replace(/^INVITE /, 'CANCEL ').replace(/^CSeq: 1 INVITE/m, 'CSeq: 1 CANCEL'),
            port,
          );
          await caller.next(isResponse(200, callId, 'CANCEL'), 3000);
          const cancel = await phone.next(isRequest('CANCEL', callId), 3000);
          await phone.send(reply(cancel, 200, 'OK'), port);
          await phone.send(reply(arrived, 487, 'Request Terminated'), port);
          await caller.next(isResponse(487, callId), 3000);
        } else {
          await phone.send(reply(arrived, 200, 'OK', `sip:u0@127.0.0.1:${phone.port}`), port);
          const ok = parse(await caller.next(isResponse(200, callId, 'INVITE'), 3000)) as SipResponse;
          await caller.send(inDialog('ACK', ok, { port: caller.port, over: 'UDP' }, 1), port);
          await phone.next(isRequest('ACK', callId), 3000);
          await caller.send(inDialog('BYE', ok, { port: caller.port, over: 'UDP' }, 2), port);
          const bye = await phone.next(isRequest('BYE', callId), 3000);
          await phone.send(reply(bye, 200, 'OK'), port);
          await caller.next(isResponse(200, callId, 'BYE'), 3000);
        }
        // Exactly one INVITE reached the callee: no retransmission made a second transaction on another worker.
        await assert.rejects(phone.next(isRequest('INVITE', callId), 50), /timed out/);
      }
    },
  );

  step(
    'a call over TCP (worker 0 owns the connection) homed at worker 1 is answered over the same connection',
    async () => {
      const phone = phones[1] as UdpPeer;
      const tcp = await TcpPeer.connect(port);
      try {
        const callId = callIdHomedAt(1);
        tcp.write(invite('u1', { port: tcp.localPort, over: 'TCP' }, callId));
        const arrived = await phone.next(isRequest('INVITE', callId), 3000);
        await phone.send(reply(arrived, 200, 'OK', `sip:u1@127.0.0.1:${phone.port}`), port);
        let ok: SipResponse | undefined;
        while (ok === undefined) {
          const r = await tcp.nextResponse(3000);
          if (r.status === 200) ok = r;
        }
        assert.equal(ok.callId, callId);
        tcp.write(inDialog('ACK', ok, { port: tcp.localPort, over: 'TCP' }, 1));
        await phone.next(isRequest('ACK', callId), 3000);
        tcp.write(inDialog('BYE', ok, { port: tcp.localPort, over: 'TCP' }, 2));
        const bye = await phone.next(isRequest('BYE', callId), 3000);
        await phone.send(reply(bye, 200, 'OK'), port);
        assert.equal((await tcp.nextResponse(3000)).status, 200);
      } finally {
        tcp.close();
      }
    },
  );

  step(
    'a killed worker is restarted while the other keeps serving, and its registrations survive',
    async () => {
      const pid = sipha.child.pid as number;
      const before = workerPids(pid);
      assert.equal(before.size, WORKERS, `workers found: ${[...before]}`);
      process.kill(before.get(1) as number, 'SIGKILL');
      // Meanwhile every OPTIONS is answered, whichever worker is its home (a client retransmits after T1).
      const phone = phones[2] as UdpPeer;
      for (let n = 0; n < 10; n++) {
        const callId = callIdHomedAt(n % WORKERS);
        let answered = false;
        for (let tries = 0; tries < 4 && !answered; tries++) {
          await phone.send(options(phone.port, callId), port);
          answered = await phone.next(isResponse(200, callId), 500).then(
            () => true,
            () => false,
          );
        }
        assert.ok(answered, `OPTIONS ${n} (home ${n % WORKERS}) answered while worker 1 restarts`);
      }
      await until('worker 1 restarted', () => {
        const now = workerPids(pid);
        return now.has(1) && now.get(1) !== before.get(1);
      });
      await until('the new worker 1 listening', () => listening() >= WORKERS + 1);
      await new Promise((r) => setTimeout(r, 500));
      // The restarted worker has every registration: calls homed at it reach users registered before.
      for (const [i, p] of phones.entries()) {
        const callId = callIdHomedAt(1);
        await caller.send(invite(`u${i}`, { port: caller.port, over: 'UDP' }, callId), port);
        const arrived = await p.next(isRequest('INVITE', callId), 3000);
        await p.send(reply(arrived, 486, 'Busy Here'), port);
        await caller.next(isResponse(486, callId), 3000);
      }
    },
  );

  step(
    'both workers received messages homed at the other and handed them over (their counters, logged at stop)',
    async () => {
      const phone = phones[3] as UdpPeer;
      for (let n = 0; n < 40; n++) {
        const callId = callIdHomedAt(n % WORKERS);
        await phone.send(options(phone.port, callId), port);
        await phone.next(isResponse(200, callId), 3000);
      }
      const log = sipha.log();
      await sipha.stop();
      const stops = log
        .concat(sipha.log())
        .split('\n')
        .filter((l) => l.includes('SIP worker stopping'))
        .map((l) => JSON.parse(l).worker as { index: number; steeredOut: number; steeredIn: number });
      assert.equal(new Set(stops.map((s) => s.index)).size, WORKERS, `stop lines: ${JSON.stringify(stops)}`);
      for (const s of stops) {
        assert.ok(s.steeredOut > 0, `worker ${s.index} steered nothing out`);
        assert.ok(s.steeredIn > 0, `worker ${s.index} received nothing steered`);
      }
    },
  );
});
