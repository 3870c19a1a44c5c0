// The JIT warm-up before the sockets open: synthetic calls through a throwaway stack, which leave no timer, socket
// or state behind, and a real server that works as usual after it (or without it, `sip.warm_up: false`).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { configSchema } from '../../src/config/schema.js';
import { SipServer } from '../../src/server/sip-server.js';
import { warmUp } from '../../src/server/warm-up.js';
import { freePort } from '../helpers/ports.js';
import { UdpPeer } from '../helpers/sip-peer.js';

type Line = Record<string, unknown> & { msg: string };
const WARMED = 'SIP hot path warmed up with synthetic calls';

/** Timers, sockets and other handles the process holds, by kind. */
function resources(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) out[r] = (out[r] ?? 0) + 1;
  return out;
}

async function startServer(warm: boolean) {
  const lines: Line[] = [];
  const log = pino({ level: 'debug' }, { write: (s: string) => lines.push(JSON.parse(s) as Line) });
  const port = await freePort();
  const config = configSchema.parse({
    sip: { listen: [`udp://127.0.0.1:${port}`], domain: 'example.test', warm_up: warm },
  });
  const server = new SipServer({ config, resolvePath: (p) => p, log });
  await server.start();
  return { server, port, lines };
}

let seq = 0;
function request(method: string, uri: string, peer: UdpPeer, extra: string[] = []): string {
  seq++;
  return [
    `${method} ${uri} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:${peer.port};branch=z9hG4bKwt${seq};rport`,
    'Max-Forwards: 70',
    `From: <sip:bob@example.test>;tag=wt${seq}`,
    'To: <sip:bob@example.test>',
    `Call-ID: wt-${seq}`,
    `CSeq: 1 ${method}`,
    ...extra,
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

describe('SIP warm-up', () => {
  it('drives complete calls, registrations and OPTIONS, leaving no timer or socket behind', async () => {
    const before = resources();
    const r = await warmUp({ maxCalls: 300 });
    assert.equal(r.calls, 300);
    assert.equal(r.completed, r.calls, 'every synthetic call got its 200 for INVITE and for BYE');
    assert.ok(r.registrations > 0);
    assert.ok(r.options > 0);
    // Timer C is a real (unref'd) timer that only an open proxy context holds.
    assert.equal(r.unfinished, 0);
    // Handles of the test runner itself may close meanwhile; none may be added.
    for (const [kind, n] of Object.entries(resources()))
      assert.ok(n <= (before[kind] ?? 0), `${kind} left behind`);
  });

  it('stops at its time budget', async () => {
    const r = await warmUp({ maxCalls: 1_000_000, budgetMs: 1 });
    assert.ok(r.calls > 0 && r.calls < 1_000_000);
  });

  it('runs at start, before the one listener binds, and the server then works on its own stores', async () => {
    const { server, port, lines } = await startServer(true);
    const peer = await UdpPeer.open();
    try {
      const warmed = lines.filter((l) => l.msg === WARMED);
      assert.equal(warmed.length, 1);
      assert.ok((warmed[0]?.calls as number) > 0);
      assert.ok(
        lines.findIndex((l) => l.msg === WARMED) < lines.findIndex((l) => l.msg === 'SIP server listening'),
      );
      assert.equal(server.listening.length, 1);
      // Nothing synthetic reached the server's own stores, transactions or activity log.
      assert.equal(server.location.size, 0);
      assert.equal(server.dialogs.size, 0);
      assert.equal(server.transactions.size, 0);
      assert.equal(lines.filter((l) => l.component === 'sip').length, 0);

      await peer.send(
        request('REGISTER', 'sip:example.test', peer, [
          `Contact: <sip:bob@127.0.0.1:${peer.port}>`,
          'Expires: 600',
        ]),
        port,
      );
      assert.equal((await peer.nextResponse()).status, 200);
      assert.deepEqual(
        server.location.all().map((b) => b.aor),
        ['bob@example.test'],
      );
      await peer.send(request('OPTIONS', `sip:127.0.0.1:${port}`, peer), port);
      assert.equal((await peer.nextResponse((res) => res.cseq?.method === 'OPTIONS')).status, 200);
    } finally {
      peer.close();
      await server.stop(0);
    }
  });

  it('is skipped with sip.warm_up: false', async () => {
    const { server, lines } = await startServer(false);
    try {
      assert.equal(lines.filter((l) => l.msg === WARMED).length, 0);
      assert.equal(server.listening.length, 1);
    } finally {
      await server.stop(0);
    }
  });
});
