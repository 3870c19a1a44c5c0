// RFC 3263 against a real DNS server: dnsmasq in a network namespace of its own (a veth pair to this one) serves
// a "carrier" domain — NAPTR → SRV `_sip._udp.carrier.test` → gw1 (priority 10, nothing listens on its port) and
// gw2 (priority 20, a UDP listener here) — and `sipha start` with `sip.dns.servers` pointing at it and a static
// route to `sip:carrier.test`. An INVITE reaches gw2 after gw1 fails, in well under Timer B; a name that does not
// exist gets 404; a numeric host sends no DNS query (dnsmasq's --log-queries counts them). Needs root, `ip` and
// dnsmasq; skipped without them.
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { Resolver } from 'node:dns/promises';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { destroyNamespaces, destroyNamespacesSync, run } from '../../src/lab/netns.js';
import type { SipRequest } from '../../src/sip/message.js';
import { parseMessage } from '../../src/sip/parser.js';
import { freePort } from '../helpers/ports.js';
import { request, UdpPeer } from '../helpers/sip-peer.js';
import { type SiphaProcess, startSipha } from '../helpers/sipha-process.js';

/** Timer B is 64·T1 = 32 s; the failover must take a small part of it. */
const FAILOVER_BUDGET_MS = 2000;

function canRun(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (ip netns)';
  if (!existsSync('/usr/sbin/dnsmasq')) return 'needs dnsmasq (apt-get install dnsmasq)';
  try {
    execFileSync('ip', ['netns', 'list'], { stdio: 'ignore' });
  } catch {
    return 'needs ip netns';
  }
  return undefined;
}

/** A gateway: a UDP listener on loopback that keeps what it gets and answers 200 to each request. */
class Gateway {
  readonly got: SipRequest[] = [];
  private constructor(
    readonly port: number,
    private readonly socket: UdpSocket,
  ) {}

  static async open(): Promise<Gateway> {
    const port = await freePort();
    const socket = createSocket('udp4');
    await new Promise<void>((r) => socket.bind(port, '127.0.0.1', () => r()));
    const gw = new Gateway(port, socket);
    socket.on('message', (bytes, from) => gw.take(bytes, from));
    return gw;
  }

