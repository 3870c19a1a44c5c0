// The pair's permit in etcd (cluster mode, README "Growing past one pair"): the side of the role machine's quorum
// that talks to etcd. Each node holds a lease of its own (cluster.lease_ttl_s), renewed every quarter TTL; the
// permit is one key, `permitKey`, created by transaction only while absent and attached to the winner's lease, so
// it dies with the winner's lease; the revision that created it is the winner's fencing token.
//
// Time: a renewal sent at T and answered keeps the lease alive in etcd until at least T + TTL (etcd counts from
// when it got the renewal, later than T). So this node calls itself unreachable at T + TTL − margin without a newer
// answer: its primary then releases the VIP before etcd can expire the lease and grant the permit to the peer.
//
// What goes up to the node: reachable(true|false) on each change, won(fence) when a campaign wins, lost(detail)
// when the permit is positively not this node's (another node holds it, or it was deleted while the lease was
// renewed). A key that vanished because this node's own lease ran out is not "lost": the machine already knows
// the lease ran out (unreachable) and asks again once etcd answers.
import { performance } from 'node:perf_hooks';
import { noop } from 'cockatiel';
import type { Etcd3, IOptions } from 'etcd3';
import type { Logger } from 'pino';
import { errorMessage } from '../net/errors.js';

export interface PermitEvents {
  reachable(ok: boolean, detail: string): void;
  won(fence: number): void;
  lost(detail: string): void;
}

export interface PairPermitOptions {
  client: Etcd3;
  /** The permit key (src/cluster/keys.ts permitKey). */
  key: string;
  nodeId: string;
  ttlS: number;
  requestTimeoutMs: number;
  log: Logger;
  /** After close: the client is the permit's own, closed with it. */
  onClose?: () => void;
  /**
   * The domain's pairs folder (keys.ts pairPrefix): read about once a second, for the status's view of the cluster
   * (each pair, where it is reached, which node holds its permit).
   */
  pairsPrefix?: string;
}

/** A pair of the domain as etcd has it: its target (from the directory) and its permit's holder. */
export interface PairView {
  pair: string;
  target: string | undefined;
  holder: string | undefined;
}

export interface PermitStatus {
  etcd: 'unknown' | 'reachable' | 'unreachable';
  lease: string | undefined;
  /** Milliseconds left before this node counts its lease as run out (negative: past it). */
  validForMs: number;
  permit: 'none' | 'campaigning' | 'held';
  fence: number;
  holder: string | undefined;
  /** Round trip of the last renewal, ms. */
  renewRttMs: number | undefined;
  lastError: string | undefined;
  /** The domain's pairs, read about once a second (empty until read). */
  pairs: PairView[];
}

/**
 * The permit's client options: etcd3's default circuit breaker shuns a member for 5 s after three failures, which
 * after an etcd outage would keep one node cut off seconds longer than its peer (and hand the VIP over for no
 * reason). The permit's requests have deadlines of their own; the retry across members stays.
 */
export function permitClientOptions(options: IOptions): IOptions {
  return {
    ...options,
    faultHandling: { ...options.faultHandling, host: () => noop },
    // gRPC's reconnect backoff grows to 120 s: after a long etcd outage one node could stay disconnected seconds
    // longer than its peer (seen in CI: the failsafe ended and the VIP moved). Reconnect within a second instead.
    grpcOptions: {
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': 1000,
      ...options.grpcOptions,
    },
  };
}

interface Holder {
  node: string;
  lease: string;
}

/** How often a waiting campaign looks at the key again (etcd itself expires leases on a 500 ms sweep). */
const WAIT_POLL_MS = 100;

export class PairPermit {
  private lease: string | undefined;
  private validUntil = 0;
  private reachable: boolean | undefined;
  private held: { fence: number } | undefined;
  private campaigning = false;
  /** Bumped by withdraw and close: a campaign of an older generation stops and gives back what it won. */
  private generation = 0;
  private holder: string | undefined;
  private renewRttMs: number | undefined;
  private lastError: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private deadlineTimer: NodeJS.Timeout | undefined;
  private renewing = false;
  private closed = false;
  private pairs: PairView[] = [];
  private renewals = 0;
  private readonly keyBuf: Buffer;
  private readonly periodMs: number;
  private readonly marginMs: number;

