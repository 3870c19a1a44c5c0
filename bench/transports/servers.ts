// The two servers under test as child processes, each listening on udp, tls and wss on 127.0.0.1: sipha (its CLI with
// a standalone YAML config) and Kamailio 5.6 (kamailio-tls.cfg, in the foreground). Ready when it answers an OPTIONS
// over UDP; stopped with SIGTERM to its process group (Kamailio forks workers), and killed if the bench itself exits.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { children, killGroup } from '../local-servers.js';
import { answersOptions } from '../options-probe.js';
import type { CertFiles } from './certs.js';
import type { Transport } from './connection.js';

export type Ports = Record<Transport, number>;

export interface Running {
  name: string;
  ports: Ports;
  pid: number;
  /** SIGTERM to the whole group; resolves when the main process has exited. */
  stop(): Promise<void>;
  log(): string;
}

export interface SiphaOptions {
  /** sip.tls.ticket_key_file: the same file on two servers lets clients resume their sessions on the other. */
  ticketKeyFile?: string;
  transports?: readonly Transport[];
}

/** Kamailio's shared memory, MB: TLS connections and transactions at a few thousand/s need far more than the 64 default. */
const KAM_SHM_MB = Number(process.env.BENCH_KAM_SHM_MB ?? 1024);
/** Kamailio's worker processes per listener kind (children, tcp_children): the machine's cores by default. */
const KAM_CHILDREN = Number(process.env.BENCH_KAM_CHILDREN ?? 2);
const CLI = join(process.cwd(), 'dist', 'src', 'cli', 'main.js');
const SRC = join(process.cwd(), 'bench', 'transports');

export async function startSipha(
  dir: string,
  ports: Ports,
  cert: CertFiles,
  opts: SiphaOptions = {},
): Promise<Running> {
  const transports = opts.transports ?? ['udp', 'tls', 'wss'];
  // UDP always: it is how readiness is probed.
  const listen = ['udp', ...transports.filter((t) => t !== 'udp')].map(
    (t) => `${t}://127.0.0.1:${ports[t as Transport]}`,
  );
  const tls = [`cert_file: ${cert.cert}`, `key_file: ${cert.key}`];
  if (opts.ticketKeyFile !== undefined) tls.push(`ticket_key_file: ${opts.ticketKeyFile}`);
  const cfg = join(dir, `sipha-${ports.udp}.yaml`);
  writeFileSync(
    cfg,
    `sip:\n  listen: [${listen.join(', ')}]\n  domain: bench.test\n  tls: { ${tls.join(', ')} }\nlog: { level: warn }\n`,
  );
  const tlsPorts = transports.filter((t) => t !== 'udp').map((t) => ports[t]);
  return spawnServer('sipha', process.execPath, [CLI, 'start', '--config', cfg], ports, tlsPorts);
}

export async function startKamailio(dir: string, ports: Ports, cert: CertFiles): Promise<Running> {
  const work = mkdtempSync(join(dir, 'kam-'));
  const tlsCfg = join(work, 'tls.cfg');
  writeFileSync(
    tlsCfg,
    readFileSync(join(SRC, 'tls.cfg'), 'utf8').replace('@CERT@', cert.cert).replace('@KEY@', cert.key),
  );
  return spawnServer(
    'kamailio',
    'kamailio',
    [
      '-DD',
      '-E',
      '-f',
      join(SRC, 'kamailio-tls.cfg'),
      '-A',
      `TLS_CFG="${tlsCfg}"`,
      '-A',
      `CHILDREN=${KAM_CHILDREN}`,
      '-l',
      `udp:127.0.0.1:${ports.udp}`,
      '-l',
      `tls:127.0.0.1:${ports.tls}`,
      '-l',
      `tls:127.0.0.1:${ports.wss}`,
      '-w',
      work,
      '-P',
      join(work, 'pid'),
      '-m',
      String(KAM_SHM_MB),
      '-M',
      '64',
    ],
    ports,
    [ports.tls, ports.wss],
  );
}

export async function spawnServer(
  name: string,
  cmd: string,
  args: string[],
  ports: Ports,
  tlsPorts: number[],
): Promise<Running> {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  children.add(child);
  let log = '';
  const keep = (d: Buffer) => {
    log = (log + d.toString()).slice(-8000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((r) => (child.exitCode !== null ? r() : child.once('exit', () => r())));
  const running: Running = {
    name,
    ports,
    pid: child.pid!,
    log: () => log,
    async stop() {
      killGroup(child, 'SIGTERM');
      const t = setTimeout(() => killGroup(child, 'SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
      children.delete(child);
    },
  };
  const deadline = Date.now() + 20_000;
  while (!(await answersOptions(ports.udp))) {
    if (Date.now() > deadline || child.exitCode !== null) {
      await running.stop();
      throw new Error(`${name} did not start:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  // UDP answering is not enough: Kamailio's TLS workers may come up later; a handshake on each TLS port must succeed.
  for (const port of tlsPorts) {
    while (!(await handshakes(port))) {
      if (Date.now() > deadline || child.exitCode !== null) {
        await running.stop();
        throw new Error(`${name} does not complete TLS handshakes on ${port}:\n${log}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return running;
}

function handshakes(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false, servername: 'bench.test' });
    const done = (ok: boolean) => {
      clearTimeout(t);
      s.destroy();
      resolve(ok);
    };
    const t = setTimeout(() => done(false), 1000);
    s.once('secureConnect', () => done(true));
    s.once('error', () => done(false));
  });
}

let nextPort = 27000 + (process.pid % 500) * 10;
/** Three fresh ports (udp, tls, wss) for one server start. */
export function freshPorts(): Ports {
  const p = { udp: nextPort, tls: nextPort + 1, wss: nextPort + 2 };
  nextPort += 3;
  return p;
}
