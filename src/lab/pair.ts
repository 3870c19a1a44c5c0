// Two sipha HA nodes in the lab (A and B; with two NICs the HA link runs on both and the API on the management
// subnet), started as `sipha start --config FILE` inside their namespaces. Used by the end-to-end tests, the demo
// and the failover benchmark.
import type { ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HaStatus, SwitchoverReply } from '../ha/status.js';
import { eventually } from './eventually.js';
import type { Lab } from './lab.js';

/** A fixed lab key and token: the lab is a throwaway network of our own. */
export const KEY = 'f3a9c0d2e4b61788a9b0c1d2e3f40516273849aabbccddeeff00112233445566';
export const TOKEN = 'test-token-0123456789abcdef';
export const CLI = join(process.cwd(), 'dist', 'src', 'cli', 'main.js');
export type Host = 'a' | 'b';

export interface PairOptions {
  /** Overrides merged into each node's `ha` section. */
  ha?: Record<string, unknown>;
  /** Extra top-level config sections (e.g. monitoring), merged into both nodes' configs. */
  extra?: Record<string, unknown>;
  logLevel?: string;
}

export class Pair {
  readonly procs: Partial<Record<Host, ChildProcess>> = {};
  private constructor(
    readonly lab: Lab,
    readonly dir: string,
  ) {}

  static async create(lab: Lab, options: PairOptions = {}): Promise<Pair> {
    const dir = await mkdtemp(join(tmpdir(), 'sipha-pair-'));
    const pair = new Pair(lab, dir);
    const twoNic = lab.topology.twoNic;
    for (const h of ['a', 'b'] as const) {
      const other = h === 'a' ? 'b' : 'a';
      const hd = join(dir, h);
      await mkdir(hd, { recursive: true });
      await writeFile(join(hd, 'ha.key'), `${KEY}\n`);
      await chmod(join(hd, 'ha.key'), 0o600);
      await writeFile(join(hd, 'api.token'), `${TOKEN}\n`);
      await chmod(join(hd, 'api.token'), 0o600);
      const mgmt = (x: Host) => (twoNic ? lab.nic(x, 'mgmt').ipv4 : lab.nic(x).ipv4);
      const listen = twoNic ? [`${mgmt(h)}:7400`, `${lab.nic(h).ipv4}:7400`] : [`${lab.nic(h).ipv4}:7400`];
      const peer = twoNic
        ? [`${mgmt(other)}:7400`, `${lab.nic(other).ipv4}:7400`]
        : [`${lab.nic(other).ipv4}:7400`];
      const config = {
        node: { id: h, priority: h === 'a' ? 150 : 100, state_dir: join(hd, 'state') },
        sip: { listen: [`udp://${lab.topology.vip.ipv4}:5060`], domain: 'example.test' },
        vip: {
          address: lab.topology.vip.ipv4Cidr,
          interface: 'eth0',
          label: 'eth0:1',
          announce: { count: 3, interval_ms: 50, repeat_after_ms: 1000, refresh_s: 0 },
        },
        ha: {
          listen,
          peer,
          key_file: 'ha.key',
          heartbeat_ms: 50,
          dead_after_ms: 200,
          witnesses: [lab.nic('g').ipv4],
          witness_interval_ms: 200,
          ...options.ha,
        },
        management: { listen: `${mgmt(h)}:8080`, token_file: 'api.token' },
        log: { level: options.logLevel ?? 'info' },
        ...options.extra,
      };
      await writeFile(join(hd, 'sipha.yaml'), JSON.stringify(config, null, 2));
    }
    return pair;
  }

  config(h: Host): string {
    return join(this.dir, h, 'sipha.yaml');
  }

  /** Starts `sipha start` on host h; its log goes to DIR/h/node.log. */
  start(h: Host): ChildProcess {
    const log = createWriteStream(join(this.dir, h, 'node.log'), { flags: 'a' });
    const child = this.lab.spawn(h, [process.execPath, CLI, 'start', '--config', this.config(h)]);
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    this.procs[h] = child;
    return child;
  }

  /** Sends a signal to host h's node process (SIGKILL: a crash; SIGSTOP/SIGCONT: a frozen host). */
  signal(h: Host, signal: NodeJS.Signals): void {
    this.procs[h]?.kill(signal);
  }

  /** The node's status through `sipha status --json`, run inside the host (the API is on its own address). */
  async status(h: Host): Promise<HaStatus | undefined> {
    const out = await this.lab.exec(
      h,
      [process.execPath, CLI, 'status', '--json', '--config', this.config(h)],
      {
        allowFailure: true,
      },
    );
    if (out.exitCode !== 0) return undefined;
    try {
      return JSON.parse(out.stdout) as HaStatus;
    } catch {
      return undefined;
    }
  }

  /** `sipha switchover --json` on host h. */
  async switchover(h: Host, force = false): Promise<{ exitCode: number | null; body: SwitchoverReply }> {
    const argv = [
      process.execPath,
      CLI,
      'switchover',
      '--json',
      '--config',
      this.config(h),
      ...(force ? ['--force'] : []),
    ];
    const out = await this.lab.exec(h, argv, { allowFailure: true });
    return { exitCode: out.exitCode, body: JSON.parse(out.stdout) as SwitchoverReply };
  }

  /** Whether host h has the VIP on its SIP NIC, read from its namespace. */
  async holds(h: Host): Promise<boolean> {
    const out = await this.lab.exec(h, ['ip', '-o', '-4', 'addr', 'show', 'dev', 'eth0']);
    return out.stdout.includes(` ${this.lab.topology.vip.ipv4}/`);
  }

  async holders(): Promise<Host[]> {
    const r: Host[] = [];
    for (const h of ['a', 'b'] as const) if (await this.holds(h)) r.push(h);
    return r;
  }

  async waitRole(h: Host, role: string, timeoutMs = 10_000): Promise<boolean> {
    return eventually(async () => (await this.status(h))?.role === role, timeoutMs, 25);
  }

  async stop(): Promise<void> {
    for (const p of Object.values(this.procs)) {
      if (p.exitCode === null && p.signalCode === null) {
        // A stopped node must be continued to act on SIGTERM.
        p.kill('SIGCONT');
        p.kill('SIGTERM');
      }
    }
    await Promise.all(
      Object.values(this.procs).map(
        (p) =>
          new Promise<void>((res) => {
            if (p.exitCode !== null || p.signalCode !== null) return res();
            const t = setTimeout(() => {
              p.kill('SIGKILL');
              res();
            }, 5000);
            p.once('exit', () => {
              clearTimeout(t);
              res();
            });
          }),
      ),
    );
  }

  async cleanup(keepLogs: boolean): Promise<void> {
    if (!keepLogs) await rm(this.dir, { recursive: true, force: true });
  }
}
