// The management API on management.listen (DESIGN.md "External interface"). Never on the VIP: the
// unique management address only.
//   GET  /                        dashboard (static page; it logs in with the token for a session cookie)
//   POST /api/v1/session          token → HttpOnly session cookie (see session.ts); DELETE logs out
//   GET  /api/v1/status           this node and the peer as seen from here, with the SIP worker's counters
//   POST /api/v1/switchover       manual switchover, on either node; answers when the new primary is up
//   POST /api/v1/reload           re-read the config file, as SIGHUP does (409 with the reason when refused)
//   GET  /api/v1/events           server-sent events (role, alarm, timeline, switchover, registration, call)
//   GET  /api/v1/registrations    bindings held by the SIP worker (?limit=N)
//   GET  /api/v1/calls            calls (dialogs) held by the SIP worker (?limit=N)
//   GET  /api/v1/cti              WebSocket: CTI call events (see cti-feed.ts)
//   GET  /metrics                 Prometheus
// Everything but the dashboard page needs `Authorization: Bearer <token>` or a session cookie.
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocketServer } from 'ws';
import type { SwitchoverReply } from '../ha/status.js';
import { parseHostPort } from '../net/address.js';
import { DASHBOARD_HTML } from './dashboard-page.js';
import type { FeedEvent } from './event-feed.js';
import { type ManagedNode, ManagementHub } from './hub.js';
import type { Metrics } from './metrics.js';
import { Sessions } from './session.js';
import { bearerMatches } from './token.js';

export type { ManagedNode } from './hub.js';

export interface ManagementServerOptions {
  listen: string;
  token: string;
  node: ManagedNode;
  log: Logger;
  metrics?: Metrics;
  /**
   * Re-reads and applies the config file as SIGHUP does (POST /api/v1/reload); resolves with what was refused, or
   * undefined when it was applied. Without it the endpoint answers 501.
   */
  reload?: () => Promise<string | undefined>;
}

const SSE_HEARTBEAT_MS = 15_000;
const STATUS_PUSH_MS = 1000;

export class ManagementServer {
  readonly hub: ManagementHub;
  private readonly server: Server;
  private readonly wss = new WebSocketServer({ noServer: true });
  private readonly sessions = new Sessions();
  private readonly closers = new Set<() => void>();
  private switching: Promise<SwitchoverReply> | undefined;

