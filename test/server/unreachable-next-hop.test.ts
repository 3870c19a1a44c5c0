// `sipha start` with static routes to next hops that cannot be reached, and to gateways that can, driven by real
// client sockets on loopback. An unreachable next hop is answered 503 within milliseconds, over UDP and TCP (RFC 3261
// §18.4, §16.9); a request over 1300 bytes goes over TCP, or over UDP when the gateway has no TCP (§18.1.1), with a
// second Record-Route value when it changes transport (RFC 5658).
import assert from 'node:assert/strict';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, it, type TestContext } from 'node:test';
import { errorCode } from '../../src/net/errors.js';
import type { SipRequest, SipResponse } from '../../src/sip/message.js';
import { parseMessage } from '../../src/sip/parser.js';
import { StreamFramer } from '../../src/sip/transport/stream-framer.js';
import { freePort } from '../helpers/ports.js';
import { request, TcpPeer, UdpPeer } from '../helpers/sip-peer.js';
import { type SiphaProcess, startSipha } from '../helpers/sipha-process.js';

/** The budget for an answer to a request whose next hop is unreachable. */
const FAST_MS = 100;

async function ipv6Loopback(): Promise<boolean> {
  const s = createSocket('udp6');
  const ok = await new Promise<boolean>((resolve) => {
    s.once('error', () => resolve(false));
    s.bind(0, '::1', () => resolve(true));
  });
  s.close();
  return ok;
}

/** Whether this host says at once that 2001:db8::1 has no route (no default IPv6 route here). */
async function unroutableV6(): Promise<boolean> {
  const s = createSocket('udp6');
  const code = await new Promise<string | undefined>((resolve) => {
    s.once('error', (e) => resolve(errorCode(e)));
    s.bind(0, '::', () => s.send('x', 5060, '2001:db8::1', (e) => resolve(e ? errorCode(e) : undefined)));
  });
  s.close();
  return code === 'ENETUNREACH' || code === 'EHOSTUNREACH';
}

/** A gateway on loopback: it collects what reaches it over UDP and TCP and answers each INVITE with 200. */
class Gateway {
  readonly got: Array<{ over: 'udp' | 'tcp'; request: SipRequest; size: number }> = [];
  private constructor(
    readonly port: number,
    private readonly udp: UdpSocket | undefined,
    private readonly tcp: Server | undefined,
  ) {}

  static async open(transports: Array<'udp' | 'tcp'>): Promise<Gateway> {
    const port = await freePort();
    let gw: Gateway | undefined;
    const udp = transports.includes('udp')
      ? await new Promise<UdpSocket>((resolve) => {
          const socket = createSocket('udp4');
          socket.on('message', (bytes, remote) => gw?.take('udp', bytes, remote));
          socket.bind(port, '127.0.0.1', () => resolve(socket));
        })
      : undefined;
    const tcp = transports.includes('tcp')
      ? await new Promise<Server>((resolve) => {
          const server = createServer((socket) => {
            const framer = new StreamFramer(1_000_000);
            socket.on('data', (chunk: Buffer) => {
              for (const ev of framer.push(chunk))
                if (ev.kind === 'message') gw?.take('tcp', ev.bytes, socket);
            });
            socket.on('error', () => {});
          });
          server.listen(port, '127.0.0.1', () => resolve(server));
        })
      : undefined;
    gw = new Gateway(port, udp, tcp);
    return gw;
  }

  private take(over: 'udp' | 'tcp', bytes: Buffer, from: Socket | { port: number; address: string }): void {
    const r = parseMessage(bytes, undefined, over === 'tcp' ? 'stream' : 'datagram');
    if (!r.ok || r.message.kind !== 'request') return;
    this.got.push({ over, request: r.message, size: bytes.length });
    if (r.message.method !== 'INVITE') return;
    const ok = Buffer.from(answer(r.message, 200, 'OK'), 'latin1');
    // Over TCP on the connection; over UDP where it came from (rport, RFC 3581).
    if ('write' in from) from.write(ok);
    else this.udp?.send(ok, from.port, from.address);
  }

  close(): void {
    this.udp?.close();
    this.tcp?.close();
  }
}

