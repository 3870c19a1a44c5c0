// Reaching a lab host's management address from the test process (which lives in the root namespace): a relay
// inside a lab host listens on a Unix socket (not bound to any network namespace) and connects to the target;
// a loopback TCP port here pipes into that socket. Chromium and the CTI client then use http://127.0.0.1:PORT.
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer, connect as netConnect, type Server } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Lab } from '../../src/lab/lab.js';
import type { LabHostName } from '../../src/lab/topology.js';

export interface Forward {
  port: number;
  url: string;
  close(): Promise<void>;
}

const RELAY = `
const net = require('node:net');
const [sock, host, port] = process.argv.slice(1);
require('node:fs').rmSync(sock, { force: true });
net.createServer((c) => {
  const u = net.connect(Number(port), host);
  c.pipe(u).pipe(c);
  c.on('error', () => u.destroy());
  u.on('error', () => c.destroy());
}).listen(sock);
`;

export async function forward(
  lab: Lab,
  via: LabHostName,
  host: string,
  port: number,
  dir: string,
): Promise<Forward> {
  const sock = join(dir, `fwd-${host}-${port}.sock`);
  const relay: ChildProcess = lab.spawn(via, [process.execPath, '-e', RELAY, sock, host, String(port)]);
  await sleep(300);
  const server: Server = createServer((c) => {
    const u = netConnect(sock);
    c.pipe(u).pipe(c);
    c.on('error', () => u.destroy());
    u.on('error', () => c.destroy());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const a = server.address();
  const local = typeof a === 'object' && a !== null ? a.port : 0;
  return {
    port: local,
    url: `http://127.0.0.1:${local}`,
    async close() {
      server.close();
      relay.kill('SIGTERM');
    },
  };
}
