// The directory of a multi-pair cluster (README "Growing past one pair"), its etcd side: this pair publishes the
// AoRs it serves under the pair's lease, keeps that lease alive, and keeps a local copy of the whole directory fed
// by a watch, so that a call for a user registered through another pair goes there without waiting on etcd. The
// decisions are pure, elsewhere: directory-cache.ts (lookups, moves) and directory-publisher.ts (batches).
import type { Etcd3, IKeyValue, IRequestOp, Watcher } from 'etcd3';
import type { Logger } from 'pino';
import type { ClusterConfig } from '../config/schema.js';
import { parseHostPort } from '../net/address.js';
import { errorMessage } from '../net/errors.js';
import type { BindingChange, LocationService } from '../server/location-service.js';
import type { DirectoryCounters, RemoteDirectory } from '../server/remote-directory.js';
import type { SipRequest } from '../sip/message.js';
import type { Endpoint } from '../sip/transport/types.js';
import {
  DirectoryCache,
  type DirectoryEntry,
  parseEntry,
  parsePairTarget,
  reconcile,
} from './directory-cache.js';
import { DirectoryMetrics } from './directory-metrics.js';
import { DirectoryPublisher, type PendingOp } from './directory-publisher.js';
import { aorKey, pairKey, pairLeaseId, parseKey } from './keys.js';

export interface DirectoryOptions {
  cluster: ClusterConfig;
  domain: string;
  etcd: Etcd3;
  location: LocationService;
  /** Whether this worker writes the directory now: the primary of an HA pair, a standalone server always. */
  acting: () => boolean;
  log: Logger;
  /** Revoke the pair's lease on close: a standalone server is the whole pair; an HA node leaves it to its peer. */
  revokeOnClose: boolean;
  metrics?: DirectoryMetrics;
  /** The location service's clock (monotonic ms) and the wall clock, to date bindings for `at`. */
  monotonicNow?: () => number;
  wallNow?: () => number;
}

export interface DirectoryStatus {
  pair: string;
  target: string | undefined;
  /** AoRs in the local copy of the directory. */
  entries: number;
  /** Pairs known (their keys, ours included). */
  pairs: number;
  /** Whether the last etcd request succeeded. */
  etcdReachable: boolean;
  lastError: string | undefined;
  /** Directory writes waiting for their batch (or for etcd). */
  pending: number;
  moves: number;
}

/** After a failed etcd request, its retry. */
const RETRY_MS = 1000;
/** The AoRs remembered as seen in the directory (480 rather than 404 for them), at most. */
const MAX_KNOWN = 100_000;

export class Directory implements RemoteDirectory {
  readonly metrics: DirectoryMetrics;
  private readonly cache: DirectoryCache;
  private readonly publisher: DirectoryPublisher;
  private readonly leaseId: string;
  private readonly timers = new Set<NodeJS.Timeout>();
  private target: string | undefined;
  /** The pair's lease is to be granted (at start, or found gone): the keep-alive loop does it. */
  private needGrant = true;
  private watcher: Watcher | undefined;
  private closed = false;
  private flushing = false;
  private pairDirty = false;
  private wasActing = false;
  private reachable = false;
  private lastError: string | undefined;
  private moves = 0;
  private readonly known = new Set<string>();
  private unsubscribe: (() => void) | undefined;
  private readonly mono: () => number;
  private readonly wall: () => number;

  constructor(private readonly o: DirectoryOptions) {
    this.cache = new DirectoryCache(o.cluster.pair_id);
    this.metrics = o.metrics ?? new DirectoryMetrics();
    this.metrics.size = () => this.cache.size;
    this.publisher = new DirectoryPublisher(
      o.cluster.batch_ms,
      (fn, ms) => this.after(ms, fn),
      () => void this.flush(),
    );
    this.leaseId = pairLeaseId(o.cluster.prefix, o.domain, o.cluster.pair_id);
    this.mono = o.monotonicNow ?? (() => performance.now());
    this.wall = o.wallNow ?? (() => Date.now());
  }

  /**
   * Starts publishing as `target` ("HOST:PORT": where the other pairs send our calls) and watching. Returns at once:
   * etcd down now only delays the directory (retried), it never stops SIP.
   */
  start(target: string): void {
    this.target = target;
    this.pairDirty = true;
    this.wasActing = this.o.acting();
    this.unsubscribe = this.o.location.subscribe((c) => this.onBinding(c));
    void this.keepLeaseAlive();
    void this.watch();
  }

  /** The worker's role changed: a new primary publishes every AoR it holds (it has them all by replication). */
  roleChanged(): void {
    // Not started yet: start() reads the role itself.
    if (this.target === undefined) return;
    const acting = this.o.acting();
    if (acting && !this.wasActing) {
      this.o.log.info(
        { aors: this.o.location.aorCount },
        'directory: primary now, publishing every AoR held',
      );
      this.publishAll();
    }
    if (!acting) this.publisher.clear();
    this.wasActing = acting;
  }