function answer(req: SipRequest, status: number, reason: string): string {
  const copy = (name: string) => req.headers.getFields(name).map((v) => `${name}: ${v}`);
  return [
    `SIP/2.0 ${status} ${reason}`,
    ...copy('Via'),
    ...copy('Record-Route'),
    ...copy('From'),
    `To: ${req.headers.get('to')};tag=gw`,
    ...copy('Call-ID'),
    ...copy('CSeq'),
    'Contact: <sip:gw@127.0.0.1>',
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

/** An INVITE of exactly `size` bytes, an SDP-like body filling it up. */
function inviteOf(size: number, uri: string, port: number): string {
  let body = '';
  for (;;) {
    const text = request('INVITE', { uri, port, body, extra: ['Content-Type: application/sdp'] });
    const missing = size - Buffer.byteLength(text, 'latin1');
    if (missing === 0) return text;
    body = missing > 0 ? body + 'a'.repeat(missing) : body.slice(0, missing);
  }
}

describe('sipha answers at once when the next hop cannot be reached', { timeout: 60_000 }, () => {
  let port: number;
  let sipha: SiphaProcess;
  let gateway: Gateway;
  let udpOnly: Gateway;
  let client: UdpPeer;
  let v6: boolean;

  before(async () => {
    port = await freePort();
    v6 = await ipv6Loopback();
    const [deadUdp, deadTcp] = [await freePort(), await freePort()];
    const deadV6 = v6 ? await freePort('::1') : 9;
    gateway = await Gateway.open(['udp', 'tcp']);
    udpOnly = await Gateway.open(['udp']);
    const listen = [`udp://127.0.0.1:${port}`, `tcp://127.0.0.1:${port}`];
    if (v6) listen.push(`udp://[::1]:${port}`, `tcp://[::1]:${port}`);
    sipha = await startSipha(
      [
        'sip:',
        `  listen: ${JSON.stringify(listen)}`,
        '  domain: example.test',
        '  routes:',
        `    - { match: "^1", to: "sip:127.0.0.1:${deadUdp}" }`,
        `    - { match: "^2", to: "sip:127.0.0.1:${deadTcp};transport=tcp" }`,
        `    - { match: "^3", to: "sip:[::1]:${deadV6}" }`,
        '    - { match: "^4", to: "sip:[2001:db8::1]:5060" }',
        `    - { match: "^5", to: "sip:127.0.0.1:${gateway.port}" }`,
        `    - { match: "^6", to: "sip:127.0.0.1:${udpOnly.port}" }`,
        'log: { level: info }',
      ].join('\n'),
    );
    client = await UdpPeer.open();
    // The first request wakes the process up; timings below are for the ones after it.
    await client.send(request('OPTIONS', { uri: 'sip:example.test', port: client.port }), port);
    await client.nextResponse();
  });

  after(async () => {
    client?.close();
    gateway?.close();
    udpOnly?.close();
    await sipha?.stop();
  });

  /** Sends `text` from the UDP client and returns the final response and how long it took. */
  async function finalOverUdp(text: string): Promise<{ res: SipResponse; ms: number }> {
    const t0 = performance.now();
    await client.send(text, port);
    const res = await client.nextResponse((r) => r.status >= 200, 2000);
    return { res, ms: performance.now() - t0 };
  }

  function assertFast503(t: TestContext, r: { res: SipResponse; ms: number }, what: string): void {
    t.diagnostic(`${what}: ${r.res.status} ${r.res.reason} after ${r.ms.toFixed(1)} ms`);
    assert.equal(r.res.status, 503, `${what}: ${r.res.status} ${r.res.reason}`);
    assert.match(r.res.reason, /^Next Hop Unreachable/);
    assert.ok(r.ms < FAST_MS, `${what}: answered after ${r.ms.toFixed(1)} ms`);
  }

  it('a closed UDP port (ICMP port unreachable): 503 to an INVITE and a MESSAGE over UDP', async (t) => {
    for (const method of ['INVITE', 'MESSAGE']) {
      const r = await finalOverUdp(request(method, { uri: 'sip:1000@example.test', port: client.port }));
      assertFast503(t, r, method);
      assert.equal(r.res.reason, 'Next Hop Unreachable (ECONNREFUSED)');
    }
  });

  it('a refused TCP connection: 503 to a client over UDP and to one over TCP', async (t) => {
    assertFast503(
      t,
      await finalOverUdp(request('INVITE', { uri: 'sip:2000@example.test', port: client.port })),
      'UDP',
    );
    const tcp = await TcpPeer.connect(port);
    try {
      const t0 = performance.now();
      tcp.write(request('INVITE', { uri: 'sip:2000@example.test', over: 'TCP' }));
      let res = await tcp.nextResponse();
      if (res.status < 200) res = await tcp.nextResponse();
      assertFast503(t, { res, ms: performance.now() - t0 }, 'TCP');
    } finally {
      tcp.close();
    }
  });

  it('a closed UDP port on ::1: 503 (ICMPv6)', async (t) => {
    if (!v6) {
      t.skip('no IPv6 loopback on this host');
      return;
    }
    assertFast503(
      t,
      await finalOverUdp(request('INVITE', { uri: 'sip:3000@example.test', port: client.port })),
      '::1',
    );
  });

  it('an IPv6 address without a route: 503', async (t) => {
    if (!v6 || !(await unroutableV6())) {
      t.skip('this host has a route to 2001:db8::1 (or no IPv6): nothing says it is unreachable');
      return;
    }
    assertFast503(
      t,
      await finalOverUdp(request('INVITE', { uri: 'sip:4000@example.test', port: client.port })),
      'v6',
    );
  });

  it('sends a 1896-byte INVITE to the gateway over TCP, with a TCP Via and two Record-Route values', async () => {
    const text = inviteOf(1896, 'sip:5000@example.test', client.port);
    assert.equal(Buffer.byteLength(text, 'latin1'), 1896);
    const { res } = await finalOverUdp(text);
    assert.equal(res.status, 200);
    const got = gateway.got.find((g) => g.request.method === 'INVITE');
    assert.ok(got, 'the gateway got it');
    assert.equal(got.over, 'tcp');
    assert.match(
      got.request.headers.first('via') ?? '',
      new RegExp(`^SIP/2\\.0/TCP 127\\.0\\.0\\.1:${port};`),
    );
    assert.deepEqual(got.request.headers.values('record-route'), [
      `<sip:127.0.0.1:${port};transport=tcp;lr>`,
      `<sip:127.0.0.1:${port};lr>`,
    ]);
  });

  it('falls back to UDP for a gateway without TCP', async () => {
    const { res } = await finalOverUdp(inviteOf(1896, 'sip:6000@example.test', client.port));
    assert.equal(res.status, 200);
    const got = udpOnly.got.find((g) => g.request.method === 'INVITE');
    assert.ok(got);
    assert.equal(got.over, 'udp');
    assert.equal(got.size > 1300, true);
    assert.match(
      got.request.headers.first('via') ?? '',
      new RegExp(`^SIP/2\\.0/UDP 127\\.0\\.0\\.1:${port};`),
    );
    assert.deepEqual(got.request.headers.values('record-route'), [`<sip:127.0.0.1:${port};lr>`]);
  });
});
