// SIP activity in the journal: one line per registration change and per call state change, at info for what this
// node did and at debug for what it applies from replication, with `log.sip` setting their level. A SIP server on
// loopback with its pino output captured.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { configSchema } from '../../src/config/schema.js';
import { SipServer } from '../../src/server/sip-server.js';
import type { SipRequest } from '../../src/sip/message.js';
import { parseMessage } from '../../src/sip/parser.js';
import { freePort } from '../helpers/ports.js';
import { UdpPeer } from '../helpers/sip-peer.js';

type Line = Record<string, unknown> & { level: number; msg: string };
const INFO = 30;
const DEBUG = 20;

async function server(log: { level: string; sip?: string }) {
  const lines: Line[] = [];
  const logger = pino({ level: log.level }, { write: (s: string) => lines.push(JSON.parse(s) as Line) });
  const port = await freePort();
  const config = configSchema.parse({
    sip: { listen: [`udp://127.0.0.1:${port}`], domain: 'example.test' },
    log,
  });
  const s = new SipServer({ config, resolvePath: (p) => p, log: logger });
  await s.start();
  const activity = () => lines.filter((l) => l.component === 'sip');
  return { s, port, lines, activity };
}

let seq = 0;
function head(method: string, uri: string, peer: UdpPeer, extra: string[], call = `c${seq}`): string {
  seq++;
  return [
    `${method} ${uri} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:${peer.port};branch=z9hG4bKlog${seq};rport`,
    'Max-Forwards: 70',
    ...extra,
    `Call-ID: ${call}`,
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

function register(user: string, peer: UdpPeer, expires: number): string {
  return head(
    'REGISTER',
    'sip:example.test',
    peer,
    [
      `From: <sip:${user}@example.test>;tag=r${user}`,
      `To: <sip:${user}@example.test>`,
      `Contact: <sip:${user}@127.0.0.1:${peer.port}>`,
      `Expires: ${expires}`,
      `CSeq: ${++seq} REGISTER`,
    ],
    `reg-${user}`,
  );
}

/** The answer a phone gives to `request`, with its To tag. */
function answer(request: SipRequest, status: number, reason: string): string {
  const copy = (name: string) => request.headers.getFields(name).map((v) => `${name}: ${v}`);
  return [
    `SIP/2.0 ${status} ${reason}`,
    ...copy('Via'),
    ...copy('Record-Route'),
    ...copy('From'),
    `To: ${request.headers.get('to')};tag=bobtag`,
    ...copy('Call-ID'),
    ...copy('CSeq'),
    'Contact: <sip:bob@127.0.0.1>',
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

describe('SIP activity in the log', () => {
  let env: Awaited<ReturnType<typeof server>>;
  let alice: UdpPeer;
  let bob: UdpPeer;
  before(async () => {
    env = await server({ level: 'info' });
    alice = await UdpPeer.open();
    bob = await UdpPeer.open();
  });
  after(async () => {
    alice.close();
    bob.close();
    await env.s.stop(0);
  });

  it('logs a registration, its refresh and its removal at info, with contact, expires and source', async () => {
    await bob.send(register('bob', bob, 600), env.port);
    assert.equal((await bob.nextResponse()).status, 200);
    await bob.send(register('bob', bob, 300), env.port);
    await bob.nextResponse();
    await bob.send(register('bob', bob, 0), env.port);
    await bob.nextResponse();
    const lines = env.activity();
    assert.deepEqual(
      lines.map((l) => [l.level, l.msg]),
      [
        [INFO, 'registration added'],
        [INFO, 'registration refreshed'],
        [INFO, 'registration removed'],
      ],
    );
    assert.deepEqual(
      {
        aor: lines[0]?.aor,
        contact: lines[0]?.contact,
        expires: lines[0]?.expires,
        transport: lines[0]?.transport,
        source: lines[0]?.source,
        origin: lines[0]?.origin,
      },
      {
        aor: 'bob@example.test',
        contact: `sip:bob@127.0.0.1:${bob.port}`,
        expires: 600,
        transport: 'udp',
        source: `127.0.0.1:${bob.port}`,
        origin: 'local',
      },
    );
    assert.equal(lines[1]?.expires, 300);
    assert.equal(lines[2]?.reason, 'unregistered');
  });

  it('logs each state of a call proxied through it: early, confirmed, terminated', async () => {
    env.lines.length = 0;
    await bob.send(register('bob', bob, 600), env.port);
    await bob.nextResponse();
    await alice.send(
      head('INVITE', 'sip:bob@example.test', alice, [
        'From: <sip:alice@example.test>;tag=alicetag',
        'To: <sip:bob@example.test>',
        'CSeq: 1 INVITE',
      ]),
      env.port,
    );
    const invite = asRequest(await bob.next((m) => m.toString('latin1').startsWith('INVITE')));
    await bob.send(answer(invite, 180, 'Ringing'), env.port);
    await bob.send(answer(invite, 200, 'OK'), env.port);
    await alice.nextResponse((r) => r.status === 200);
    // Bob hangs up, through our Record-Route.
    const route = invite.headers.getFields('record-route').map((v) => `Route: ${v}`);
    await bob.send(
      head(
        'BYE',
        `sip:alice@127.0.0.1:${alice.port}`,
        bob,
        [
          ...route,
          'From: <sip:bob@example.test>;tag=bobtag',
          'To: <sip:alice@example.test>;tag=alicetag',
          'CSeq: 1 BYE',
        ],
        invite.callId,
      ),
      env.port,
    );
    await alice.next((m) => m.toString('latin1').startsWith('BYE'));
    const calls = env.activity().filter((l) => l.msg.startsWith('call'));
    assert.deepEqual(
      calls.map((l) => [l.level, l.msg, l.state]),
      [
        [INFO, 'call early', 'early'],
        [INFO, 'call confirmed', 'confirmed'],
        [INFO, 'call terminated', 'terminated'],
      ],
    );
    assert.equal(calls[0]?.caller, 'sip:alice@example.test');
    assert.equal(calls[0]?.callee, 'sip:bob@example.test');
    assert.equal(calls[0]?.dialog, `${invite.callId};alicetag;bobtag`);
    assert.equal(calls[2]?.reason, 'BYE');
  });

  it('logs what it applies from replication at debug only', () => {
    env.lines.length = 0;
    env.s.location.put(
      {
        aor: 'carol@example.test',
        contact: 'sip:carol@192.0.2.7',
        q: 1000,
        expiresAt: performance.now() + 60_000,
        callId: 'x',
        cseq: 1,
        path: [],
        updatedAt: 0,
      },
      'replica',
    );
    const dialog = {
      id: 'r1;a;b',
      callId: 'r1',
      fromTag: 'a',
      toTag: 'b',
      caller: 'sip:alice@example.test',
      callee: 'sip:carol@example.test',
      state: 'confirmed' as const,
      createdAt: Date.now(),
    };
    env.s.dialogs.restore(dialog, 'replica');
    env.s.dialogs.remove(dialog.id, 'replica');
    assert.ok(env.s.location.hasAor('carol@example.test') && env.s.dialogs.size === 0, 'applied');
    assert.deepEqual(env.activity(), []);
  });
});

describe('log.sip', () => {
  it('sets the level of the SIP activity lines apart from the rest', async () => {
    const quiet = await server({ level: 'info', sip: 'warn' });
    const verbose = await server({ level: 'info', sip: 'debug' });
    try {
      const binding = {
        aor: 'dave@example.test',
        contact: 'sip:dave@192.0.2.8',
        q: 1000,
        expiresAt: performance.now() + 60_000,
        callId: 'y',
        cseq: 1,
        path: [],
        updatedAt: 0,
      };
      for (const e of [quiet, verbose]) {
        e.s.location.put(binding, 'local');
        e.s.location.put({ ...binding, contact: 'sip:dave@192.0.2.9' }, 'replica');
      }
      assert.deepEqual(quiet.activity(), []);
      assert.deepEqual(
        verbose.activity().map((l) => [l.level, l.msg, l.origin]),
        [
          [INFO, 'registration added', 'local'],
          [DEBUG, 'registration added', 'replica'],
        ],
      );
      assert.ok(
        quiet.lines.some((l) => l.msg === 'SIP server listening'),
        'the rest still logs at info',
      );
    } finally {
      await quiet.s.stop(0);
      await verbose.s.stop(0);
    }
  });
});
