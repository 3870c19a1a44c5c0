// The network-namespace lab: the guide's two-host topology on one Linux box, for tests, demo and benchmarks.
// Needs root. Everything lives inside namespaces named after a unique run prefix (the bridges too, in a
// switch namespace), so deleting the namespaces removes every interface; nothing is added to the host's own.
import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { access, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RunOutput } from '../vip/runner.js';
import { destroyNamespaces, type ExecOptions, listNamespaces, nsWrap, run } from './netns.js';
import { register } from './registry.js';
import {
  LAN_GATEWAY,
  type LabHostInfo,
  type LabHostName,
  type LabNic,
  type LabNicInfo,
  type LabOptions,
  type LabTopology,
  labHosts,
  namespacesOf,
  PAIR_HOSTS,
  parseLabNetns,
  planTopology,
} from './topology.js';

const PAIR_HOST_SET: ReadonlySet<LabHostName> = new Set(Object.values(PAIR_HOSTS).flat());

/** Where `sipha lab up` keeps the topology of labs that outlive the process. */
export const LAB_STATE_DIR = '/run/sipha-lab';

export interface NeighbourEntry {
  ip: string;
  dev: string;
  lladdr: string | undefined;
  /** NUD states and flags as `ip neigh` prints them, e.g. ['REACHABLE'] or ['STALE']. */
  states: string[];
}

export interface CreateLabOptions extends LabOptions {
  /** Keep the lab after this process exits (for `sipha lab up`); the prefix is then sipha-up-<hex>. */
  persistent?: boolean;
}

export class Lab {
  private readonly children = new Set<ChildProcess>();
  private unregister: (() => void) | undefined;
  private destroyed = false;

  private constructor(readonly topology: LabTopology) {}

  /** Builds a fresh lab after removing leftovers of dead runs. Rejects (having cleaned up) on any failure. */
  static async create(opts: CreateLabOptions = {}): Promise<Lab> {
    await Lab.cleanupStale();
    const owner = opts.persistent === true ? 'up' : String(process.pid);
    const lab = new Lab(planTopology(`sipha-${owner}-${randomBytes(3).toString('hex')}`, opts));
    if (opts.persistent === true) {
      // The state file first: from now on no other run's cleanupStale() takes this lab for a leftover.
      await mkdir(LAB_STATE_DIR, { recursive: true });
      await writeFile(labStateFile(lab.prefix), `${JSON.stringify(lab.topology, null, 2)}\n`);
    } else {
      lab.unregister = register(namespacesOf(lab.topology), lab.children);
    }
    try {
      await lab.build();
    } catch (err) {
      await lab.destroy();
      throw err;
    }
    return lab;
  }

  /** A handle on a lab built earlier (by `sipha lab up`), for running commands in it or destroying it. */
  static attach(topology: LabTopology): Lab {
    return new Lab(topology);
  }

  /** The labs kept by `sipha lab up` (those with a state file). */
  static async kept(): Promise<Lab[]> {
    const labs: Lab[] = [];
    for (const prefix of await keptPrefixes()) {
      const text = await readFile(labStateFile(prefix), 'utf8');
      labs.push(Lab.attach(JSON.parse(text) as LabTopology));
    }
    return labs;
  }

  /** Removes the namespaces of lab runs whose process is gone (and kept labs without a state file). */
  static async cleanupStale(): Promise<string[]> {
    const names = await listNamespaces();
    const kept = new Set(await keptPrefixes());
    const stale = names.filter((name) => {
      const parsed = parseLabNetns(name);
      if (parsed === undefined) return false;
      return parsed.owner === 'up' ? !kept.has(parsed.prefix) : !processAlive(parsed.owner);
    });
    // Switch namespaces last is not needed here: deleting any end of a veth removes both ends.
    await destroyNamespaces(stale);
    return stale;
  }

  get prefix(): string {
    return this.topology.prefix;
  }

  get hosts(): Record<LabHostName, LabHostInfo> {
    return this.topology.hosts;
  }

  netns(host: LabHostName): string {
    return this.topology.hosts[host].netns;
  }