  constructor(
    private readonly o: PairPermitOptions,
    private readonly events: PermitEvents,
  ) {
    this.keyBuf = Buffer.from(o.key);
    const ttlMs = o.ttlS * 1000;
    this.periodMs = Math.max(100, Math.floor(ttlMs / 4));
    // The VIP release must be done before etcd may expire the lease: a quarter TTL, at most 500 ms.
    this.marginMs = Math.min(500, Math.floor(ttlMs / 4));
  }

  start(): void {
    void this.renew();
    this.timer = setInterval(() => void this.renew(), this.periodMs);
    this.timer.unref();
  }

  /** Valid to add the VIP under: the permit won at `fence` is held and the lease is within its deadline. */
  mayServe(fence: number): string | undefined {
    if (this.held === undefined) return 'the permit is not held';
    if (this.held.fence !== fence)
      return `the permit was won again since (fence ${this.held.fence} ≠ ${fence})`;
    if (performance.now() >= this.validUntil) return 'the etcd lease is past its deadline';
    return undefined;
  }

  status(): PermitStatus {
    return {
      etcd: this.reachable === undefined ? 'unknown' : this.reachable ? 'reachable' : 'unreachable',
      lease: this.lease,
      validForMs: Math.round(this.validUntil - performance.now()),
      permit: this.held !== undefined ? 'held' : this.campaigning ? 'campaigning' : 'none',
      fence: this.held?.fence ?? 0,
      holder: this.holder,
      renewRttMs: this.renewRttMs,
      lastError: this.lastError,
      pairs: this.pairs,
    };
  }

  /**
   * Asks for the permit. `wait`: until the holder's key goes (its lease expires, or it gives the permit back);
   * else one answer now. A newer campaign or a withdraw ends this one.
   */
  async campaign(wait: boolean): Promise<void> {
    const gen = ++this.generation;
    this.campaigning = true;
    try {
      while (gen === this.generation && !this.closed) {
        const answer = await this.tryOnce().catch((err: unknown) => {
          this.noteError(err);
          return undefined;
        });
        if (gen !== this.generation || this.closed) {
          // Withdrawn meanwhile: what this attempt won goes back at once.
          if (answer?.won === true) await this.deleteIfMine().catch(() => {});
          return;
        }
        if (answer?.won === true) {
          this.held = { fence: answer.fence };
          this.holder = this.o.nodeId;
          this.events.won(answer.fence);
          return;
        }
        if (answer !== undefined && !wait) {
          this.events.lost(`the permit is held by ${answer.holder}`);
          return;
        }
        await sleep(WAIT_POLL_MS);
      }
    } finally {
      if (gen === this.generation) this.campaigning = false;
    }
  }

  /** Gives the permit back: ends any campaign and deletes the key if it is this node's. Bounded, best effort. */
  async withdraw(): Promise<void> {
    this.generation++;
    this.campaigning = false;
    const had = this.held !== undefined;
    this.held = undefined;
    if (!had) return;
    await this.deleteIfMine().catch((err: unknown) => this.noteError(err));
  }

  /** Stops renewing; gives the permit back and revokes the lease (its keys go at once, not after the TTL). */
  async close(): Promise<void> {
    await this.withdraw();
    this.closed = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    if (this.deadlineTimer !== undefined) clearTimeout(this.deadlineTimer);
    const lease = this.lease;
    this.lease = undefined;
    if (lease !== undefined)
      await this.o.client.leaseClient
        .leaseRevoke({ ID: lease }, this.callOptions())
        .catch((err: unknown) => this.noteError(err));
    this.o.onClose?.();
  }

  // ---- the lease ----

