// The cluster lab: a lab with N pairs (A/B, A2/B2, A3/B3, each with its own VIP) and an etcd cluster, one member
// in each of E1..E3 (on the management subnet with two NICs, else the SIP one), for the cluster-mode tests. The
// pairs are created (configs written) but not started: the test decides, and gives each pair its `cluster`
// section through `pair`. close() stops etcd, then the pairs, then removes the namespaces, whatever failed.
import { errorMessage } from '../net/errors.js';
import type { RunOutput } from '../vip/runner.js';
import { EtcdCluster } from './etcd-cluster.js';
import { Lab } from './lab.js';
import type { AnyPair, PairOptions } from './pair.js';
import { Pair } from './pair.js';
import { type Settled, settle } from './settle.js';
import {
  type EtcdHostName,
  etcdHosts,
  type LabHostName,
  type LabOptions,
  labPairs,
  type PairHost,
  type PairIndex,
} from './topology.js';

export const ETCD_CLIENT_PORT = 2379;
export const ETCD_PEER_PORT = 2380;

export interface ClusterLabOptions {
  /** The lab besides its cluster hosts (default: two NICs, IPv4 only, as the pair fixture). */
  lab?: Omit<LabOptions, 'cluster'>;
  /** Pairs, 1-3 (default 2). */
  pairs?: number;
  /** etcd members, 1-3 (default 3). */
  etcd?: number;
  /**
   * Each pair's options, given the etcd endpoints: e.g. `(i, etcd) => ({ cluster: { etcd } })` for cluster mode
   * (pair_id defaults to p<i>). Default: plain HA pairs.
   */
  pair?: (index: PairIndex, etcd: readonly string[]) => PairOptions;
  /** How long etcd may take to elect a leader and answer on every member. */
  etcdReadyTimeoutMs?: number;
  /** Where close() says where the logs are kept (default: stderr). */
  say?: (line: string) => void;
}

/** Starts the lab's etcd members (E1..En), each in its own namespace, and waits for a healthy cluster. */
export function startLabEtcd(lab: Lab, readyTimeoutMs?: number): Promise<EtcdCluster> {
  const members = etcdHosts(lab.topology).map((name) => ({
    name,
    host: etcdAddressIn(lab, name),
    clientPort: ETCD_CLIENT_PORT,
    peerPort: ETCD_PEER_PORT,
    wrap: lab.wrap(name),
  }));
  return EtcdCluster.start({ members }, readyTimeoutMs);
}

/** Where a member listens: its management address with two NICs (etcd is control traffic), else its SIP one. */
function etcdAddressIn(lab: Lab, name: EtcdHostName): string {
  return lab.topology.twoNic ? lab.nic(name, 'mgmt').ipv4 : lab.nic(name).ipv4;
}

export class ClusterLab {
  /** Set by fail(): the node and etcd logs are kept at close(). */
  failed = false;
  private closed = false;
  private etcdCluster: EtcdCluster | undefined;
  readonly pairs: AnyPair[] = [];

  private constructor(
    readonly lab: Lab,
    private readonly say: (line: string) => void,
  ) {}

  /** Builds the lab, starts etcd (healthy on every member) and creates the pairs; cleans up on failure. */
  static async open(o: ClusterLabOptions = {}): Promise<ClusterLab> {
    const say = o.say ?? ((line: string) => process.stderr.write(`${line}\n`));
    const lab = await Lab.create({
      twoNic: true,
      ipv6: false,
      ...o.lab,
      cluster: { pairs: o.pairs ?? 2, etcd: o.etcd ?? 3 },
    });
    const cl = new ClusterLab(lab, say);
    try {
      cl.etcdCluster = await startLabEtcd(lab, o.etcdReadyTimeoutMs);
      const endpoints = cl.etcdCluster.endpoints();
      for (const index of labPairs(lab.topology))
        cl.pairs.push(await Pair.create(lab, { ...o.pair?.(index, endpoints), index }));
      return cl;
    } catch (err) {
      cl.fail();
      await cl.close();
      throw err;
    }
  }

  get etcd(): EtcdCluster {
    if (this.etcdCluster === undefined) throw new Error('etcd is not started');
    return this.etcdCluster;
  }