  // --- the call path (RemoteDirectory) ---

  route(aor: string, request: SipRequest): Endpoint | undefined {
    const via = request.via;
    const fromPair = via !== undefined && this.cache.isPeerTarget(via.sentBy);
    const r = this.cache.lookup(aor, fromPair);
    if (r.result === 'miss') {
      this.metrics.lookup('miss');
      return undefined;
    }
    const to = endpointOf(r.entry.target);
    this.metrics.lookup(to === undefined ? 'miss' : 'remote');
    return to;
  }

  counters(): DirectoryCounters {
    const st = this.status();
    const t = this.metrics.totals;
    return {
      pair: st.pair,
      entries: st.entries,
      pairs: st.pairs,
      etcdReachable: st.etcdReachable,
      lastError: st.lastError,
      writes: t.writes,
      txns: t.txns,
      etcdSeconds: t.etcdSeconds,
      moves: t.moves,
      lookups: { ...t.lookups },
    };
  }

  servedLocally(): void {
    this.metrics.lookup('local');
  }

  knows(aor: string): boolean {
    return this.known.has(aor) || this.cache.get(aor) !== undefined;
  }

  /** Whether "HOST:PORT" is another pair (the loop guard's test). */
  isPeer(hostPort: string): boolean {
    return this.cache.isPeerTarget(hostPort);
  }

  /** The local copy's entry for an AoR (tests, status). */
  entry(aor: string): DirectoryEntry | undefined {
    return this.cache.get(aor);
  }

