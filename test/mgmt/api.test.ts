// The management API with a scripted node (no root, no network namespaces): authentication, the endpoints,
// metrics, the event stream with resume, the session cookie the dashboard uses, and the CLI's table.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import WebSocket from 'ws';
import { eventLine } from '../../src/cli/events-command.js';
import type { ManagementStatus } from '../../src/mgmt/hub.js';
import { ManagementServer } from '../../src/mgmt/server.js';
import { followEvents, parseSse, type SseMessage } from '../../src/mgmt/sse-client.js';
import { formatTable, statusRows } from '../../src/mgmt/status-table.js';
import { freePort } from '../helpers/ports.js';
import { FakeNode } from './fake-node.js';

const TOKEN = 'unit-token-0123456789abcdef';
const log = pino({ level: 'silent' });

describe('management API', () => {
  let node: FakeNode;
  let server: ManagementServer;
  let base: string;

  before(async () => {
    node = new FakeNode('a', 'primary', 3, 'b');
    server = new ManagementServer({
      listen: `127.0.0.1:${await freePort()}`,
      token: TOKEN,
      node,
      log,
      reload: async () => {
        reloads++;
        return reloadRefusal;
      },
    });
    await server.start();
    base = `http://127.0.0.1:${server.port}`;
  });
  after(() => server.close());
  let reloads = 0;
  let reloadRefusal: string | undefined;

  const get = (path: string, headers: Record<string, string> = {}) => fetch(`${base}${path}`, { headers });
  const auth = { authorization: `Bearer ${TOKEN}` };

  const PROTECTED = [
    ['GET', '/api/v1/status'],
    ['POST', '/api/v1/switchover'],
    ['GET', '/api/v1/events'],
    ['GET', '/api/v1/registrations'],
    ['GET', '/api/v1/calls'],
    ['GET', '/metrics'],
  ] as const;

  it('refuses every endpoint without a token and with a wrong one (401, WWW-Authenticate: Bearer)', async () => {
    for (const [method, path] of PROTECTED) {
      for (const headers of [
        {} as Record<string, string>,
        { authorization: 'Bearer wrong-token-0123456789abcdef' },
        { authorization: `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}` },
        { authorization: `Bearer ${TOKEN}x` },
      ]) {
        const r = await fetch(`${base}${path}`, { method, headers });
        assert.equal(r.status, 401, `${method} ${path} with ${JSON.stringify(headers)}`);
        assert.equal(r.headers.get('www-authenticate'), 'Bearer');
        await r.body?.cancel();
      }
    }
    assert.equal(node.switchovers, 0, 'no switchover without the token');
  });

  it('refuses the CTI WebSocket without the right token', async () => {
    for (const headers of [{}, { authorization: 'Bearer nope-nope-nope-nope-nope' }]) {
      const code = await new Promise<number>((resolve) => {
        const ws = new WebSocket(`${base.replace('http', 'ws')}/api/v1/cti`, { headers });
        ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.on('open', () => resolve(101));
        ws.on('error', () => {});
      });
      assert.equal(code, 401);
    }
  });

  it('answers with the right token: status with peer, replication and SIP counters', async () => {
    const r = await get('/api/v1/status', auth);
    assert.equal(r.status, 200);
    const s = (await r.json()) as ManagementStatus;
    assert.equal(s.role, 'primary');
    assert.equal(s.term, 3);
    assert.equal(s.peer.id, 'b');
    assert.equal(s.replication?.synced, true);
    assert.equal(s.sip?.requestsByMethod.REGISTER, 7);
    assert.match(s.cti.stream, /^a\.\d+$/);
  });

  it('lists registrations and calls from the SIP worker; 503 when it does not answer', async () => {
    const regs = (await (await get('/api/v1/registrations', auth)).json()) as {
      total: number;
      registrations: Array<{ aor: string }>;
    };
    assert.equal(regs.total, 1);
    assert.equal(regs.registrations[0]?.aor, 'sip:bob@example.test');
    const calls = (await (await get('/api/v1/calls', auth)).json()) as { total: number; calls: unknown[] };
    assert.deepEqual(calls, { total: 0, calls: [] });
    node.workerUp = false;
    try {
      assert.equal((await get('/api/v1/calls', auth)).status, 503);
      // Status still answers (the node is what matters), without the worker's counters.
      const s = (await (await get('/api/v1/status', auth)).json()) as ManagementStatus;
      assert.equal(s.sip, null);
    } finally {
      node.workerUp = true;
    }
  });

  it('serves Prometheus metrics: role, term, transitions, VIP commands, announcements, SIP, replication', async () => {
    node.setRole('backup', 3);
    node.setRole('primary', 4);
    node.emit({
      type: 'alarm',
      alarm: { at: Date.now(), alarm: 'dual-primary', detail: 'test', severity: 'critical', state: 'raised' },
    });
    server.hub.metrics.vipCommand('enable', true, 12, 3);
    server.hub.metrics.vipCommand('announce', true, 160, 3);
    const r = await get('/metrics', auth);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /text\/plain/);
    const text = await r.text();
    for (const re of [
      /^sipha_role\{role="primary"\} 1$/m,
      /^sipha_role\{role="backup"\} 0$/m,
      /^sipha_term 4$/m,
      /^sipha_role_transitions_total\{from="primary",to="backup"\} 1$/m,
      /^sipha_role_transitions_total\{from="backup",to="primary"\} 1$/m,
      /^sipha_vip_announcements_sent_total 3$/m,
      /^sipha_vip_command_duration_seconds_count\{operation="enable",ok="true"\} 1$/m,
      /^sipha_sip_requests_total\{method="REGISTER"\} 7$/m,
      /^sipha_sip_responses_total\{code="404"\} 1$/m,
      /^sipha_sip_parse_errors_total\{reason="bad-start-line"\} 1$/m,
      /^sipha_sip_transport_errors_total\{kind="unreachable"\} 2$/m,
      /^sipha_sip_overload_rejected_total\{method="INVITE"\} 4$/m,
      /^sipha_sip_overload_active 1$/m,
      /^sipha_sip_overload_reject_ratio 0.3$/m,
      /^sipha_sip_connections\{transport="wss"\} 5$/m,
      /^sipha_sip_connections_accepted_total\{transport="tls"\} 9$/m,
      /^sipha_tls_handshakes_total\{result="resumed"\} 17$/m,
      /^sipha_ws_upgrades_refused_total\{reason="all"\} 2$/m,
      /^sipha_sip_flows 5$/m,
      /^sipha_sip_flow_rebinds_total\{kind="all"\} 3$/m,
      /^sipha_replication_lag_seconds\{quantile="0.99"\} 0.004$/m,
      /^sipha_replication_synced 1$/m,
      /^sipha_replication_ack_waits_total 40$/m,
      /^sipha_replication_ack_wait_timeouts_total 2$/m,
      /^sipha_replication_ack_wait_seconds_total 0.12$/m,
      /^sipha_alarms_total\{alarm="dual-primary",severity="critical"\} 1$/m,
      /^sipha_healthy 1$/m,
      /^sipha_peer_alive 1$/m,
      /^process_cpu_seconds_total /m,
      /^sipha_vip_held 1$/m,
      /^sipha_build_info\{version="\d+\.\d+\.\d+[^"]*",node_version="v\d+\.\d+\.\d+"\} 1$/m,
    ])
      assert.match(text, re);
    // Held means on the host: a failed release may still hold it, a successful one does not, whatever the role.
    const held = async () => /^sipha_vip_held (\d)$/m.exec(await (await get('/metrics', auth)).text())?.[1];
    server.hub.metrics.vipCommand('disable', false, 5, 3);
    assert.equal(await held(), '1', 'a failed disable: still held');
    server.hub.metrics.vipCommand('disable', true, 5, 3);
    assert.equal(await held(), '0');
    assert.equal(node.status().vip.wanted, true, 'the primary still wants it');
    server.hub.metrics.vipCommand('enable', true, 5, 3);
    assert.equal(await held(), '1');
  });

  it('streams events (SSE) in order and resumes after Last-Event-ID', async () => {
    const got: SseMessage[] = [];
    const f = followEvents({ url: base, token: TOKEN }, { onMessage: (m) => got.push(m) });
    await sleep(200);
    node.setRole('backup', 5);
    node.worker({
      type: 'registration',
      change: 'added',
      aor: 'sip:c@x',
      contact: 'sip:c@1.2.3.4',
      reason: '',
      at: 1,
    });
    node.call('created', 'call-1;f;t');
    await waitFor(() => got.length >= 3);
    f.close();
    assert.deepEqual(
      got.map((m) => m.event),
      ['role', 'registration', 'call'],
    );
    const role = JSON.parse(got[0]?.data ?? '{}') as { to: string; term: number };
    assert.deepEqual([role.to, role.term], ['backup', 5]);
    assert.match(eventLine(got[0] as SseMessage), /role +node a: primary → backup in term 5/);
    // What happened while disconnected comes on reconnect, nothing twice.
    const lastId = got[2]?.id ?? '';
    const [boot, n] = lastId.split('-');
    assert.equal(boot, server.hub.events.boot, 'ids name this run of the node');
    node.setRole('primary', 6);
    const later: SseMessage[] = [];
    const g = followEvents({ url: base, token: TOKEN }, { since: lastId, onMessage: (m) => later.push(m) });
    await waitFor(() => later.length >= 1);
    await sleep(100);
    g.close();
    assert.deepEqual(
      later.map((m) => [m.event, m.id]),
      [['role', `${boot}-${Number(n) + 1}`]],
    );
  });

  it('parses SSE split anywhere, comments and multi-line data', () => {
    const out: SseMessage[] = [];
    let rest = parseSse(': keep-alive\n\nid: 7\nevent: call\ndata: {"a":', (m) => out.push(m));
    rest = parseSse(`${rest}1}\n\n`, (m) => out.push(m));
    assert.equal(rest, '');
    assert.deepEqual(out, [{ id: '7', event: 'call', data: '{"a":1}' }]);
  });

  it('dashboard: the page is public but holds no data; a session cookie from the token opens the API', async () => {
    const page = await get('/');
    assert.equal(page.status, 200);
    const html = await page.text();
    assert.match(html, /<title>sipha/);
    assert.doesNotMatch(html, /198\.51\.100\.10/);
    const bad = await fetch(`${base}/api/v1/session`, {
      method: 'POST',
      body: JSON.stringify({ token: 'nope' }),
    });
    assert.equal(bad.status, 401);
    const ok = await fetch(`${base}/api/v1/session`, {
      method: 'POST',
      body: JSON.stringify({ token: TOKEN }),
    });
    assert.equal(ok.status, 200);
    const cookie = ok.headers.get('set-cookie') ?? '';
    assert.match(cookie, /^sipha_session=[0-9a-f]{64}; HttpOnly; SameSite=Strict; Path=\//);
    const session = cookie.split(';')[0] as string;
    assert.equal((await get('/api/v1/status', { cookie: session })).status, 200);
    assert.equal((await get('/api/v1/status', { cookie: 'sipha_session=forged' })).status, 401);
    // A state change with the cookie from another origin is refused.
    const cross = await fetch(`${base}/api/v1/switchover`, {
      method: 'POST',
      headers: { cookie: session, origin: 'http://evil.example' },
    });
    assert.equal(cross.status, 401);
    const before = node.switchovers;
    const same = await fetch(`${base}/api/v1/switchover`, {
      method: 'POST',
      headers: { cookie: session, origin: base },
    });
    assert.equal(same.status, 200);
    assert.equal(node.switchovers, before + 1);
    await fetch(`${base}/api/v1/session`, { method: 'DELETE', headers: { cookie: session } });
    assert.equal((await get('/api/v1/status', { cookie: session })).status, 401, 'logged out');
  });

  it('POST /api/v1/reload runs the reload: 200 when applied, 409 with the reason when refused, 401 without token', async () => {
    const post = (headers: Record<string, string>) =>
      fetch(`${base}/api/v1/reload`, { method: 'POST', headers });
    assert.equal((await post({})).status, 401);
    assert.equal(reloads, 0);
    const ok = await post(auth);
    assert.equal(ok.status, 200);
    assert.deepEqual(await ok.json(), { ok: true });
    reloadRefusal = 'sipha.yaml: sip.listen: changed: needs a restart';
    const refused = await post(auth);
    assert.equal(refused.status, 409);
    assert.match(
      ((await refused.json()) as { error: string }).error,
      /sip\.listen: changed: needs a restart/,
    );
    assert.equal(reloads, 2);
    assert.equal((await fetch(`${base}/api/v1/reload`, { headers: auth })).status, 405);
  });

  it('sipha status table: both nodes side by side', async () => {
    const a = (await (await get('/api/v1/status', auth)).json()) as ManagementStatus;
    const b: ManagementStatus = {
      ...structuredClone(a),
      node: { id: 'b', priority: 100, pid: 9 },
      role: 'backup',
      vip: { ...a.vip, wanted: false },
    };
    const table = formatTable(
      statusRows([
        {
          url: 'http://203.0.113.11:8080',
          status: { ...a, role: 'primary', vip: { ...a.vip, wanted: true } },
          error: null,
        },
        { url: 'http://203.0.113.12:8080', status: b, error: null },
      ]),
    );
    const lines = table.split('\n');
    assert.match(lines[0] ?? '', /^\s+a \(203\.0\.113\.11:8080\)\s+b \(203\.0\.113\.12:8080\)$/);
    assert.match(table, /^role\s+primary\s+backup$/m);
    assert.match(table, /^VIP 198\.51\.100\.10\s+held\s+—$/m);
    assert.match(table, /^replication\s+synced\s+synced$/m);
    assert.match(table, /^SIP requests\s+REGISTER 7, INVITE 2, BYE 1/m);
    assert.match(table, /^connections\s+tls 2, wss 5; 5 flows, 3 re-bound/m);
    // One node down: its column says so, the other still shows.
    const down = formatTable(
      statusRows([
        { url: 'http://203.0.113.11:8080', status: a, error: null },
        { url: 'http://203.0.113.12:8080', status: null, error: 'connect ECONNREFUSED' },
      ]),
    );
    assert.match(down, /^role\s+\S+\s+unreachable: connect ECONNREFUSED$/m);
    assert.doesNotMatch(table, /^etcd/m, 'no cluster rows without cluster mode');
  });

  it('sipha status table in cluster mode: etcd, the permit, the pairs and their holders, the directory', async () => {
    const a = (await (await get('/api/v1/status', auth)).json()) as ManagementStatus;
    const etcd = {
      etcd: 'reachable' as const,
      lease: '7',
      validForMs: 740,
      permit: 'held' as const,
      fence: 42,
      holder: 'a',
      renewRttMs: 3,
      lastError: undefined,
      pairs: [
        { pair: 'p1', target: '198.51.100.10:5060', holder: 'a' },
        { pair: 'p2', target: '198.51.100.20:5060', holder: undefined },
      ],
    };
    const status: ManagementStatus = {
      ...a,
      cluster: {
        pairId: 'p1',
        failsafe: true,
        quorum: { etcd: 'reachable', permit: 'held', fence: 42 },
        etcd,
      },
      sip:
        a.sip === null
          ? null
          : {
              ...a.sip,
              cluster: {
                pair: 'p1',
                entries: 1200,
                pairs: 2,
                etcdReachable: true,
                lastError: undefined,
                writes: 1250,
                txns: 40,
                etcdSeconds: 0.2,
                moves: 3,
                lookups: { local: 10, remote: 4, miss: 1 },
              },
            },
    };
    const lapsed: ManagementStatus = {
      ...status,
      cluster: {
        pairId: 'p1',
        failsafe: true,
        quorum: { etcd: 'unreachable', permit: 'lapsed', fence: 42 },
        etcd: { ...etcd, etcd: 'unreachable', lastError: '14 UNAVAILABLE' },
      },
    };
    const table = formatTable(
      statusRows([
        { url: 'http://203.0.113.11:8080', status, error: null },
        { url: 'http://203.0.113.12:8080', status: lapsed, error: null },
      ]),
    );
    assert.match(
      table,
      /^etcd\s+reachable \(renewal 3 ms, lease 740 ms left\)\s+unreachable: 14 UNAVAILABLE$/m,
    );
    assert.match(table, /^pair permit\s+held \(fence 42\)\s+lapsed: serving under failsafe \(fence 42\)$/m);
    assert.match(
      table,
      /^cluster pairs\s+p1 a @ 198\.51\.100\.10:5060, p2 no primary @ 198\.51\.100\.20:5060/m,
    );
    assert.match(table, /^directory\s+1200 AoRs, 2 pairs; 1250 writes in 40 txns/m);
  });
});

async function waitFor(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await sleep(10);
  }
}