  /** The etcd client URLs (what a pair's `cluster.etcd` lists). */
  endpoints(): string[] {
    return this.etcd.endpoints();
  }

  /** The etcd hosts of this lab (E1..En, also the members' names). */
  etcdHosts(): EtcdHostName[] {
    return etcdHosts(this.lab.topology);
  }

  /** Where a member listens: its management address with two NICs (etcd is control traffic), else its SIP one. */
  etcdAddress(name: EtcdHostName): string {
    return etcdAddressIn(this.lab, name);
  }

  /** Pair i (1-based, as its index). */
  pair(index: PairIndex): AnyPair {
    const p = this.pairs[index - 1];
    if (p === undefined) throw new Error(`this cluster lab has no pair ${index}`);
    return p;
  }

  /**
   * `etcdctl` (v3 API) inside a lab host against every member, bounded: connecting may take 1 s, the command 2 s,
   * the whole run 10 s. Never throws on failure: the exit code says.
   */
  etcdctl(host: LabHostName, args: readonly string[], endpoints = this.endpoints()): Promise<RunOutput> {
    return this.lab.exec(
      host,
      ['etcdctl', `--endpoints=${endpoints.join(',')}`, '--dial-timeout=1s', '--command-timeout=2s', ...args],
      { allowFailure: true, timeoutMs: 10_000, env: { ETCDCTL_API: '3' } },
    );
  }

  /** Starts both nodes of every pair. */
  startPairs(): void {
    for (const p of this.pairs) for (const h of p.hosts) p.start(h);
  }

  /**
   * Starts the pairs one after the other, each settled (with its first host primary unless anyPrimary) before the
   * next starts: four nodes warming up at once on a small machine make each late enough to count itself faulty.
   * Resolves with what each settle saw; a pair may have moved since (settleAll says where they all are now).
   */
  async startSettled(o: { timeoutMs?: number; anyPrimary?: boolean } = {}): Promise<Settled<PairHost>[]> {
    const settled: Settled<PairHost>[] = [];
    for (const p of this.pairs) {
      for (const h of p.hosts) p.start(h);
      const primary = o.anyPrimary === true ? undefined : p.hosts[0];
      settled.push(await settle(p, { primary, timeoutMs: o.timeoutMs }));
    }
    return settled;
  }

  /** Waits until every pair is settled (each with its first host primary unless told otherwise). */
  settleAll(o: { timeoutMs?: number; anyPrimary?: boolean } = {}): Promise<Settled<PairHost>[]> {
    return Promise.all(
      this.pairs.map((p) =>
        settle(p, { primary: o.anyPrimary === true ? undefined : p.hosts[0], timeoutMs: o.timeoutMs }),
      ),
    );
  }

  fail(): void {
    this.failed = true;
  }

  /** Runs fn; if it throws, the lab is marked failed (logs kept) and the error goes on. */
  async guard<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      this.fail();
      throw err;
    }
  }

  /** etcd first (the nodes must not see it come and go while they stop), the pairs, the namespaces. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const step = async (what: string, fn: () => Promise<void>) => {
      try {
        await fn();
      } catch (err) {
        this.failed = true;
        this.say(`cluster lab: ${what}: ${errorMessage(err)}`);
      }
    };
    const keep = this.failed || process.env.SIPHA_KEEP_LOGS !== undefined;
    // The members' logs live in their data folder, which destroy() removes: kept (members killed) like the nodes' logs.
    await step('stopping etcd', async () => {
      if (this.etcdCluster !== undefined && !keep) await this.etcdCluster.destroy();
      else if (this.etcdCluster !== undefined)
        for (const name of this.etcdHosts()) await this.etcdCluster.stopMember(name, 'SIGKILL');
    });
    for (const p of this.pairs) await step(`stopping pair ${p.index}`, () => p.stop());
    await step('destroying the lab', () => this.lab.destroy());
    const dirs = [...this.pairs.map((p) => p.dir), ...(this.etcdCluster ? [this.etcdCluster.dir] : [])];
    if (this.failed || keep) this.say(`cluster lab logs kept in ${dirs.join(' ')}`);
    for (const p of this.pairs) await step(`removing ${p.dir}`, () => p.cleanup(this.failed || keep));
  }
}
