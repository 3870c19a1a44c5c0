// The directory's Prometheus metrics, on a registry of its own that whoever serves /metrics merges or collects.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export class DirectoryMetrics {
  readonly writes: Counter;
  readonly txns: Counter;
  readonly lookups: Counter<'result'>;
  readonly entries: Gauge;
  readonly etcdSeconds: Histogram;
  readonly moves: Counter;

  /** The local copy's size, read at scrape time (the directory sets it). */
  size: () => number = () => 0;
  /**
   * The same counts as plain numbers, for the SIP worker's counters (the HA node's /metrics and `sipha status`
   * get them over IPC; prom-client's own values are read asynchronously).
   */
  readonly totals = {
    writes: 0,
    txns: 0,
    moves: 0,
    etcdSeconds: 0,
    lookups: { local: 0, remote: 0, miss: 0 } as Record<'local' | 'remote' | 'miss', number>,
  };

  lookup(result: 'local' | 'remote' | 'miss'): void {
    this.lookups.inc({ result });
    this.totals.lookups[result]++;
  }

  txn(ops: number, seconds: number): void {
    this.txns.inc();
    this.totals.txns++;
    this.totals.etcdSeconds += seconds;
    if (ops > 0) {
      this.writes.inc(ops);
      this.totals.writes += ops;
    }
  }

  move(): void {
    this.moves.inc();
    this.totals.moves++;
  }

  constructor(readonly registry = new Registry()) {
    const registers = [registry];
    const self = this;
    this.writes = new Counter({
      name: 'sipha_cluster_directory_writes_total',
      help: 'Directory AoR keys written to etcd (puts and deletes)',
      registers,
    });
    this.txns = new Counter({
      name: 'sipha_cluster_directory_txns_total',
      help: 'etcd transactions sent by the directory',
      registers,
    });
    this.lookups = new Counter({
      name: 'sipha_cluster_directory_lookups_total',
      help: 'Requests for a user of our domain, by where the user was found: local (a binding here), remote (another pair), miss',
      labelNames: ['result'],
      registers,
    });
    this.entries = new Gauge({
      name: 'sipha_cluster_directory_entries',
      help: 'AoRs in the local copy of the directory',
      registers,
      collect(this: Gauge) {
        this.set(self.size());
      },
    });
    this.etcdSeconds = new Histogram({
      name: 'sipha_cluster_etcd_request_seconds',
      help: 'Duration of the directory etcd transactions',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    this.moves = new Counter({
      name: 'sipha_cluster_directory_moves_total',
      help: 'AoRs dropped here because they registered through another pair since',
      registers,
    });
  }

  /** One counter's value, summed over the label values given (tests, status). */
  static async value(c: Counter | Counter<'result'>, labels: Record<string, string> = {}): Promise<number> {
    const { values } = await c.get();
    return values
      .filter((v) => Object.entries(labels).every(([k, x]) => (v.labels as Record<string, unknown>)[k] === x))
      .reduce((n, v) => n + v.value, 0);
  }
}