  constructor(private readonly o: ManagementServerOptions) {
    this.hub = new ManagementHub(o.node, o.metrics);
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        o.log.error({ err }, 'management request failed');
        send(res, 500, { error: 'internal error' });
      });
    });
    this.server.on('upgrade', (req, socket, head) => this.upgrade(req, socket, head));
  }

  async start(): Promise<void> {
    const { host, port } = parseHostPort(this.o.listen);
    this.server.listen(port, host);
    await once(this.server, 'listening');
    this.o.log.info({ listen: this.o.listen }, 'management API listening');
  }

  get port(): number {
    const a = this.server.address();
    return typeof a === 'object' && a !== null ? a.port : 0;
  }

  async close(): Promise<void> {
    this.hub.close();
    for (const c of this.closers) c();
    for (const ws of this.wss.clients) ws.terminate();
    this.server.closeAllConnections();
    await new Promise<void>((res) => this.server.close(() => res()));
  }

  private authorized(req: IncomingMessage): boolean {
    if (bearerMatches(req.headers.authorization, this.o.token)) return true;
    if (!this.sessions.valid(req.headers.cookie)) return false;
    // The cookie is SameSite=Strict; a state-changing request must also come from our own page.
    if (req.method === 'GET') return true;
    const origin = req.headers.origin;
    return origin === undefined || origin === `http://${req.headers.host}`;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const path = url.pathname;
    if (path === '/' || path === '/index.html') {
      if (req.method !== 'GET') return void send(res, 405, { error: 'use GET' });
      res.writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        'cache-control': 'no-store',
        'content-security-policy':
          "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'",
      });
      res.end(DASHBOARD_HTML);
      return;
    }
    if (path === '/api/v1/session') return this.session(req, res);
    if (!this.authorized(req)) {
      res.setHeader('WWW-Authenticate', 'Bearer');
      send(res, 401, { error: 'missing or wrong bearer token' });
      return;
    }
    const limit = Math.max(0, Math.min(100_000, Number(url.searchParams.get('limit') ?? 1000) || 1000));
    switch (path) {
      case '/api/v1/status':
        if (req.method !== 'GET') return void send(res, 405, { error: 'use GET' });
        return void send(res, 200, await this.hub.status());
      case '/api/v1/switchover':
        if (req.method !== 'POST') return void send(res, 405, { error: 'use POST' });
        return this.switchover(req, res, /^(1|true)$/.test(url.searchParams.get('force') ?? ''));
      case '/api/v1/reload': {
        if (req.method !== 'POST') return void send(res, 405, { error: 'use POST' });
        if (this.o.reload === undefined)
          return void send(res, 501, { error: 'reload is not available here' });
        this.o.log.info({ from: req.socket.remoteAddress }, 'config reload asked over the API');
        const refused = await this.o.reload();
        return void send(
          res,
          refused === undefined ? 200 : 409,
          refused === undefined ? { ok: true } : { ok: false, error: refused },
        );
      }
      case '/api/v1/events':
        if (req.method !== 'GET') return void send(res, 405, { error: 'use GET' });
        return this.events(req, res, url);
      case '/api/v1/registrations':
      case '/api/v1/calls': {
        if (req.method !== 'GET') return void send(res, 405, { error: 'use GET' });
        const what = path === '/api/v1/calls' ? 'calls' : 'registrations';
        const a = await this.hub.queries.ask(what, limit);
        if (a === undefined) return void send(res, 503, { error: 'the SIP worker did not answer' });
        return void send(res, 200, { total: a.total ?? 0, [what]: a[what] ?? [] });
      }
      case '/metrics': {
        if (req.method !== 'GET') return void send(res, 405, { error: 'use GET' });
        const m = await this.hub.renderMetrics();
        res.writeHead(200, { 'content-type': m.contentType });
        res.end(m.body);
        return;
      }
    }
    send(res, 404, { error: 'not found' });
  }

  private async switchover(req: IncomingMessage, res: ServerResponse, force: boolean): Promise<void> {
    // Who asked, for the journal: the operator's question after an unexpected switchover.
    this.o.log.info({ from: req.socket.remoteAddress, force }, 'switchover asked over the API');
    // One at a time: a second request while one runs gets the same outcome.
    // ?force=1 switches even to a backup that is not synced (an emergency: changes not yet replicated are lost).
    if (this.switching === undefined) {
      this.hub.events.push('switchover', { phase: 'requested', node: this.o.node.status().node.id, force });
      this.switching = this.o.node.switchover(force).finally(() => {
        this.switching = undefined;
      });
    }
    const reply = await this.switching;
    this.o.log.info({ reply }, 'switchover requested over the API');
    this.hub.events.push('switchover', {
      phase: 'result',
      ok: reply.ok,
      detail: reply.detail,
      primary: reply.primary,
      term: reply.term,
    });
    send(res, reply.ok ? 200 : 409, reply);
  }

  private async session(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method === 'DELETE') {
      this.sessions.end(req.headers.cookie);
      res.writeHead(204, { 'set-cookie': 'sipha_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0' });
      res.end();
      return;
    }
    if (req.method !== 'POST') return void send(res, 405, { error: 'use POST' });
    const body = await readBody(req, 4096);
    let token: unknown;
    try {
      token = (JSON.parse(body) as { token?: unknown }).token;
    } catch {
      token = undefined;
    }
    const header = typeof token === 'string' ? `Bearer ${token}` : req.headers.authorization;
    if (!bearerMatches(header, this.o.token)) return void send(res, 401, { error: 'wrong token' });
    const s = this.sessions.create();
    res.setHeader('set-cookie', s.cookie);
    send(res, 200, { ok: true });
  }

  /** Server-sent events; resumes after Last-Event-ID (or ?since=ID); ?status=1 adds a status event each second. */
  private events(req: IncomingMessage, res: ServerResponse, url: URL): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-store',
      connection: 'keep-alive',
    });
    res.write('retry: 1000\n\n');
    const write = (e: FeedEvent) =>
      res.write(`id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify({ ...e.data, at: e.at })}\n\n`);
    // No id: live events only. An id of an earlier run of this node (it restarted) replays all it holds.
    const header = req.headers['last-event-id'];
    const last = (Array.isArray(header) ? header[0] : header) ?? url.searchParams.get('since') ?? undefined;
    if (last !== undefined && last !== '') for (const e of this.hub.events.since(last)) write(e);
    const unsubscribe = this.hub.events.subscribe(write);
    const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), SSE_HEARTBEAT_MS);
    let statusTimer: NodeJS.Timeout | undefined;
    if (url.searchParams.get('status') === '1') {
      const push = () =>
        void this.hub.status().then((s) => res.write(`event: status\ndata: ${JSON.stringify(s)}\n\n`));
      push();
      statusTimer = setInterval(push, STATUS_PUSH_MS);
    }
    const close = () => {
      unsubscribe();
      clearInterval(heartbeat);
      clearInterval(statusTimer);
      this.closers.delete(close);
      res.end();
    };
    this.closers.add(close);
    req.on('close', close);
  }

  /** GET /api/v1/cti: WebSocket upgrade with the same authentication; ?stream=S&since=N resumes. */
  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname !== '/api/v1/cti' || !this.authorized(req)) {
      socket.end(
        url.pathname === '/api/v1/cti'
          ? 'HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer\r\nContent-Length: 0\r\n\r\n'
          : 'HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n',
      );
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const cti = this.hub.cti;
      const sinceRaw = url.searchParams.get('since');
      const since = sinceRaw === null ? undefined : Number(sinceRaw);
      const s = this.o.node.status();
      ws.send(
        JSON.stringify({
          type: 'hello',
          node: cti.node,
          stream: cti.stream,
          lastSeq: cti.lastSeq,
          role: s.role,
        }),
      );
      for (const e of cti.replay(url.searchParams.get('stream') ?? undefined, since))
        ws.send(JSON.stringify({ type: 'event', ...e }));
      const unsubscribe = cti.subscribe((e) => ws.send(JSON.stringify({ type: 'event', ...e })));
      // Role changes tell clients which node is primary now (informational: events come only from a primary).
      const unRole = this.o.node.onEvent((e) => {
        if (e.type === 'role')
          ws.send(JSON.stringify({ type: 'role', node: cti.node, role: e.to, term: e.term }));
      });
      ws.on('close', () => {
        unsubscribe();
        unRole();
      });
    });
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return;
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function readBody(req: IncomingMessage, max: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) req.destroy(new Error('body too large'));
      else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
