// A node's management API reached from this process, which lives in the root namespace while the API listens
// inside a lab host (on the management subnet in two-NIC labs). A long-lived relay runs inside a lab host's
// namespace: it listens on a Unix socket (a path in the filesystem, bound to no network namespace) and connects
// each stream to the API's address as seen from that host. Every request is then plain HTTP over that socket
// through the management client: no process per request. The pair's own relays run in the node's host and talk
// to its own address, so they still answer while that host's cables are cut, and being no process of the node,
// freezing or killing the node spares them. A relay on G (the operator's host) tests the management subnet;
// loopback() opens a TCP port here for clients that need one (a browser, a WebSocket client).
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { rm } from 'node:fs/promises';
import { createServer, connect as netConnect, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { type ApiTarget, callApi } from '../mgmt/client.js';
import { formatHostPort, type HostPort } from '../net/address.js';
import type { Lab } from './lab.js';
import type { LabHostName } from './topology.js';

const RELAY = `
const net = require('node:net');
const [sock, host, port] = process.argv.slice(1);
require('node:fs').rmSync(sock, { force: true });
net.createServer((c) => {
  const u = net.connect(Number(port), host);
  c.pipe(u).pipe(c);
  c.on('error', () => u.destroy());
  u.on('error', () => c.destroy());
}).listen(sock, () => process.stdout.write('READY\\n'));
`;

const START_TIMEOUT_MS = 10_000;

export class ApiRelay {
  private readonly servers: Server[] = [];

  private constructor(
    private readonly child: ChildProcess,
    readonly target: ApiTarget,
  ) {}

  /**
   * Starts a relay inside host `via` towards `api` (an address that host reaches); its socket goes in `dir`.
   * Resolves once it listens.
   */
  static async start(
    lab: Lab,
    via: LabHostName,
    api: HostPort,
    token: string,
    dir: string,
  ): Promise<ApiRelay> {
    const socketPath = join(dir, `api-${via}-${api.host}-${api.port}.sock`);
    const child = lab.spawn(via, [process.execPath, '-e', RELAY, socketPath, api.host, String(api.port)]);
    const what = `the API relay in ${via} to ${formatHostPort(api)}`;
    await new Promise<void>((resolve, reject) => {
      const onExit = (code: number | null) => fail(new Error(`${what} exited (${code})`));
      const timer = setTimeout(() => fail(new Error(`${what} did not start`)), START_TIMEOUT_MS);
      function fail(err: Error): void {
        clearTimeout(timer);
        child.kill('SIGKILL');
        reject(err);
      }
      child.once('exit', onExit);
      child.stdout?.on('data', (d: Buffer) => {
        if (!d.toString().includes('READY')) return;
        clearTimeout(timer);
        child.off('exit', onExit);
        resolve();
      });
    });
    child.stderr?.resume();
    return new ApiRelay(child, { url: `http://${formatHostPort(api)}`, token, socketPath });
  }

  /** One request; rejects on no answer within timeoutMs. */
  call(method: 'GET' | 'POST', path: string, timeoutMs: number): Promise<{ status: number; body: unknown }> {
    return callApi(this.target, method, path, timeoutMs);
  }

  /** A TCP port on this process's loopback that leads to the API; returns its base URL (http://127.0.0.1:PORT). */
  async loopback(): Promise<string> {
    const sock = this.socketPath;
    const server = createServer((c: Socket) => {
      const u = netConnect(sock);
      c.pipe(u).pipe(c);
      c.on('error', () => u.destroy());
      u.on('error', () => c.destroy());
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    this.servers.push(server);
    const a = server.address();
    return `http://${formatHostPort({ host: '127.0.0.1', port: typeof a === 'object' && a !== null ? a.port : 0 })}`;
  }

  async close(): Promise<void> {
    for (const s of this.servers) s.close();
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = once(this.child, 'exit');
      this.child.kill('SIGTERM');
      await exited;
    }
    await rm(this.socketPath, { force: true });
  }

  private get socketPath(): string {
    return this.target.socketPath ?? '';
  }
}