  /** argv prefix that runs a command inside a host: ['ip', 'netns', 'exec', NS]. */
  wrap(host: LabHostName): string[] {
    return nsWrap(this.netns(host));
  }

  nic(host: LabHostName, nic: LabNic = 'sip'): LabNicInfo {
    const info = this.topology.hosts[host][nic];
    if (info === undefined) throw new Error(`host ${host} has no ${nic} NIC in this lab`);
    return info;
  }

  mac(host: LabHostName, nic: LabNic = 'sip'): string {
    return this.nic(host, nic).mac;
  }

  /** Runs argv inside a host and waits; throws LabCommandError on a non-zero exit unless allowFailure. */
  exec(host: LabHostName, argv: readonly string[], opts: ExecOptions = {}): Promise<RunOutput> {
    return run([...this.wrap(host), ...argv], opts);
  }

  /** Starts a long-running process inside a host; it is killed at destroy() or when this process exits. */
  spawn(host: LabHostName, argv: readonly string[], opts: SpawnOptions = {}): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', this.netns(host), ...argv], { stdio: 'pipe', ...opts });
    this.children.add(child);
    child.on('exit', () => this.children.delete(child));
    return child;
  }

  /** Cuts the cable of a host's NIC at the switch: the host sees its carrier go down, as with a pulled cable. */
  linkDown(host: LabHostName, nic: LabNic = 'sip'): Promise<void> {
    return this.setPort(host, nic, 'down');
  }

  linkUp(host: LabHostName, nic: LabNic = 'sip'): Promise<void> {
    return this.setPort(host, nic, 'up');
  }

  /** The neighbour (ARP or NDP) entry for ip in a host's SIP NIC, or undefined when there is none. */
  async neighbour(host: LabHostName, ip: string, nic: LabNic = 'sip'): Promise<NeighbourEntry | undefined> {
    const dev = this.nic(host, nic).ifname;
    const out = await run(['ip', '-n', this.netns(host), 'neigh', 'show', 'to', ip, 'dev', dev]);
    return parseNeighbour(out.stdout, ip, dev);
  }

  /** Kills the lab's processes and deletes its namespaces; safe to call twice. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    await Promise.all([...this.children].map((c) => stopChild(c)));
    await destroyNamespaces(namespacesOf(this.topology));
    await rm(labStateFile(this.prefix), { force: true });
    this.unregister?.();
    this.unregister = undefined;
  }

  private async setPort(host: LabHostName, nic: LabNic, state: 'up' | 'down'): Promise<void> {
    await run(['ip', '-n', this.topology.switchNetns, 'link', 'set', this.nic(host, nic).switchPort, state]);
  }

  private async build(): Promise<void> {
    const t = this.topology;
    for (const ns of namespacesOf(t)) await run(['ip', 'netns', 'add', ns]);
    const sw = t.switchNetns;
    // The switch is layer 2 only: no IPv6 of its own, no multicast snooping between the hosts.
    await sysctl(sw, { 'net.ipv6.conf.all.disable_ipv6': 1, 'net.ipv6.conf.default.disable_ipv6': 1 });
    const bridges = ['br-sip', ...(t.twoNic ? ['br-mgmt'] : []), ...(t.nat ? ['br-lan'] : [])];
    for (const br of bridges) {
      await run(['ip', '-n', sw, 'link', 'add', br, 'type', 'bridge', 'mcast_snooping', '0']);
      await run(['ip', '-n', sw, 'link', 'set', br, 'up']);
    }
    for (const name of labHosts(t)) {
      const h = t.hosts[name];
      // Before the interfaces exist, so that they inherit "default": no DAD in the lab.
      const conf: Record<string, number> = {
        'net.ipv6.conf.all.accept_dad': 0,
        'net.ipv6.conf.default.accept_dad': 0,
        'net.ipv6.conf.default.accept_ra': 0,
      };
      // The pair binds its SIP sockets to the VIP before holding it (hot backup).
      if (PAIR_HOST_SET.has(name)) {
        conf['net.ipv4.ip_nonlocal_bind'] = 1;
        conf['net.ipv6.ip_nonlocal_bind'] = 1;
      }
      await sysctl(h.netns, conf);
      await run(['ip', '-n', h.netns, 'link', 'set', 'lo', 'up']);
      for (const nic of [h.sip, h.mgmt, h.lan]) if (nic !== undefined) await this.cable(h, nic);
    }
    if (t.nat) await this.natRouter();
    if (t.longLivedClientCache) {
      // C keeps what it learnt for an hour: only an announcement can change an entry during a test.
      const c = t.hosts.c;
      const dev = c.sip.ifname;
      await sysctl(c.netns, {
        [`net.ipv4.neigh.${dev}.base_reachable_time_ms`]: 3_600_000,
        [`net.ipv4.neigh.${dev}.gc_stale_time`]: 3600,
        [`net.ipv6.neigh.${dev}.base_reachable_time_ms`]: 3_600_000,
        [`net.ipv6.neigh.${dev}.gc_stale_time`]: 3600,
      });
    }
  }

  /**
   * N routes its LAN to the SIP subnet and masquerades it behind its own address (a home router: the phone's
   * private address and port become N's address and a port N chooses); P's default route is N.
   */
  private async natRouter(): Promise<void> {
    const n = this.topology.hosts.n;
    const p = this.topology.hosts.p;
    await sysctl(n.netns, { 'net.ipv4.ip_forward': 1 });
    await run(['ip', '-n', p.netns, 'route', 'add', 'default', 'via', LAN_GATEWAY]);
    const nft = [...nsWrap(n.netns), 'nft'];
    await run([...nft, 'add', 'table', 'ip', 'nat']);
    await run([...nft, 'add chain ip nat post { type nat hook postrouting priority 100 ; }']);
    await run([...nft, 'add', 'rule', 'ip', 'nat', 'post', 'oifname', n.sip.ifname, 'masquerade']);
  }

  private async cable(h: LabHostInfo, nic: LabNicInfo): Promise<void> {
    const sw = this.topology.switchNetns;
    await run(
      ['ip', '-n', sw, 'link', 'add', nic.switchPort, 'type', 'veth', 'peer', 'name', nic.ifname].concat([
        'netns',
        h.netns,
      ]),
    );
    await run(['ip', '-n', sw, 'link', 'set', nic.switchPort, 'master', nic.bridge, 'up']);
    await run(['ip', '-n', h.netns, 'link', 'set', nic.ifname, 'address', nic.mac]);
    await run(['ip', '-n', h.netns, 'addr', 'add', `${nic.ipv4}/${nic.ipv4Prefix}`, 'dev', nic.ifname]);
    if (nic.ipv6 !== undefined) {
      await run([
        'ip',
        '-n',
        h.netns,
        '-6',
        'addr',
        'add',
        `${nic.ipv6}/${nic.ipv6Prefix}`,
        'dev',
        nic.ifname,
        'nodad',
      ]);
    }
    await run(['ip', '-n', h.netns, 'link', 'set', nic.ifname, 'up']);
  }
}

