// TLS (RFC 3261 §26, RFC 5630), WebSocket (RFC 7118) and SIP Outbound flows (RFC 5626) against `sipha start` on
// loopback, with real sockets: a phone registers over TLS or WS and is called from a UDP phone over its flow; a
// flow that is gone fails the call at once (480), not after Timer B; an outbound client that comes back over a new
// connection replaces its binding; upgrades without the `sip` subprotocol or from a foreign origin are refused;
// the certificate reloads on SIGHUP without dropping a connection; the session-ticket key file lets a second server
// resume the first one's sessions (the pair after a takeover).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createServer as createTlsServer, type Server as TlsServer, connect as tlsConnect } from 'node:tls';
import { parseMessage } from '../../src/sip/parser.js';
import { freePort } from '../helpers/ports.js';
import { request, TcpPeer, UdpPeer, WsPeer } from '../helpers/sip-peer.js';
import { type SiphaProcess, startSipha } from '../helpers/sipha-process.js';
import { makeTestPki, type TestPki } from '../helpers/tls-certs.js';

interface Ports {
  udp: number;
  tls: number;
  ws: number;
  wss: number;
}

function config(p: Ports, pki: { cert: string; key: string }, extra: string[] = []): string {
  return [
    'sip:',
    `  listen: [udp://127.0.0.1:${p.udp}, tls://127.0.0.1:${p.tls}, ws://127.0.0.1:${p.ws}, wss://127.0.0.1:${p.wss}]`,
    '  domain: example.test',
    '  warm_up: false',
    `  tls: { cert_file: ${pki.cert}, key_file: ${pki.key}${extra.length > 0 ? `, ${extra.join(', ')}` : ''} }`,
    'log: { level: info }',
  ].join('\n');
}

async function ports(): Promise<Ports> {
  return { udp: await freePort(), tls: await freePort(), ws: await freePort(), wss: await freePort() };
}

function parse(b: Buffer) {
  const r = parseMessage(b);
  if (!r.ok) throw new Error(`unparsable: ${b.toString('latin1').slice(0, 200)}`);
  return r.message;
}

/** A REGISTER over a connection: Via with the transport, Contact as given. */
function register(
  user: string,
  via: 'TLS' | 'WS' | 'WSS',
  port: number,
  contact: string,
  extra: string[] = [],
) {
  return request('REGISTER', {
    uri: 'sip:example.test',
    over: via,
    port,
    callId: `reg-${user}-${Math.random()}`,
    extra: [`Contact: ${contact}`, 'Expires: 300', ...extra],
  })
    .replace('From: <sip:tester@127.0.0.1>', `From: <sip:${user}@example.test>`)
    .replace('To: <sip:sipha@127.0.0.1>', `To: <sip:${user}@example.test>`);
}

function invite(user: string, udpPort: number): string {
  return request('INVITE', {
    uri: `sip:${user}@example.test`,
    port: udpPort,
    extra: ['Contact: <sip:caller@127.0.0.1>'],
  });
}

const isRequest = (method: string) => (b: Buffer) => b.toString('latin1').startsWith(`${method} `);

