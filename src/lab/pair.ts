// Two sipha HA nodes in the lab (A and B, or in a cluster lab those of pair 2 or 3; with two NICs the HA link
// runs on both and the API on the management subnet), started as `sipha start --config FILE` inside their
// namespaces. Status and switchover go through the management API (see api.ts); the VIP holder is read in the
// hosts' namespaces. Used through the settled-pair fixture (fixture.ts) by the lab tests, the demo and the
// failover benchmark, and by the cluster lab (cluster-lab.ts) for each of its pairs.
import type { ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { familyOf, formatHostPort, type HostPort } from '../net/address.js';
import type { RunOutput } from '../vip/runner.js';
import { ApiRelay } from './api.js';
import { eventually } from './eventually.js';
import type { Lab } from './lab.js';
import { run } from './netns.js';
import type { HaStatus, SwitchoverReply, Timeline } from './status.js';
import { type LabVip, PAIR_HOSTS, type PairHost, type PairIndex, pairVip } from './topology.js';

export type { PairHost, PairIndex } from './topology.js';

/** A fixed lab key and token: the lab is a throwaway network of our own. */
export const KEY = 'f3a9c0d2e4b61788a9b0c1d2e3f40516273849aabbccddeeff00112233445566';
export const TOKEN = 'test-token-0123456789abcdef';
export const CLI = join(process.cwd(), 'dist', 'src', 'cli', 'main.js');
/** Pair 1's hosts, what every single-pair lab has; a Pair of another index has its own (`pair.hosts`). */
export type Host = 'a' | 'b';
export const HOSTS: readonly Host[] = PAIR_HOSTS[1];
export const other = (h: Host): Host => (h === 'a' ? 'b' : 'a');
/** A pair of any index (its hosts typed as any pair's). */
export type AnyPair = Pair<PairHost>;
/** The HA link's UDP port on every path; the replication stream is on the next port (TCP). */
export const HA_PORT = 7400;
export const REPLICATION_PORT = HA_PORT + 1;
export const API_PORT = 8080;
/** How long a status request may take: a stopped or dead node is "no status", not a hung poll. */
const STATUS_TIMEOUT_MS = 3000;
/** A switchover answers once the new primary serves. */
const SWITCHOVER_TIMEOUT_MS = 15_000;

export interface PairOptions {
  /** Overrides merged into each node's `ha` section. */
  ha?: Record<string, unknown>;
  /** Keys merged into each node's `sip` section (e.g. `workers`). */
  sip?: Record<string, unknown>;
  /** Extra top-level config sections (e.g. monitoring), merged into both nodes' configs. */
  extra?: Record<string, unknown>;
  logLevel?: string;
  /** Added to the nodes' environment (the chaos self-test's SIPHA_TEST_BREAK). */
  env?: Record<string, string>;
  /**
   * This pair's `cluster` section, written into both nodes' configs (after `extra`): the etcd endpoints, and
   * pair_id (default `p<index>`) and any other key of the section as overrides.
   */
  cluster?: PairClusterOptions;
}

export interface PairClusterOptions {
  etcd: readonly string[];
  pair_id?: string;
  [key: string]: unknown;
}

/** Which pair of a cluster lab: 1 (A and B, the default) to 3. */
export interface PairIndexOption {
  index?: PairIndex;
}

export interface SwitchoverAnswer {
  /** HTTP 200 and the reply says ok. */
  ok: boolean;
  body: SwitchoverReply;
}

/** H: the pair's hosts; pair 1 (the default) is typed with Host, as every single-pair caller expects. */
export class Pair<H extends PairHost = Host> {
  readonly procs: Partial<Record<H, ChildProcess>> = {};
  private readonly relays: Partial<Record<H, Promise<ApiRelay>>> = {};
  private constructor(
    readonly lab: Lab,
    readonly dir: string,
    /** 1 for A and B; 2 and 3 in a cluster lab. */
    readonly index: PairIndex,
    /** The two hosts, the higher priority first. */
    readonly hosts: readonly [H, H],
    /** This pair's VIP (pair 1: lab.topology.vip). */
    readonly vip: LabVip,
    private readonly env: Record<string, string> = {},
  ) {}

  static create(lab: Lab, options?: PairOptions & { index?: 1 }): Promise<Pair<Host>>;
  static create(lab: Lab, options: PairOptions & PairIndexOption): Promise<AnyPair>;
  static async create(lab: Lab, options: PairOptions & PairIndexOption = {}): Promise<AnyPair> {
    const index = options.index ?? 1;
    const hosts: readonly [PairHost, PairHost] = PAIR_HOSTS[index];
    // Before the folder: throws for a pair this lab does not have.
    const vip = pairVip(lab.topology, index);
    const dir = await mkdtemp(join(tmpdir(), `sipha-pair${index === 1 ? '' : index}-`));
    const pair = new Pair<PairHost>(lab, dir, index, hosts, vip, options.env);
    for (const h of hosts) {
      const hd = join(pair.dir, h);
      await mkdir(hd, { recursive: true });
      await secret(join(hd, 'ha.key'), KEY);
      await secret(join(hd, 'api.token'), TOKEN);
      const path = (addr: string) => formatHostPort({ host: addr, port: HA_PORT });
      const config = {
        node: { id: h, priority: h === hosts[0] ? 150 : 100, state_dir: join(hd, 'state') },
        sip: {
          listen: [`udp://${formatHostPort({ host: vip.ipv4, port: 5060 })}`],
          domain: 'example.test',
          // One SIP worker unless a test asks for more: the lab's figures and faults then mean the same on any host.
          workers: 1,
          ...options.sip,
        },
        vip: {
          address: vip.ipv4Cidr,
          interface: vip.ifname,
          label: `${vip.ifname}:1`,
          announce: { count: 3, interval_ms: 50, repeat_after_ms: 1000, refresh_s: 0 },
        },
        ha: {
          listen: pair.haAddresses(h).map(path),
          peer: pair.haAddresses(pair.other(h)).map(path),
          key_file: 'ha.key',
          heartbeat_ms: 50,
          dead_after_ms: 200,
          witnesses: [lab.nic('g').ipv4],
          witness_interval_ms: 200,
          ...options.ha,
        },
        management: { listen: formatHostPort(pair.apiAddress(h)), token_file: 'api.token' },
        log: { level: options.logLevel ?? 'info' },
        ...options.extra,
        ...(options.cluster === undefined
          ? {}
          : { cluster: { ...options.cluster, pair_id: options.cluster.pair_id ?? `p${index}` } }),
      };
      // The lab runs two nodes, SIPp and the test runner on the same few cores, so its bursts (2,000 registrations at
      // once) make a worker's loop late for reasons that are the test machine's, not the worker's. Its tests are
      // about HA; overload shedding has tests of its own. Unless a test sets it, shed only on a grossly late loop.
      const sip = config.sip as Record<string, unknown>;
      sip.overload ??= { max_loop_delay_ms: 500 };
      await writeFile(join(hd, 'sipha.yaml'), JSON.stringify(config, null, 2));
    }
    return pair;
  }

  /** The other host of this pair. */
  other(h: H): H {
    return h === this.hosts[0] ? this.hosts[1] : this.hosts[0];
  }

  config(h: H): string {
    return join(this.dir, h, 'sipha.yaml');
  }

  /** The addresses of host h's HA link paths, as in ha.listen: management then SIP with two NICs, else SIP. */
  haAddresses(h: H): string[] {
    const sip = this.lab.nic(h).ipv4;
    return this.lab.topology.twoNic ? [this.lab.nic(h, 'mgmt').ipv4, sip] : [sip];
  }

  /** Where host h's management API listens: the management subnet with two NICs, else the SIP address. */
  apiAddress(h: H): HostPort {
    const nic = this.lab.topology.twoNic ? this.lab.nic(h, 'mgmt') : this.lab.nic(h);
    return { host: nic.ipv4, port: API_PORT, family: familyOf(nic.ipv4) };
  }

  /** Starts `sipha start` on host h; its log goes to DIR/h/node.log. */
  start(h: H): ChildProcess {
    const log = createWriteStream(join(this.dir, h, 'node.log'), { flags: 'a' });
    const child = this.lab.spawn(h, [process.execPath, CLI, 'start', '--config', this.config(h)], {
      env: { ...process.env, ...this.env },
    });
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    this.procs[h] = child;
    return child;
  }

  /** The pid of host h's node (`ip netns exec` execs into it), while it runs. */
  pid(h: H): number | undefined {
    const p = this.procs[h];
    return p === undefined || !alive(p) ? undefined : p.pid;
  }

  /** The node of host h and its children (the SIP worker, and any VIP command running at that moment). */
  async processes(h: H): Promise<number[]> {
    const pid = this.pid(h);
    if (pid === undefined) return [];
    const out = await run(['pgrep', '-P', String(pid)], { allowFailure: true });
    return [
      pid,
      ...out.stdout
        .split(/\s+/)
        .filter((w) => w !== '')
        .map(Number),
    ];
  }

  /** Sends a signal to host h's node process. */
  signal(h: H, signal: NodeJS.Signals): void {
    this.procs[h]?.kill(signal);
  }

  /** Resolves once host h's node process has exited (at once when it is not running). */
  async exited(h: H): Promise<void> {
    const p = this.procs[h];
    if (p !== undefined && alive(p)) await new Promise((res) => p.once('exit', res));
  }

  /** Host h's status from its management API; undefined when it does not answer (down, stopped, starting). */
  async status(h: H, timeoutMs = STATUS_TIMEOUT_MS): Promise<HaStatus | undefined> {
    try {
      const { status, body } = await (await this.api(h)).call('GET', '/api/v1/status', timeoutMs);
      return status === 200 && typeof body === 'object' ? (body as HaStatus) : undefined;
    } catch {
      return undefined;
    }
  }

  /** GET path from host h's management API (registrations, calls…): the status code and the parsed body. */
  async get(h: H, path: string, timeoutMs = STATUS_TIMEOUT_MS): Promise<{ status: number; body: unknown }> {
    return (await this.api(h)).call('GET', path, timeoutMs);
  }

  /** A manual switchover through host h's management API (either node may be asked). */
  async switchover(h: H, force = false): Promise<SwitchoverAnswer> {
    const path = force ? '/api/v1/switchover?force=1' : '/api/v1/switchover';
    const { status, body } = await (await this.api(h)).call('POST', path, SWITCHOVER_TIMEOUT_MS);
    if (typeof body !== 'object' || body === null)
      throw new Error(`switchover on ${h}: HTTP ${status} ${body}`);
    const reply = body as SwitchoverReply;
    return { ok: status === 200 && reply.ok, body: reply };
  }

  /** `sipha vip release` on host h: what systemd's ExecStopPost does once the node is gone. */
  releaseVip(h: H): Promise<RunOutput> {
    return this.lab.exec(h, [process.execPath, CLI, 'vip', 'release', '--config', this.config(h)], {
      allowFailure: true,
    });
  }

  /** Whether host h has the VIP on its SIP NIC, read from its namespace. */
  holds(h: H): Promise<boolean> {
    return holdsVip(this.lab, h, this.vip);
  }

  holders(): Promise<H[]> {
    return vipHolders(this.lab, this.hosts, this.vip);
  }

  waitRole(h: H, role: string, timeoutMs = 10_000, stepMs = 50): Promise<boolean> {
    return eventually(async () => (await this.status(h))?.role === role, timeoutMs, stepMs);
  }

  /**
   * The first promotion of h recorded since `since` (epoch ms), read once its VIP is up (waiting up to timeoutMs
   * for that; a node reports its new role before it has added the VIP). As last seen, or undefined when none.
   */
  async promotion(h: H, since: number, timeoutMs = 2000): Promise<Timeline | undefined> {
    let found: Timeline | undefined;
    await eventually(
      async () => {
        found = (await this.status(h))?.timelines.find((t) => t.kind === 'promote' && t.detectedAt >= since);
        return found?.vipAddedAt != null;
      },
      timeoutMs,
      20,
    );
    return found;
  }

  /** Stops both nodes (SIGTERM, then SIGKILL after 5 s) and the API relays. */
  async stop(): Promise<void> {
    await Promise.all(this.hosts.map((h) => this.stopNode(h)));
    const relays = Object.values(this.relays) as Promise<ApiRelay>[];
    await Promise.all(relays.map(async (r) => (await r.catch(() => undefined))?.close()));
  }

  async cleanup(keepLogs: boolean): Promise<void> {
    if (!keepLogs) await rm(this.dir, { recursive: true, force: true });
  }

  private async stopNode(h: H): Promise<void> {
    const p = this.procs[h];
    if (p === undefined || !alive(p)) return;
    // A stopped node (and its worker) must be continued to act on SIGTERM.
    for (const pid of await this.processes(h)) signalPid(pid, 'SIGCONT');
    p.kill('SIGTERM');
    const timer = setTimeout(() => p.kill('SIGKILL'), 5000);
    await this.exited(h);
    clearTimeout(timer);
  }

  private api(h: H): Promise<ApiRelay> {
    let relay = this.relays[h];
    if (relay === undefined) {
      relay = ApiRelay.start(this.lab, h, this.apiAddress(h), TOKEN, this.dir);
      // A relay that failed to start is tried again at the next request.
      relay.catch(() => {
        if (this.relays[h] === relay) delete this.relays[h];
      });
      this.relays[h] = relay;
    }
    return relay;
  }
}

/** Whether lab host h has the VIP (default pair 1's) on its SIP NIC (`ip addr` in its namespace). */
export async function holdsVip(lab: Lab, h: PairHost, vip: LabVip = lab.topology.vip): Promise<boolean> {
  const { ipv4, ifname } = vip;
  const out = await run(['ip', '-n', lab.netns(h), '-o', '-4', 'addr', 'show', 'dev', ifname]);
  return out.stdout.includes(` ${ipv4}/`);
}

/** The hosts of the pair (default pair 1, A and B) that hold its VIP, in order. */
export function vipHolders(lab: Lab): Promise<Host[]>;
export function vipHolders<H extends PairHost>(lab: Lab, hosts: readonly H[], vip: LabVip): Promise<H[]>;
export async function vipHolders(
  lab: Lab,
  hosts: readonly PairHost[] = HOSTS,
  vip: LabVip = lab.topology.vip,
): Promise<PairHost[]> {
  const held = await Promise.all(hosts.map((h) => holdsVip(lab, h, vip)));
  return hosts.filter((_, i) => held[i]);
}

/** Sends a signal to a pid, ignoring one that is gone. */
export function signalPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

function alive(p: ChildProcess): boolean {
  return p.exitCode === null && p.signalCode === null;
}

async function secret(file: string, text: string): Promise<void> {
  await writeFile(file, `${text}\n`);
  await chmod(file, 0o600);
}