  private async renew(): Promise<void> {
    if (this.renewing || this.closed) return;
    this.renewing = true;
    const sentAt = performance.now();
    try {
      let ttl: number;
      if (this.lease === undefined) {
        const res = await this.o.client.leaseClient.leaseGrant(
          { TTL: this.o.ttlS, ID: 0 },
          this.callOptions(),
        );
        this.lease = String(res.ID);
        ttl = Number(res.TTL);
      } else {
        ttl = await this.keepAliveRetried(this.lease);
        if (ttl <= 0) {
          // The lease ran out in etcd (this node was cut off longer than the TTL): its keys are gone with it, the
          // permit too. A new lease now; the machine, which already heard "unreachable", asks again.
          this.log('etcd lease expired; granting a new one');
          this.lease = undefined;
          // Gone while this node thought its lease renewed in time (revoked by hand, or etcd's clock jumped): the
          // machine must hear that the permit is lost. After "unreachable" it knows already and asks again.
          if (this.held !== undefined && this.reachable === true) {
            this.held = undefined;
            this.events.lost('the etcd lease expired or was revoked while renewed');
          }
          this.held = undefined;
          const res = await this.o.client.leaseClient.leaseGrant(
            { TTL: this.o.ttlS, ID: 0 },
            this.callOptions(),
          );
          this.lease = String(res.ID);
          ttl = Number(res.TTL);
        }
      }
      if (this.closed) return;
      this.renewRttMs = Math.round(performance.now() - sentAt);
      this.validUntil = sentAt + Math.min(ttl, this.o.ttlS) * 1000 - this.marginMs;
      this.armDeadline();
      this.setReachable(true, 'lease renewed');
      if (this.held !== undefined) await this.checkHeld();
      if (this.renewals++ % 4 === 0) await this.readPairs();
    } catch (err) {
      this.noteError(err);
    } finally {
      this.renewing = false;
    }
  }

  /**
   * A renewal goes to one member, chosen at random per stream: with a member down, one in three would fail. So try
   * again at once (another random member) while half the request timeout is left, each try bounded by the rest.
   */
  private async keepAliveRetried(lease: string): Promise<number> {
    const end = performance.now() + this.o.requestTimeoutMs;
    for (let attempt = 1; ; attempt++) {
      const left = end - performance.now();
      try {
        return await this.keepAlive(lease, Math.max(1, attempt === 1 ? left / 2 : left));
      } catch (err) {
        if (attempt >= 3 || end - performance.now() < this.o.requestTimeoutMs / 4) throw err;
      }
    }
  }