  status(): DirectoryStatus {
    return {
      pair: this.o.cluster.pair_id,
      target: this.target,
      entries: this.cache.size,
      pairs: this.cache.pairCount,
      etcdReachable: this.reachable,
      lastError: this.lastError,
      pending: this.publisher.size,
      moves: this.moves,
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe?.();
    this.publisher.clear();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    // Bounded: a stop never waits on an etcd that is away.
    const watcher = this.watcher;
    if (watcher !== undefined) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        watcher.cancel().catch(() => {}),
        new Promise<void>((r) => {
          timer = setTimeout(r, this.o.cluster.request_timeout_ms);
        }),
      ]);
      clearTimeout(timer);
    }
    if (this.o.revokeOnClose)
      await this.o.etcd.leaseClient
        .leaseRevoke({ ID: this.leaseId }, this.callOptions())
        .catch((err: unknown) =>
          this.o.log.debug({ err: errorMessage(err) }, 'directory: lease not revoked'),
        );
  }

  // --- publishing ---

  /** First binding of an AoR: its entry; last one gone: its removal (unless another pair owns it now: a move). */
  private onBinding(c: BindingChange): void {
    if (!this.o.acting() || this.closed) return;
    if (c.kind === 'added') {
      if (this.o.location.lookup(c.binding.aor, Number.NEGATIVE_INFINITY).length === 1)
        this.publisher.put(c.binding.aor, this.wallOf(c.binding.updatedAt));
    } else if (c.kind === 'removed' && !this.o.location.hasAor(c.aor)) {
      const owner = this.cache.get(c.aor)?.pair;
      if (owner === undefined || owner === this.o.cluster.pair_id) this.publisher.delete(c.aor);
    }
  }

  /** The pair's key and every AoR held, again (a takeover, a lease granted anew after it expired). */
  private publishAll(): void {
    this.pairDirty = true;
    const newest = new Map<string, number>();
    for (const b of this.o.location.all()) newest.set(b.aor, Math.max(newest.get(b.aor) ?? 0, b.updatedAt));
    for (const [aor, at] of newest) this.publisher.put(aor, this.wallOf(at));
    if (newest.size === 0) void this.flush();
  }

  private async flush(): Promise<void> {
    if (this.flushing || this.closed || this.target === undefined) return;
    this.flushing = true;
    try {
      for (;;) {
        if (!this.o.acting()) {
          this.publisher.clear();
          return;
        }
        const ops = this.publisher.take();
        if (ops.length === 0 && !this.pairDirty) return;
        try {
          await this.txn(ops);
        } catch (err) {
          this.failed(err);
          this.publisher.giveBack(ops, RETRY_MS);
          // Our lease expired (etcd was away longer than its TTL): grant it again, then publish everything.
          if (/lease not found/i.test(errorMessage(err))) this.needGrant = true;
          else if (this.pairDirty && ops.length === 0) this.after(RETRY_MS, () => void this.flush());
          return;
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  private async txn(ops: readonly PendingOp[]): Promise<void> {
    const { prefix } = this.o.cluster;
    const { domain } = this.o;
    const lease = this.leaseId;
    const pair = this.o.cluster.pair_id;
    const target = this.target;
    const success: IRequestOp[] = ops.map((op) =>
      op.op === 'put'
        ? {
            request_put: {
              key: Buffer.from(aorKey(prefix, domain, op.aor)),
              value: Buffer.from(JSON.stringify({ pair, target, at: op.at })),
              lease,
            },
          }
        : { request_delete_range: { key: Buffer.from(aorKey(prefix, domain, op.aor)) } },
    );
    const withPair = this.pairDirty;
    if (withPair)
      success.push({
        request_put: {
          key: Buffer.from(pairKey(prefix, domain, pair)),
          value: Buffer.from(JSON.stringify({ target })),
          lease,
        },
      });
    this.pairDirty = false;
    const end = this.metrics.etcdSeconds.startTimer();
    let seconds = 0;
    try {
      await this.o.etcd.kv.txn({ success }, this.callOptions());
    } catch (err) {
      if (withPair) this.pairDirty = true;
      throw err;
    } finally {
      seconds = end();
    }
    this.metrics.txn(ops.length, seconds);
    this.ok();
  }

  // --- the pair's lease ---

  /**
   * Grants the pair's lease when needed (the same ID on both nodes: a second grant says it exists, and then it is
   * kept alive as it is), else keeps it alive, every TTL/3. A keep-alive that finds it gone grants it again, and
   * the primary publishes everything again: the entries went with the lease.
   */
  private async keepLeaseAlive(): Promise<void> {
    if (this.closed) return;
    const ttl = this.o.cluster.pair_lease_ttl_s;
    let next = Math.max(200, (ttl * 1000) / 3);
    try {
      if (!this.needGrant && !(await this.keepaliveOnce())) {
        this.o.log.warn({ lease: this.leaseId }, 'directory: the pair lease expired; granting it again');
        this.needGrant = true;
      }
      if (this.needGrant) {
        await this.grant();
        this.needGrant = false;
        if (this.o.acting()) this.publishAll();
      }
      this.ok();
    } catch (err) {
      this.failed(err);
      next = Math.min(next, RETRY_MS);
    }
    this.after(next, () => void this.keepLeaseAlive());
  }

  private async grant(): Promise<void> {
    try {
      await this.o.etcd.leaseClient.leaseGrant(
        { ID: this.leaseId, TTL: this.o.cluster.pair_lease_ttl_s },
        this.callOptions(),
      );
    } catch (err) {
      if (!/lease already exists/i.test(errorMessage(err))) throw err;
    }
  }

  /** One keep-alive of the pair's lease; false when etcd says it is gone (TTL <= 0). */
  private async keepaliveOnce(): Promise<boolean> {
    const stream = await this.o.etcd.leaseClient.leaseKeepAlive(this.callOptions());
    try {
      let timer: NodeJS.Timeout | undefined;
      const res = await new Promise<{ TTL: string }>((resolve, reject) => {
        timer = setTimeout(
          () => reject(new Error('lease keep-alive timed out')),
          this.o.cluster.request_timeout_ms,
        );
        stream.on('data', resolve);
        stream.on('error', reject);
        stream.write({ ID: this.leaseId });
      }).finally(() => clearTimeout(timer));
      return Number(res.TTL) > 0;
    } finally {
      stream.end();
    }
  }

  // --- the local copy ---

  /** Reads the domain's folder, then watches it from the next revision; on a watch error, all over again. */
  private async watch(): Promise<void> {
    if (this.closed) return;
    const { prefix } = this.o.cluster;
    const folder = `${prefix}/${this.o.domain}/`;
    try {
      const res = await this.o.etcd.kv.range(
        { key: Buffer.from(folder), range_end: Buffer.from(prefixEnd(folder)) },
        this.callOptions(),
      );
      const entries: [string, DirectoryEntry][] = [];
      const pairs: [string, string][] = [];
      for (const kv of res.kvs) {
        const key = parseKey(prefix, this.o.domain, kv.key.toString());
        const value = kv.value.toString();
        if (key.kind === 'aor') {
          const e = parseEntry(value);
          if (e !== undefined) entries.push([key.aor, e]);
        } else if (key.kind === 'pair') {
          const t = parsePairTarget(value);
          if (t !== undefined) pairs.push([key.pair, t]);
        }
      }
      this.cache.reset(entries, pairs);
      for (const [aor] of entries) this.remember(aor);
      if (this.closed) return;
      const watcher = await this.o.etcd
        .watch()
        .prefix(folder)
        .startRevision(String(BigInt(res.header.revision) + 1n))
        .create();
      if (this.closed) {
        await watcher.cancel();
        return;
      }
      this.watcher = watcher;
      watcher.on('put', (kv) => this.onWatch(kv, 'put'));
      watcher.on('delete', (kv) => this.onWatch(kv, 'delete'));
      watcher.on('error', (err) => {
        this.failed(err);
        if (this.watcher !== watcher) return;
        this.watcher = undefined;
        void watcher.cancel().catch(() => {});
        this.after(RETRY_MS, () => void this.watch());
      });
      this.ok();
      if (!pairs.some(([p]) => p === this.o.cluster.pair_id)) this.republishPair();
      // What we hold against what the directory says now (the reconcile of each AoR).
      for (const aor of this.heldAors()) this.reconcileAor(aor);
    } catch (err) {
      this.failed(err);
      this.after(RETRY_MS, () => void this.watch());
    }
  }

  private onWatch(kv: IKeyValue, type: 'put' | 'delete'): void {
    const key = parseKey(this.o.cluster.prefix, this.o.domain, kv.key.toString());
    if (key.kind === 'pair') {
      const target = type === 'put' ? parsePairTarget(kv.value.toString()) : undefined;
      if (target === undefined) this.cache.deletePair(key.pair);
      else this.cache.putPair(key.pair, target);
      // Our own pair key gone while we run (the lease expired, and the other node granted it again): again.
      if (target === undefined && key.pair === this.o.cluster.pair_id) this.republishPair();
      return;
    }
    if (key.kind !== 'aor') return;
    const entry = type === 'put' ? parseEntry(kv.value.toString()) : undefined;
    if (entry === undefined) this.cache.delete(key.aor);
    else {
      this.cache.put(key.aor, entry);
      this.remember(key.aor);
    }
    this.reconcileAor(key.aor);
  }

  /** A move (another pair's newer registration: drop ours) or crossed writes (ours newer: publish ours again). */
  private reconcileAor(aor: string): void {
    if (!this.o.acting() || this.closed) return;
    const bindings = this.o.location.lookup(aor, Number.NEGATIVE_INFINITY);
    const newest = bindings.length === 0 ? undefined : Math.max(...bindings.map((b) => b.updatedAt));
    const ourAt = newest === undefined ? undefined : this.wallOf(newest);
    const entry = this.cache.get(aor);
    switch (reconcile(this.o.cluster.pair_id, entry, ourAt)) {
      case 'drop':
        this.moves++;
        this.metrics.move();
        this.o.log.info(
          { aor, pair: entry?.pair, target: entry?.target },
          'directory: user registered through another pair since; dropping our bindings',
        );
        this.publisher.forget(aor);
        // Through the location service: the removal replicates to our backup and shows in the event feed.
        for (const b of bindings) this.o.location.remove(aor, b.contact, 'unregistered');
        break;
      case 'republish':
        if (ourAt !== undefined) this.publisher.put(aor, ourAt);
        break;
      case 'none':
        break;
    }
  }

  private republishPair(): void {
    if (!this.o.acting() || this.closed) return;
    this.pairDirty = true;
    void this.flush();
  }

  private heldAors(): Set<string> {
    return new Set(this.o.location.all().map((b) => b.aor));
  }

  private remember(aor: string): void {
    if (this.known.size >= MAX_KNOWN) this.known.clear();
    this.known.add(aor);
  }

  // --- helpers ---

  /** A monotonic binding time as wall-clock ms (`at` is compared between pairs). */
  private wallOf(monotonic: number): number {
    return Math.round(this.wall() - (this.mono() - monotonic));
  }

  private callOptions(): { deadline: Date } {
    return { deadline: new Date(Date.now() + this.o.cluster.request_timeout_ms) };
  }

  private after(ms: number, fn: () => void): () => void {
    if (this.closed) return () => {};
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    t.unref();
    this.timers.add(t);
    return () => {
      clearTimeout(t);
      this.timers.delete(t);
    };
  }

  private ok(): void {
    this.reachable = true;
  }

  private failed(err: unknown): void {
    const message = errorMessage(err);
    if (this.reachable || this.lastError !== message)
      this.o.log.warn({ err: message }, 'directory: etcd request failed (retrying)');
    this.reachable = false;
    this.lastError = message;
  }
}

/** A target "HOST:PORT" as a UDP endpoint; undefined when it is not an address. */
function endpointOf(target: string): Endpoint | undefined {
  try {
    const { host, port } = parseHostPort(target);
    return { transport: 'udp', address: host, port };
  } catch {
    return undefined;
  }
}

/** The end of etcd's range of every key starting with `p` (its last byte plus one). */
function prefixEnd(p: string): Buffer {
  const b = Buffer.from(p);
  b[b.length - 1] = (b[b.length - 1] ?? 0) + 1;
  return b;
}
