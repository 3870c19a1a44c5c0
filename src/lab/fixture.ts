// The settled-pair fixture: a lab, a sipha pair started in it and settled (settle.ts), and the teardown every
// user needs: stop the nodes, destroy the lab, and keep the node logs when something failed (or when
// SIPHA_KEEP_LOGS is set), saying where they are.
import { errorMessage } from '../net/errors.js';
import { startLabEtcd } from './cluster-lab.js';
import type { EtcdCluster } from './etcd-cluster.js';
import { Lab } from './lab.js';
import { type Host, Pair, type PairOptions } from './pair.js';
import { type Settled, settle } from './settle.js';
import type { LabOptions } from './topology.js';

export interface FixtureOptions extends PairOptions {
  /** The lab to build (default: two NICs, IPv4 only). */
  lab?: LabOptions;
  /** The host that must come up primary (default A, the higher priority). */
  primary?: Host;
  settleTimeoutMs?: number;
  /** Where the fixture says where the logs are kept (default: stderr). */
  say?: (line: string) => void;
  /**
   * Cluster mode: a three-member etcd in the lab (E1..E3, src/lab/cluster-lab.ts) and the pair's `cluster` section
   * pointing at it (lease 1 s), so that every promotion needs the pair's permit.
   */
  etcd?: boolean;
}

export class PairFixture {
  /** Set by fail() (or a failed guard()): the node logs are kept at close(). */
  failed = false;
  /** What the first settle saw. */
  settled: Settled | undefined;
  private closed = false;

  private constructor(
    readonly lab: Lab,
    readonly pair: Pair,
    private readonly say: (line: string) => void,
    readonly etcd: EtcdCluster | undefined,
  ) {}

  /** Builds the lab, creates and starts the pair and waits until it is settled; cleans up (logs kept) on failure. */
  static async open(o: FixtureOptions = {}): Promise<PairFixture> {
    const say = o.say ?? ((line: string) => process.stderr.write(`${line}\n`));
    const lab = await Lab.create({
      twoNic: true,
      ipv6: false,
      ...o.lab,
      ...(o.etcd === true ? { cluster: { pairs: 1, etcd: 3 } } : {}),
    });
    let fx: PairFixture | undefined;
    let etcd: EtcdCluster | undefined;
    try {
      if (o.etcd === true) etcd = await startLabEtcd(lab);
      const cluster =
        etcd === undefined
          ? {}
          : { cluster: { etcd: etcd.endpoints(), lease_ttl_s: 1, request_timeout_ms: 500, ...o.cluster } };
      fx = new PairFixture(lab, await Pair.create(lab, { ...o, ...cluster }), say, etcd);
      fx.pair.start('a');
      fx.pair.start('b');
      fx.settled = await settle(fx.pair, { primary: o.primary ?? 'a', timeoutMs: o.settleTimeoutMs });
      return fx;
    } catch (err) {
      if (fx === undefined) {
        await etcd?.destroy();
        await lab.destroy();
      } else {
        fx.fail();
        await fx.close();
      }
      throw err;
    }
  }

  fail(): void {
    this.failed = true;
  }

  get keepLogs(): boolean {
    return this.failed || process.env.SIPHA_KEEP_LOGS !== undefined;
  }

  /** Runs fn; if it throws, the fixture is marked failed (logs kept) and the error goes on. */
  async guard<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      this.fail();
      throw err;
    }
  }

  /** Waits until the pair is settled again (after a fault is healed). */
  resettle(o: { primary?: Host; timeoutMs?: number } = {}): Promise<Settled> {
    return settle(this.pair, o);
  }

  /** Stops the nodes and destroys the lab; keeps the logs if failed. Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.pair.stop();
    } catch (err) {
      this.failed = true;
      this.say(`stopping the pair: ${errorMessage(err)}`);
    }
    await this.etcd?.destroy().catch((err: unknown) => this.say(`stopping etcd: ${errorMessage(err)}`));
    await this.lab.destroy();
    const keep = this.keepLogs;
    if (keep) this.say(`node logs kept in ${this.pair.dir}/{a,b}/node.log`);
    await this.pair.cleanup(keep);
  }
}