describe('TLS and WebSocket transports', () => {
  let pki: TestPki;
  let cert: { cert: string; key: string };
  let p: Ports;
  let server: SiphaProcess;
  let caller: UdpPeer;

  before(async () => {
    pki = makeTestPki();
    cert = pki.issue('server', 'sipha.test', ['IP:127.0.0.1', 'DNS:sipha.test']);
    p = await ports();
    server = await startSipha(config(p, cert));
    caller = await UdpPeer.open();
  });
  after(async () => {
    caller?.close();
    await server?.stop();
    pki?.cleanup();
  });

  it('registers a phone over TLS and calls it over its connection, Via and Record-Route saying TLS', async () => {
    const phone = await TcpPeer.connectTls(p.tls, {
      ca: readFileSync(pki.caCert),
      rejectUnauthorized: true,
      servername: 'sipha.test',
    });
    try {
      assert.equal(phone.tls.getProtocol()?.startsWith('TLSv1.'), true);
      phone.write(
        register('tlsphone', 'TLS', phone.localPort, `<sip:tlsphone@127.0.0.1:5999;transport=tls>`),
      );
      const ok = await phone.nextResponse();
      assert.equal(ok.status, 200);
      await caller.send(invite('tlsphone', caller.port), p.udp);
      await phone.until(() => phone.received.some(isRequest('INVITE')), 3000);
      const inv = parse(phone.received.find(isRequest('INVITE'))!);
      assert.match(inv.headers.values('via')[0]!, /^SIP\/2\.0\/TLS 127\.0\.0\.1:\d+;branch=/);
      const rr = inv.headers.values('record-route');
      assert.ok(
        rr.some((v) => v.includes('transport=tls')),
        rr.join(' | '),
      );
    } finally {
      phone.close();
    }
  });

  it('an outbound client over TLS: Require outbound and Flow-Timer, 480 at once when its flow is gone, re-bound by instance', async () => {
    const instance = '"<urn:uuid:00000000-0000-4000-8000-000000000001>"';
    const first = await TcpPeer.connectTls(p.tls);
    first.write(
      register(
        'agent1',
        'TLS',
        first.localPort,
        `<sip:agent1@10.0.0.5:5061;transport=tls>;+sip.instance=${instance};reg-id=1`,
        ['Supported: path, outbound'],
      ),
    );
    const ok = await first.nextResponse();
    assert.equal(ok.status, 200);
    assert.deepEqual(ok.headers.values('require'), ['outbound']);
    assert.equal(ok.headers.get('flow-timer'), '120');
    first.close();
    await new Promise((r) => setTimeout(r, 200));
    // The connection is gone: no Timer B (32 s) on the way to a flow that cannot come back from our side.
    const started = Date.now();
    await caller.send(invite('agent1', caller.port), p.udp);
    const failed = await caller.nextResponse((r) => r.status >= 300, 3000);
    assert.equal(failed.status, 480, failed.reason);
    assert.ok(Date.now() - started < 2000);
    // The agent's desktop reconnects (the new primary, after a takeover) with a new Contact, same instance and reg-id.
    const second = await TcpPeer.connectTls(p.tls);
    try {
      second.write(
        register(
          'agent1',
          'TLS',
          second.localPort,
          `<sip:agent1@10.0.0.5:40000;transport=tls>;+sip.instance=${instance};reg-id=1`,
          ['Supported: outbound'],
        ),
      );
      const again = await second.nextResponse();
      assert.equal(again.status, 200);
      assert.equal(again.headers.values('contact').length, 1, again.headers.values('contact').join(' | '));
      assert.match(again.headers.values('contact')[0]!, /:40000/);
      await caller.send(invite('agent1', caller.port), p.udp);
      await second.until(() => second.received.some(isRequest('INVITE')), 3000);
    } finally {
      second.close();
    }
  });

  it('refuses a WebSocket upgrade without the sip subprotocol', async () => {
    await assert.rejects(WsPeer.open(`ws://127.0.0.1:${p.ws}`, { protocols: ['chat'] }), /HTTP 400/);
  });

  it('registers a WebRTC-style client over WS (.invalid Contact), answers its CRLF keep-alive, calls it, 480 once it is gone', async () => {
    const ws = await WsPeer.open(`ws://127.0.0.1:${p.ws}`);
    ws.send(
      register('webrtc1', 'WS', 0, '<sip:k3j2h1@df7jal23ls0d.invalid;transport=ws>').replace(
        '127.0.0.1:0',
        'df7jal23ls0d.invalid',
      ),
    );
    const ok = parse(await ws.next((b) => b.toString('latin1').startsWith('SIP/2.0 ')));
    assert.equal(ok.kind === 'response' && ok.status, 200);
    ws.send('\r\n\r\n');
    const pong = await ws.next((b) => b.toString('latin1') === '\r\n');
    assert.equal(pong.toString('latin1'), '\r\n');
    await caller.send(invite('webrtc1', caller.port), p.udp);
    const inv = parse(await ws.next(isRequest('INVITE'), 3000));
    assert.match(inv.headers.values('via')[0]!, /^SIP\/2\.0\/WS 127\.0\.0\.1:\d+;/);
    ws.close();
    await new Promise((r) => setTimeout(r, 200));
    const started = Date.now();
    await caller.send(invite('webrtc1', caller.port), p.udp);
    const failed = await caller.nextResponse((r) => r.status >= 300 && r.status !== 487, 3000);
    assert.equal(failed.status, 480, failed.reason);
    assert.ok(Date.now() - started < 2000);
  });

  it('serves WSS with the configured certificate', async () => {
    const ws = await WsPeer.open(`wss://127.0.0.1:${p.wss}`);
    try {
      ws.send(request('OPTIONS', { uri: 'sip:example.test', over: 'WSS', port: ws.localPort }));
      const ok = parse(await ws.next((b) => b.toString('latin1').startsWith('SIP/2.0 ')));
      assert.equal(ok.kind === 'response' && ok.status, 200);
    } finally {
      ws.close();
    }
  });

  it('reloads the certificate on SIGHUP: new connections get the new one, an open connection stays', async () => {
    const before = await TcpPeer.connectTls(p.tls);
    try {
      const oldSerial = before.tls.getPeerCertificate().serialNumber;
      const renewed = pki.issue('renewed', 'sipha.test', ['IP:127.0.0.1']);
      copyFileSync(renewed.cert, cert.cert);
      copyFileSync(renewed.key, cert.key);
      chmodSync(cert.key, 0o600);
      server.child.kill('SIGHUP');
      const deadline = Date.now() + 5000;
      while (!server.log().includes('config reloaded') && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 50));
      assert.match(server.log(), /"applied":\[[^\]]*"sip\.tls"[^\]]*\].*config reloaded/);
      const afterReload = await TcpPeer.connectTls(p.tls);
      try {
        assert.notEqual(afterReload.tls.getPeerCertificate().serialNumber, oldSerial);
      } finally {
        afterReload.close();
      }
      before.write(request('OPTIONS', { uri: 'sip:example.test', over: 'TLS', port: before.localPort }));
      assert.equal((await before.nextResponse()).status, 200);
      assert.equal(server.child.exitCode, null);
    } finally {
      before.close();
    }
  });
});