  private take(bytes: Buffer, from: { port: number; address: string }): void {
    const r = parseMessage(bytes);
    if (!r.ok || r.message.kind !== 'request' || r.message.method === 'ACK') return;
    const req = r.message;
    this.got.push(req);
    const copy = (name: string) => req.headers.getFields(name).map((v) => `${name}: ${v}`);
    const ok = [
      'SIP/2.0 200 OK',
      ...copy('Via'),
      ...copy('Record-Route'),
      ...copy('From'),
      `To: ${req.headers.get('to')};tag=gw2`,
      ...copy('Call-ID'),
      ...copy('CSeq'),
      'Contact: <sip:gw2@127.0.0.1>',
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n');
    this.socket.send(Buffer.from(ok, 'latin1'), from.port, from.address);
  }

  close(): void {
    this.socket.close();
  }
}

const skip = canRun();

describe('RFC 3263 with a real DNS server (dnsmasq in a namespace)', { skip, timeout: 60_000 }, () => {
  const id = process.pid % 100_000;
  const ns = `sdns${id}`;
  const [hostIf, nsIf] = [`sdh${id}`, `sdn${id}`];
  const net = `10.199.${id % 250}`;
  const dnsAddr = `${net}.2`;
  const dir = mkdtempSync(join(tmpdir(), 'sipha-dns-'));
  const logFile = join(dir, 'dnsmasq.log');
  const onExit = () => destroyNamespacesSync([ns]);
  let dnsmasq: ChildProcess | undefined;
  let sipha: SiphaProcess | undefined;
  let gw2: Gateway | undefined;
  let client: UdpPeer | undefined;
  let port = 0;

  /** The queries dnsmasq logged so far, e.g. `query[SRV] _sip._udp.carrier.test`. */
  const queries = (): string[] =>
    existsSync(logFile)
      ? readFileSync(logFile, 'utf8')
          .split('\n')
          .map((l) => /(query\[[A-Z]+\] \S+)/.exec(l)?.[1])
          .filter((q): q is string => q !== undefined)
      : [];

  before(async () => {
    process.once('exit', onExit);
    await destroyNamespaces([ns]);
    await run(['ip', 'netns', 'add', ns]);
    await run(['ip', 'link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nsIf]);
    await run(['ip', 'link', 'set', nsIf, 'netns', ns]);
    await run(['ip', 'addr', 'add', `${net}.1/30`, 'dev', hostIf]);
    await run(['ip', 'link', 'set', hostIf, 'up']);
    await run(['ip', '-n', ns, 'addr', 'add', `${dnsAddr}/30`, 'dev', nsIf]);
    await run(['ip', '-n', ns, 'link', 'set', nsIf, 'up']);
    await run(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
    const gw1Port = await freePort(); // nothing listens there: ICMP port unreachable
    gw2 = await Gateway.open();
    dnsmasq = spawn(
      'ip',
      [
        ...['netns', 'exec', ns, 'dnsmasq', '--keep-in-foreground', '--no-resolv', '--no-hosts', '--no-poll'],
        ...[
          `--listen-address=${dnsAddr}`,
          '--bind-interfaces',
          '--user=root',
          `--pid-file=${join(dir, 'pid')}`,
        ],
        ...['--log-queries', `--log-facility=${logFile}`, '--local=/test/', '--local-ttl=60'],
        '--naptr-record=carrier.test,10,10,S,SIP+D2U,,_sip._udp.carrier.test',
        `--srv-host=_sip._udp.carrier.test,gw1.carrier.test,${gw1Port},10,0`,
        `--srv-host=_sip._udp.carrier.test,gw2.carrier.test,${gw2.port},20,0`,
        '--host-record=gw1.carrier.test,127.0.0.1',
        '--host-record=gw2.carrier.test,127.0.0.1',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    // dnsmasq answers once it is up.
    const probe = new Resolver({ timeout: 200, tries: 1 });
    probe.setServers([dnsAddr]);
    for (let i = 0; ; i++) {
      try {
        await probe.resolve4('gw2.carrier.test');
        break;
      } catch (err) {
        if (i > 50) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    port = await freePort();
    sipha = await startSipha(
      [
        'sip:',
        `  listen: ["udp://127.0.0.1:${port}"]`,
        '  domain: example.test',
        '  routes:',
        '    - { match: "^9", to: "sip:carrier.test" }',
        `  dns: { servers: ["${dnsAddr}"], timeout_ms: 500, tries: 1 }`,
        'log: { level: info }',
      ].join('\n'),
    );
    client = await UdpPeer.open();
  });

  after(async () => {
    client?.close();
    gw2?.close();
    await sipha?.stop();
    dnsmasq?.kill();
    await destroyNamespaces([ns]);
    process.removeListener('exit', onExit);
    rmSync(dir, { recursive: true, force: true });
  });

  it('a static route by name: NAPTR, SRV, then gw2 after gw1 fails, at once', async () => {
    const t0 = performance.now();
    const invite = request('INVITE', { uri: 'sip:9005551234@example.test', port: client!.port });
    await client!.send(invite, port);
    const res = await client!.nextResponse((r) => r.status >= 200, FAILOVER_BUDGET_MS);
    const ms = performance.now() - t0;
    assert.equal(res.status, 200, `${res.status} ${res.reason}`);
    assert.ok(ms < FAILOVER_BUDGET_MS, `${ms.toFixed(0)} ms`);
    const reached = gw2!.got.filter((r) => r.method === 'INVITE');
    assert.equal(reached.length, 1);
    // The first alternate's attempt (RFC 3263 §4.3: a new branch ID): gw1 was tried first.
    assert.match(reached[0]!.via?.branch ?? '', /-1\.[^.]+$/);
    const asked = queries();
    assert.ok(asked.includes('query[NAPTR] carrier.test'), asked.join('\n'));
    assert.ok(asked.includes('query[SRV] _sip._udp.carrier.test'), asked.join('\n'));
    assert.ok(asked.includes('query[A] gw1.carrier.test'), asked.join('\n'));
  });

  it('the next call is served from the cache: no query', async () => {
    const before = queries().length;
    await client!.send(request('MESSAGE', { uri: 'sip:9005550000@example.test', port: client!.port }), port);
    const res = await client!.nextResponse((r) => r.status >= 200, FAILOVER_BUDGET_MS);
    assert.equal(res.status, 200);
    assert.equal(queries().length, before);
  });

  it('a name that does not exist: 404', async () => {
    await client!.send(request('MESSAGE', { uri: 'sip:bob@nowhere.test', port: client!.port }), port);
    const res = await client!.nextResponse((r) => r.status >= 200, 3000);
    assert.equal(res.status, 404);
    assert.ok(queries().some((q) => q.endsWith(' nowhere.test')));
  });

  it('a numeric host: no DNS query at all', async () => {
    const before = queries().length;
    const got = gw2!.got.length;
    await client!.send(
      request('MESSAGE', { uri: `sip:bob@127.0.0.1:${gw2!.port}`, port: client!.port }),
      port,
    );
    const res = await client!.nextResponse((r) => r.status >= 200, 2000);
    assert.equal(res.status, 200);
    assert.equal(gw2!.got.length, got + 1);
    assert.equal(queries().length, before);
  });

  it('the DNS server gone: 503 within the configured timeouts, not a hang (run last)', async () => {
    dnsmasq?.kill();
    await new Promise((r) => dnsmasq?.once('exit', r));
    const t0 = performance.now();
    await client!.send(request('MESSAGE', { uri: 'sip:bob@elsewhere.test', port: client!.port }), port);
    const res = await client!.nextResponse((r) => r.status >= 200, 8000);
    assert.equal(res.status, 503, `${res.status} ${res.reason}`);
    assert.ok(performance.now() - t0 < 8000);
  });
});
