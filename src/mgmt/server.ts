// The management API on management.listen (DESIGN.md "External interface"), the part the HA workflows need:
//   GET /api/v1/status       the node's status snapshot (role, term, peer, paths, witnesses, worker, timelines)
//   POST /api/v1/switchover  manual switchover, on either node; answers when the new primary is up
// Every request needs `Authorization: Bearer <token>`.
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { parseHostPort } from '../ha/host-port.js';
import type { HaStatus, SwitchoverReply } from '../ha/node.js';
import { bearerMatches } from './token.js';

export interface ManagedNode {
  status(): HaStatus;
  switchover(force?: boolean): Promise<SwitchoverReply>;
}

export interface ManagementServerOptions {
  listen: string;
  token: string;
  node: ManagedNode;
  log: Logger;
}

export class ManagementServer {
  private readonly server: Server;
  private switching: Promise<SwitchoverReply> | undefined;

  constructor(private readonly o: ManagementServerOptions) {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        o.log.error({ err }, 'management request failed');
        send(res, 500, { error: 'internal error' });
      });
    });
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
    this.server.closeAllConnections();
    await new Promise<void>((res) => this.server.close(() => res()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!bearerMatches(req.headers.authorization, this.o.token)) {
      res.setHeader('WWW-Authenticate', 'Bearer');
      send(res, 401, { error: 'missing or wrong bearer token' });
      return;
    }
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/api/v1/status') {
      if (req.method !== 'GET') return void send(res, 405, { error: 'use GET' });
      send(res, 200, this.o.node.status());
      return;
    }
    if (path === '/api/v1/switchover') {
      if (req.method !== 'POST') return void send(res, 405, { error: 'use POST' });
      // One at a time: a second request while one runs gets the same outcome.
      // ?force=1 switches even to a backup that is not synced (an emergency: changes not yet replicated are lost).
      const force = /[?&]force=(1|true)\b/.test(req.url ?? '');
      this.switching ??= this.o.node.switchover(force).finally(() => {
        this.switching = undefined;
      });
      const reply = await this.switching;
      this.o.log.info({ reply }, 'switchover requested over the API');
      send(res, reply.ok ? 200 : 409, reply);
      return;
    }
    send(res, 404, { error: 'not found' });
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return;
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
