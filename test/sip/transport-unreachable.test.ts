// A next hop that cannot be reached is reported at once (RFC 3261 §18.4, §17.1.4): requests over UDP leave through a
// socket connected to their next hop on our own listen address and port, where the kernel reports ICMP errors; a
// refused TCP connection is reported too. Real sockets on loopback.
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { after, before, describe, it } from 'node:test';
import { errorCode } from '../../src/net/errors.js';
import type { SipRequest } from '../../src/sip/message.js';
import { parseMessage } from '../../src/sip/parser.js';
import type { ListenSpec } from '../../src/sip/transport/listen-uri.js';
import { TransportLayer } from '../../src/sip/transport/transport-layer.js';
import type { Endpoint } from '../../src/sip/transport/types.js';
import { freePort } from '../helpers/ports.js';
import { request, UdpPeer } from '../helpers/sip-peer.js';

function parsed(text: string): SipRequest {
  const r = parseMessage(Buffer.from(text, 'latin1'));
  assert.ok(r.ok && r.message.kind === 'request');
  return r.message;
}

interface Report {
  to: Endpoint;
  error: Error;
  afterMs: number;
}

async function transportOn(
  listen: ListenSpec[],
  udpConnected?: { maxSockets: number; idleMs: number } | false,
): Promise<{ t: TransportLayer; reports: Report[]; sentAt: { value: number } }> {
  const t = new TransportLayer({ listen, ...(udpConnected === undefined ? {} : { udpConnected }) });
  const reports: Report[] = [];
  const sentAt = { value: 0 };
  t.onUnreachable = (to, error) => reports.push({ to, error, afterMs: performance.now() - sentAt.value });
  await t.start();
  return { t, reports, sentAt };
}

async function until(cond: () => boolean, timeoutMs = 1000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 2));
  }
}

async function hasIpv6Loopback(): Promise<boolean> {
  const s = createSocket('udp6');
  const ok = await new Promise<boolean>((resolve) => {
    s.once('error', () => resolve(false));
    s.bind(0, '::1', () => resolve(true));
  });
  s.close();
  return ok;
}

const LOOPBACK: ListenSpec[] = [
  { transport: 'udp', address: '127.0.0.1', port: 0 },
  { transport: 'tcp', address: '127.0.0.1', port: 0 },
];

describe('a next hop that cannot be reached (§18.4)', () => {
  let env: Awaited<ReturnType<typeof transportOn>>;
  before(async () => {
    env = await transportOn(LOOPBACK);
  });
  after(async () => {
    await env.t.stop();
  });

  it('reports a closed UDP port on loopback (ICMP port unreachable) within milliseconds', async () => {
    const dead = await freePort();
    env.reports.length = 0;
    env.sentAt.value = performance.now();
    env.t.sendRequest(parsed(request('OPTIONS')), { transport: 'udp', address: '127.0.0.1', port: dead });
    await until(() => env.reports.length > 0, 500);
    const [r] = env.reports;
    assert.deepEqual(r?.to, { transport: 'udp', address: '127.0.0.1', port: dead });
    assert.equal(errorCode(r?.error), 'ECONNREFUSED');
    assert.ok(r!.afterMs < 100, `reported after ${r!.afterMs.toFixed(1)} ms`);
    assert.ok(env.t.counters.unreachable >= 1);
  });

  it('reports a refused TCP connection to the sender, after its call returned, and as an unreachable hop', async () => {
    const dead = await freePort();
    env.reports.length = 0;
    const heard: string[] = [];
    env.sentAt.value = performance.now();
    let returned = false;
    env.t.sendRequest(
      parsed(request('OPTIONS', { over: 'TCP' })),
      { transport: 'tcp', address: '127.0.0.1', port: dead },
      (err) => heard.push(`${returned ? 'after' : 'during'} ${errorCode(err)}`),
    );
    returned = true;
    await until(() => heard.length > 0 && env.reports.length > 0, 500);
    assert.deepEqual(heard, ['after ECONNREFUSED']);
    assert.deepEqual(env.reports[0]?.to, { transport: 'tcp', address: '127.0.0.1', port: dead });
    assert.ok(env.reports[0]!.afterMs < 100);
  });

  it('never reports a failed send from inside the send call (no listener of that address family)', async () => {
    const heard: string[] = [];
    let returned = false;
    env.t.sendRequest(
      parsed(request('OPTIONS')),
      { transport: 'udp', address: '2001:db8::1', port: 5060 },
      (err) => heard.push(`${returned ? 'after' : 'during'}: ${err.message}`),
    );
    returned = true;
    assert.deepEqual(heard, []);
    await until(() => heard.length > 0);
    assert.deepEqual(heard, ['after: no UDP listener for 2001:db8::1']);
  });

  it('reports a closed UDP port on ::1 (ICMPv6) when the host has IPv6', async (t) => {
    if (!(await hasIpv6Loopback())) {
      t.skip('no IPv6 loopback on this host');
      return;
    }
    const v6 = await transportOn([{ transport: 'udp', address: '::1', port: 0 }]);
    try {
      const dead = await freePort('::1');
      v6.sentAt.value = performance.now();
      v6.t.sendRequest(parsed(request('OPTIONS')), { transport: 'udp', address: '::1', port: dead });
      await until(() => v6.reports.length > 0, 500);
      assert.deepEqual(v6.reports[0]?.to, { transport: 'udp', address: '::1', port: dead });
      assert.equal(errorCode(v6.reports[0]?.error), 'ECONNREFUSED');
    } finally {
      await v6.t.stop();
    }
  });

  it('reports an IPv6 address without a route (ENETUNREACH) when the host has no route to it', async (t) => {
    if (!(await hasIpv6Loopback())) {
      t.skip('no IPv6 on this host');
      return;
    }
    const v6 = await transportOn([{ transport: 'udp', address: '::', port: 0 }]);
    try {
      const heard: Error[] = [];
      v6.t.sendRequest(
        parsed(request('OPTIONS')),
        { transport: 'udp', address: '2001:db8::1', port: 5060 },
        (e) => heard.push(e),
      );
      await new Promise((r) => setTimeout(r, 100));
      const errors = [...heard, ...v6.reports.map((r) => r.error)];
      if (errors.length === 0) {
        t.skip('2001:db8::1 has a route from this host (a default IPv6 route): nothing to report');
        return;
      }
      assert.match(errorCode(errors[0]) ?? '', /^(ENETUNREACH|EHOSTUNREACH)$/);
    } finally {
      await v6.t.stop();
    }
  });
});

