// The SIP servers of parts 1-3: a standalone server as pair `id` of example.test, either in this process (its
// directory's metrics and cache read directly) or as a `sipha start` child process (so that SIGKILL leaves its
// pair lease unrevoked in etcd, as a crash does).
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { type ClusterDirectory, createClusterDirectory } from '../../src/app/cluster-directory.js';
import { configSchema } from '../../src/config/schema.js';
import { SipServer } from '../../src/server/sip-server.js';
import { DOMAIN, freePort, sleep } from './common.js';

export interface InProcessPair {
  id: string;
  port: number;
  server: SipServer;
  cluster: ClusterDirectory;
  stop(): Promise<void>;
}

export async function startInProcess(
  etcd: readonly string[],
  id: string,
  cluster: Record<string, unknown> = {},
): Promise<InProcessPair> {
  const port = await freePort();
  const config = configSchema.parse({
    sip: { listen: [`udp://127.0.0.1:${port}`], domain: DOMAIN, warm_up: false },
    cluster: { etcd, pair_id: id, ...cluster },
    log: { level: 'error' },
  });
  const log = pino({ level: 'error' });
  const server = new SipServer({ config, resolvePath: (p) => p, log });
  const loaded = { file: 'bench.yaml', config, resolvePath: (p: string) => p };
  const dir = await createClusterDirectory(server, loaded, log, { acting: () => true, revokeOnClose: true });
  if (dir === undefined) throw new Error('no cluster directory');
  await server.start();
  dir.start();
  let stopped = false;
  return {
    id,
    port,
    server,
    cluster: dir,
    async stop() {
      if (stopped) return;
      stopped = true;
      await server.stop(0);
      await dir.close();
    },
  };
}

const CLI = join(process.cwd(), 'dist', 'src', 'cli', 'main.js');

export interface PairProcess {
  id: string;
  port: number;
  child: ChildProcess;
  /** Sends signal and waits for the exit (bounded: SIGKILL after 5 s); removes its folder. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export async function startProcess(
  etcd: readonly string[],
  id: string,
  cluster: Record<string, unknown> = {},
): Promise<PairProcess> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'sipha-bench-cluster-'));
  const extra = Object.entries(cluster).map(([k, v]) => `  ${k}: ${JSON.stringify(v)}`);
  const yaml = [
    'sip:',
    `  listen: [udp://127.0.0.1:${port}]`,
    `  domain: ${DOMAIN}`,
    '  warm_up: false',
    'cluster:',
    `  etcd: [${etcd.join(', ')}]`,
    `  pair_id: ${id}`,
    ...extra,
    'log: { level: info }',
  ].join('\n');
  writeFileSync(join(dir, 'sipha.yaml'), yaml);
  const child = spawn(process.execPath, [CLI, 'start', '--config', join(dir, 'sipha.yaml')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const keep = (d: Buffer) => {
    // Only the start line matters; bounded so that a chatty server cannot grow it.
    if (out.length < 100_000) out += d.toString();
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    const t = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
    rmSync(dir, { recursive: true, force: true });
  };
  for (let i = 0; i < 500 && !out.includes('SIP server listening'); i++) {
    if (child.exitCode !== null) break;
    await sleep(20);
  }
  if (!out.includes('SIP server listening')) {
    await stop('SIGKILL');
    throw new Error(`sipha ${id} did not start:\n${out.slice(-2000)}`);
  }
  return { id, port, child, stop };
}