async function sysctl(netns: string, values: Record<string, number>): Promise<void> {
  const args = Object.entries(values).map(([k, v]) => `${k}=${v}`);
  await run([...nsWrap(netns), 'sysctl', '-q', '-w', ...args]);
}

/** Reads `ip neigh show to IP dev DEV`: "198.51.100.10 lladdr 02:51:00:00:01:00 REACHABLE". */
export function parseNeighbour(stdout: string, ip: string, dev: string): NeighbourEntry | undefined {
  const line = stdout.split('\n').find((l) => l.trim() !== '');
  if (line === undefined) return undefined;
  const words = line.trim().split(/\s+/);
  const at = words.indexOf('lladdr');
  const lladdr = at >= 0 ? words[at + 1] : undefined;
  const states = words.filter((w) => /^[A-Z_]+$/.test(w));
  return { ip, dev, lladdr: lladdr?.toLowerCase(), states };
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function keptPrefixes(): Promise<string[]> {
  try {
    await access(LAB_STATE_DIR);
  } catch {
    return [];
  }
  const files = await readdir(LAB_STATE_DIR);
  return files.filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -'.json'.length));
}

export function labStateFile(prefix: string): string {
  return join(LAB_STATE_DIR, `${prefix}.json`);
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 1000);
  await exited;
  clearTimeout(timer);
}