describe('UDP requests through a socket connected to the next hop', () => {
  it('leave from our listen port, and the answer (to that port) reaches us', async () => {
    const env = await transportOn(LOOPBACK);
    const next = await UdpPeer.open();
    const other = await UdpPeer.open();
    try {
      const ours = env.t.listening.find((l) => l.transport === 'udp')!.port;
      const responses: number[] = [];
      const requests: string[] = [];
      env.t.onResponse = (res) => responses.push(res.status);
      env.t.onRequest = (req) => requests.push(req.method);
      env.t.sendRequest(parsed(request('OPTIONS')), {
        transport: 'udp',
        address: '127.0.0.1',
        port: next.port,
      });
      const got = await next.next();
      assert.equal(env.t.udpConnectedSockets, 1);
      // The next hop answers where the request came from (rport): our listen port, as before.
      const req = parseMessage(got);
      assert.ok(req.ok && req.message.kind === 'request');
      const reply = [
        'SIP/2.0 200 OK',
        ...req.message.headers.fields
          .filter((f) => f.key !== 'content-length')
          .map((f) => `${f.name}: ${f.value}`),
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n');
      await next.send(reply, ours);
      // Anyone else still reaches the listener, and the next hop can send requests too.
      await other.send(request('MESSAGE'), ours);
      await next.send(request('NOTIFY'), ours);
      await until(() => responses.length === 1 && requests.length === 2);
      assert.deepEqual(requests.sort(), ['MESSAGE', 'NOTIFY']);
      assert.equal(env.reports.length, 0);
    } finally {
      next.close();
      other.close();
      await env.t.stop();
    }
  });

  it('keeps the listen port to itself: another socket cannot bind it, even with SO_REUSEADDR', async () => {
    const env = await transportOn(LOOPBACK);
    try {
      const ours = env.t.listening.find((l) => l.transport === 'udp')!.port;
      const second = new TransportLayer({ listen: [{ transport: 'udp', address: '127.0.0.1', port: ours }] });
      await assert.rejects(second.start(), /EADDRINUSE/);
      await second.stop();
    } finally {
      await env.t.stop();
    }
  });

  it('keeps at most maxSockets (the next hops beyond leave from the listener) and closes idle ones', async () => {
    const env = await transportOn(LOOPBACK, { maxSockets: 2, idleMs: 100 });
    const peers = await Promise.all([UdpPeer.open(), UdpPeer.open(), UdpPeer.open()]);
    try {
      for (const p of peers)
        env.t.sendRequest(parsed(request('OPTIONS')), {
          transport: 'udp',
          address: '127.0.0.1',
          port: p.port,
        });
      const got = await Promise.all(peers.map((p) => p.next()));
      assert.equal(got.length, 3, 'every request was sent');
      assert.equal(env.t.udpConnectedSockets, 2);
      await until(() => env.t.udpConnectedSockets === 0, 1000);
    } finally {
      for (const p of peers) p.close();
      await env.t.stop();
    }
  });

  it('can be turned off: requests leave from the listener, and the listen port is not shared', async () => {
    const env = await transportOn(LOOPBACK, false);
    const next = await UdpPeer.open();
    try {
      env.t.sendRequest(parsed(request('OPTIONS')), {
        transport: 'udp',
        address: '127.0.0.1',
        port: next.port,
      });
      await next.next();
      assert.equal(env.t.udpConnectedSockets, 0);
    } finally {
      next.close();
      await env.t.stop();
    }
  });
});
