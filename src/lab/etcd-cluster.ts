// A real etcd cluster (Debian's etcd-server 3.4) for the cluster-mode tests, the lab and the benchmark: one
// `etcd` process per member, on loopback ports or each in its own lab namespace (`wrap`), with its own data
// folder, started and stopped here. Fast Raft timers (heartbeat 50 ms, election 500 ms) so that etcd's smallest
// lease TTL is 1 s (etcd: minTTL = 1.5 × election timeout, rounded up to a second) and losing a member settles
// quickly; pre-vote on, so that such short timers on a busy machine do not make a rejoining member disruptive.
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatHostPort } from '../net/address.js';
import { freePort } from './free-port.js';

export interface EtcdMemberSpec {
  name: string;
  /** The member's address (its client and peer URLs listen there). */
  host: string;
  clientPort: number;
  peerPort: number;
  /** Runs the member elsewhere, e.g. ['ip', 'netns', 'exec', NS]. */
  wrap?: readonly string[];
}

export interface EtcdClusterOptions {
  members: readonly EtcdMemberSpec[];
  /** The etcd binary (default: `etcd` on the PATH). */
  binary?: string;
  /** Raft heartbeat and election timeout in ms (default 50 and 500). */
  heartbeatMs?: number;
  electionMs?: number;
}

const url = (host: string, port: number) => `http://${formatHostPort({ host, port })}`;

export class EtcdCluster {
  private readonly procs = new Map<string, ChildProcess>();
  private readonly exits = new Map<string, Promise<void>>();

  private constructor(
    readonly dir: string,
    private readonly opts: EtcdClusterOptions,
  ) {}

  /** Starts every member and waits until the cluster has a leader and answers on every member. */
  static async start(opts: EtcdClusterOptions, readyTimeoutMs = 20_000): Promise<EtcdCluster> {
    const cluster = new EtcdCluster(await mkdtemp(join(tmpdir(), 'sipha-etcd-')), opts);
    try {
      for (const m of opts.members) cluster.startMember(m.name, 'new');
      await cluster.waitHealthy(opts.members.length, readyTimeoutMs);
    } catch (err) {
      await cluster.destroy();
      throw err;
    }
    return cluster;
  }

  /** Client URLs of every member (what `cluster.etcd` lists). */
  endpoints(): string[] {
    return this.opts.members.map((m) => url(m.host, m.clientPort));
  }

  member(name: string): EtcdMemberSpec {
    const m = this.opts.members.find((x) => x.name === name);
    if (m === undefined) throw new Error(`no etcd member ${name}`);
    return m;
  }

  running(name: string): boolean {
    return this.procs.has(name);
  }

  /**
   * Starts a member: `new` on the first start, `existing` to bring a stopped member back on its data folder
   * (etcd then ignores the initial-cluster flags and rejoins).
   */
  startMember(name: string, state: 'new' | 'existing' = 'existing'): void {
    if (this.procs.has(name)) return;
    const m = this.member(name);
    const initial = this.opts.members.map((x) => `${x.name}=${url(x.host, x.peerPort)}`).join(',');
    const argv = [
      ...(m.wrap ?? []),
      this.opts.binary ?? 'etcd',
      `--name=${m.name}`,
      `--data-dir=${join(this.dir, m.name)}`,
      `--listen-client-urls=${url(m.host, m.clientPort)}`,
      `--advertise-client-urls=${url(m.host, m.clientPort)}`,
      `--listen-peer-urls=${url(m.host, m.peerPort)}`,
      `--initial-advertise-peer-urls=${url(m.host, m.peerPort)}`,
      `--initial-cluster=${initial}`,
      `--initial-cluster-state=${state}`,
      '--initial-cluster-token=sipha-test',
      `--heartbeat-interval=${this.opts.heartbeatMs ?? 50}`,
      `--election-timeout=${this.opts.electionMs ?? 500}`,
      // A member restarted with a stale log, or one that missed heartbeats on a loaded machine, would otherwise
      // start elections at higher terms and depose a working leader again and again (etcd 3.5's default).
      '--pre-vote=true',
      '--logger=zap',
      '--log-outputs=stderr',
      '--enable-v2=false',
    ];
    const child = spawn(argv[0] as string, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    const log = createWriteStream(join(this.dir, `${m.name}.log`), { flags: 'a' });
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    this.procs.set(name, child);
    this.exits.set(
      name,
      new Promise((resolve) =>
        child.once('exit', () => {
          if (this.procs.get(name) === child) this.procs.delete(name);
          resolve();
        }),
      ),
    );
  }

  /** Stops a member: SIGTERM (a clean stop) or SIGKILL (a crash); resolves when it has exited. */
  async stopMember(name: string, signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
    const child = this.procs.get(name);
    if (child === undefined) return;
    const exited = this.exits.get(name);
    // `ip netns exec` execs into etcd, so the pid is etcd's own.
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }

  /** Waits until at least `n` members answer /health with health true (a leader exists). */
  async waitHealthy(n: number, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let healthy = 0;
    while (Date.now() < deadline) {
      healthy = (await Promise.all(this.opts.members.map((m) => this.healthOf(m)))).filter((x) => x).length;
      if (healthy >= n) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`etcd: ${healthy} of ${n} members healthy after ${timeoutMs} ms (logs in ${this.dir})`);
  }

  /**
   * One member's /health. From the runner's namespace: with `wrap` (lab namespaces) the member is reached through
   * the lab's routing, or not at all — then ask with `curl` inside its namespace.
   */
  async healthOf(m: EtcdMemberSpec): Promise<boolean> {
    if (!this.procs.has(m.name)) return false;
    const target = `${url(m.host, m.clientPort)}/health`;
    if (m.wrap !== undefined && m.wrap.length > 0) return curlHealth(m.wrap, target);
    try {
      const res = await fetch(target, { signal: AbortSignal.timeout(1000) });
      const body = (await res.json()) as { health?: string };
      return body.health === 'true';
    } catch {
      return false;
    }
  }

  /** Stops every member and removes the data folders. */
  async destroy(): Promise<void> {
    await Promise.all([...this.procs.keys()].map((n) => this.stopMember(n, 'SIGKILL')));
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** Node's fetch in the member's namespace: a one-line script run with this same Node binary. */
function curlHealth(wrap: readonly string[], target: string): Promise<boolean> {
  const script = `fetch(${JSON.stringify(target)},{signal:AbortSignal.timeout(2000)}).then(r=>r.json()).then(b=>process.exit(b.health==='true'?0:1),()=>process.exit(1))`;
  return new Promise((resolve) => {
    const child = spawn(wrap[0] as string, [...wrap.slice(1), process.execPath, '-e', script], {
      stdio: 'ignore',
    });
    child.once('exit', (code) => resolve(code === 0));
    child.once('error', () => resolve(false));
  });
}

/** `members` etcd processes on 127.0.0.1 (free ports), started and healthy: the tests' and benchmarks' etcd. */
export async function startLoopbackEtcd(members = 1): Promise<EtcdCluster> {
  const specs: EtcdMemberSpec[] = [];
  for (let i = 1; i <= members; i++)
    specs.push({
      name: `m${i}`,
      host: '127.0.0.1',
      clientPort: await freePort(),
      peerPort: await freePort(),
    });
  return EtcdCluster.start({ members: specs });
}