  private async keepAlive(lease: string, timeoutMs: number): Promise<number> {
    const started = performance.now();
    const stream = await withTimeout(
      this.o.client.leaseClient.leaseKeepAlive(this.callOptions()),
      timeoutMs,
      'keep-alive stream',
    );
    try {
      const left = Math.max(1, timeoutMs - (performance.now() - started));
      const res = await new Promise<{ TTL: string }>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('keep-alive timed out')), left);
        stream.on('data', (r: { TTL: string }) => {
          clearTimeout(timer);
          resolve(r);
        });
        stream.on('error', (e: unknown) => {
          clearTimeout(timer);
          reject(e);
        });
        stream.write({ ID: lease });
      });
      return Number(res.TTL);
    } finally {
      stream.end();
    }
  }

  /** The local deadline: past it without a renewal, this node counts its lease as run out. */
  private armDeadline(): void {
    if (this.deadlineTimer !== undefined) clearTimeout(this.deadlineTimer);
    const ms = Math.max(0, this.validUntil - performance.now());
    this.deadlineTimer = setTimeout(() => {
      // (The event loop's cached time can fire a timer a little early: then wait out the rest.)
      if (performance.now() >= this.validUntil)
        this.setReachable(false, this.lastError ?? 'no renewal in time');
      else this.armDeadline();
    }, ms + 1);
    this.deadlineTimer.unref();
  }

  private setReachable(ok: boolean, detail: string): void {
    if (this.reachable === ok || this.closed) return;
    this.reachable = ok;
    this.events.reachable(ok, detail);
  }

  // ---- the key ----

  /** One transaction: create the key under this node's lease if absent, else read who holds it. */
  private async tryOnce(): Promise<{ won: true; fence: number } | { won: false; holder: string }> {
    const lease = this.lease;
    if (lease === undefined) throw new Error('no etcd lease yet');
    const mine: Holder = { node: this.o.nodeId, lease };
    const res = await this.o.client.kv.txn(
      {
        compare: [{ key: this.keyBuf, target: 'Create', result: 'Equal', create_revision: 0 }],
        success: [{ request_put: { key: this.keyBuf, value: Buffer.from(JSON.stringify(mine)), lease } }],
        failure: [{ request_range: { key: this.keyBuf } }],
      },
      this.callOptions(),
    );
    if (res.succeeded) return { won: true, fence: Number(res.header.revision) };
    const kv = res.responses[0]?.response_range?.kvs[0];
    if (kv === undefined) return { won: false, holder: 'nobody (the key went meanwhile)' };
    const h = parseHolder(kv.value);
    this.holder = h?.node;
    // Ours already, under this lease (won before, and the answer was lost): the same permit, the same fence.
    if (h !== undefined && h.node === this.o.nodeId && h.lease === lease)
      return { won: true, fence: Number(kv.create_revision) };
    return { won: false, holder: h === undefined ? 'an unreadable value' : `node ${h.node}` };
  }

  /** While held, after each renewal: is the key still ours? Another holder, or none while renewed: lost. */
  private async checkHeld(): Promise<void> {
    const held = this.held;
    const res = await this.o.client.kv.range({ key: this.keyBuf }, this.callOptions());
    if (this.held !== held || held === undefined) return;
    const kv = res.kvs[0];
    const h = kv === undefined ? undefined : parseHolder(kv.value);
    this.holder = h?.node;
    if (kv !== undefined && h?.node === this.o.nodeId && Number(kv.create_revision) === held.fence) return;
    this.held = undefined;
    this.events.lost(
      kv === undefined
        ? 'the permit key was deleted'
        : `the permit is now held by ${h?.node ?? 'someone else'}`,
    );
  }

  /** The status's view of the cluster: `<pair>` keys say where a pair is reached, `<pair>/permit` who holds it. */
  private async readPairs(): Promise<void> {
    const prefix = this.o.pairsPrefix;
    if (prefix === undefined) return;
    const start = Buffer.from(prefix);
    const end = Buffer.from(prefix);
    end[end.length - 1] = (end[end.length - 1] ?? 0) + 1;
    const res = await this.o.client.kv.range({ key: start, range_end: end }, this.callOptions());
    const byPair = new Map<string, PairView>();
    const view = (pair: string) => {
      const known = byPair.get(pair);
      if (known !== undefined) return known;
      const v: PairView = { pair, target: undefined, holder: undefined };
      byPair.set(pair, v);
      return v;
    };
    for (const kv of res.kvs) {
      const rest = kv.key.toString('utf8').slice(prefix.length);
      const [pair, sub] = rest.split('/');
      if (pair === undefined || pair === '') continue;
      try {
        const value = JSON.parse(kv.value.toString('utf8')) as { target?: unknown; node?: unknown };
        if (sub === undefined && typeof value.target === 'string') view(pair).target = value.target;
        if (sub === 'permit' && typeof value.node === 'string') view(pair).holder = value.node;
      } catch {
        // not ours to read
      }
    }
    this.pairs = [...byPair.values()].sort((a, b) => a.pair.localeCompare(b.pair));
  }

  private async deleteIfMine(): Promise<void> {
    const lease = this.lease;
    if (lease === undefined) return;
    const mine = Buffer.from(JSON.stringify({ node: this.o.nodeId, lease } satisfies Holder));
    await this.o.client.kv.txn(
      {
        compare: [{ key: this.keyBuf, target: 'Value', result: 'Equal', value: mine }],
        success: [{ request_delete_range: { key: this.keyBuf } }],
      },
      this.callOptions(),
    );
  }

  private callOptions(): { deadline: number } {
    return { deadline: Date.now() + this.o.requestTimeoutMs };
  }

  private noteError(err: unknown): void {
    const msg = errorMessage(err);
    if (msg !== this.lastError) this.o.log.debug({ err: msg }, 'etcd request failed');
    this.lastError = msg;
  }

  private log(msg: string): void {
    this.o.log.info({ key: this.o.key }, msg);
  }
}

function parseHolder(value: Buffer): Holder | undefined {
  try {
    const v = JSON.parse(value.toString('utf8')) as Partial<Holder>;
    return typeof v.node === 'string' && typeof v.lease === 'string'
      ? { node: v.node, lease: v.lease }
      : undefined;
  } catch {
    return undefined;
  }
}

/** A promise that gives up after ms (the etcd client may wait for a connection longer than our deadline). */
function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} timed out`)), ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}