describe('TLS session tickets shared by a pair (sip.tls.ticket_key_file)', () => {
  it('a session from one server resumes on the other with the same key file, not with another', async () => {
    const pki = makeTestPki();
    const cert = pki.issue('vip', 'sipha.test', ['IP:127.0.0.1']);
    const keyA = join(pki.dir, 'tickets-a');
    const keyB = join(pki.dir, 'tickets-b');
    writeFileSync(keyA, randomBytes(48).toString('hex'), { mode: 0o600 });
    writeFileSync(keyB, randomBytes(48).toString('hex'), { mode: 0o600 });
    const [pa, pb, pc] = [await ports(), await ports(), await ports()];
    const a = await startSipha(config(pa, cert, [`ticket_key_file: ${keyA}`]));
    const b = await startSipha(config(pb, cert, [`ticket_key_file: ${keyA}`]));
    const c = await startSipha(config(pc, cert, [`ticket_key_file: ${keyB}`]));
    const session = (port: number, s?: Buffer) =>
      new Promise<{ session: Buffer; reused: boolean }>((resolve, reject) => {
        const sock = tlsConnect({
          port,
          host: '127.0.0.1',
          rejectUnauthorized: false,
          ...(s === undefined ? {} : { session: s }),
        });
        let ticket: Buffer | undefined;
        sock.on('session', (t: Buffer) => {
          ticket = t;
          resolve({ session: t, reused: sock.isSessionReused() });
          sock.end();
        });
        sock.once('secureConnect', () => {
          // TLS 1.3 sends its ticket after the handshake; wait a moment for it when resuming.
          setTimeout(() => {
            if (ticket === undefined) resolve({ session: Buffer.alloc(0), reused: sock.isSessionReused() });
            sock.end();
          }, 300);
        });
        sock.once('error', reject);
      });
    try {
      const first = await session(pa.tls);
      assert.equal(first.reused, false);
      assert.equal(
        (await session(pb.tls, first.session)).reused,
        true,
        'same ticket key: resumed on the other server',
      );
      assert.equal(
        (await session(pc.tls, first.session)).reused,
        false,
        'another ticket key: full handshake',
      );
    } finally {
      await Promise.all([a.stop(), b.stop(), c.stop()]);
      pki.cleanup();
    }
  });
});

describe('TLS to a gateway (a static route with transport=tls)', () => {
  it('sends the INVITE to a gateway whose certificate ca_file vouches for, and 503 at once to one it does not', async () => {
    const pki = makeTestPki();
    const other = makeTestPki();
    const server = pki.issue('vip', 'sipha.test', ['IP:127.0.0.1']);
    const good = pki.issue('gw', 'gw.test', ['IP:127.0.0.1']);
    const bad = other.issue('gw', 'gw.test', ['IP:127.0.0.1']);
    const received: string[] = [];
    const gateway = (c: { cert: string; key: string }) =>
      new Promise<{ srv: TlsServer; port: number }>((resolve) => {
        const srv = createTlsServer({ cert: readFileSync(c.cert), key: readFileSync(c.key) }, (sock) => {
          sock.on('data', (d: Buffer) => received.push(d.toString('latin1')));
          sock.on('error', () => {});
        });
        srv.on('tlsClientError', () => {});
        srv.listen(0, '127.0.0.1', () => resolve({ srv, port: (srv.address() as { port: number }).port }));
      });
    const gwGood = await gateway(good);
    const gwBad = await gateway(bad);
    const p = await ports();
    const sipha = await startSipha(
      [
        'sip:',
        `  listen: [udp://127.0.0.1:${p.udp}]`,
        '  domain: example.test',
        '  warm_up: false',
        `  tls: { cert_file: ${server.cert}, key_file: ${server.key}, ca_file: ${pki.caCert} }`,
        `  routes: [{ match: "^1", to: "sip:127.0.0.1:${gwGood.port};transport=tls" }, { match: "^2", to: "sip:127.0.0.1:${gwBad.port};transport=tls" }]`,
        'log: { level: info }',
      ].join('\n'),
    );
    const phone = await UdpPeer.open();
    try {
      await phone.send(request('INVITE', { uri: 'sip:1555@example.test', port: phone.port }), p.udp);
      const deadline = Date.now() + 3000;
      while (!received.some((t) => t.startsWith('INVITE sip:1555@')) && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 50));
      const inv = received.find((t) => t.startsWith('INVITE sip:1555@')) ?? '';
      assert.match(inv, /Via: SIP\/2\.0\/TLS /);
      await phone.send(request('INVITE', { uri: 'sip:2555@example.test', port: phone.port }), p.udp);
      const refused = await phone.nextResponse((r) => r.status >= 300, 3000);
      assert.equal(refused.status, 503, refused.reason);
      assert.ok(!received.some((t) => t.includes('2555')), 'nothing reached the gateway we cannot verify');
    } finally {
      phone.close();
      await sipha.stop();
      gwGood.srv.close();
      gwBad.srv.close();
      pki.cleanup();
      other.cleanup();
    }
  });
});
