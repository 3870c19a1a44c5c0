// Replication for one SIP worker, by the worker's role: the primary records every binding and dialog change it makes
// itself into the source and serves the stream; the backup mirrors it through the applier, silently, until it is
// promoted. Status and the lossless-handover drain for the node supervisor live here too.
import type { Logger } from 'pino';
import type { HostPort } from '../../net/address.js';
import type { Unsubscribe } from '../../server/change-feed.js';
import { type Clock, systemClock } from '../../time/clock.js';
import type { FenceView, ReplicationStatus, WorkerRole } from '../worker-ipc.js';
import { AckBarrier } from './ack-barrier.js';
import { ReplicaApplier } from './applier.js';
import type { WireChange } from './messages.js';
import { ReplicaClient } from './replica-client.js';
import type { ReplicatedStores } from './replicated-stores.js';
import { ReplicationListener } from './replication-listener.js';
import { ReplicationSource, sourceChange } from './source.js';

/** The worker's role as replication sees it (the worker holds it): read it, and hear when it changes. */
export interface WorkerRoleView {
  readonly current: WorkerRole;
  subscribe(listener: (role: WorkerRole) => void): Unsubscribe;
  /** Cluster mode's fencing tokens (the node tells them with the role); absent: none. */
  readonly fence?: FenceView;
}

export interface WorkerReplicationOptions {
  key: Buffer;
  nodeId: string;
  role: WorkerRoleView;
  stores: ReplicatedStores;
  listen: readonly HostPort[];
  peers: readonly HostPort[];
  locals?: readonly string[];
  log: Logger;
  /** Connection or synced state flipped. */
  onChange?: () => void;
  /** The backup's connection to the primary was reset or closed by the primary's side. */
  onPeerConnLost?: (how: 'reset' | 'closed') => void;
  /** Tunables for tests. */
  tickMs?: number;
  idleTimeoutMs?: number;
  retryMs?: number;
  syncedLagMs?: number;
  /** `ha.replication.ack_wait_ms`: how long a response that confirms a change waits for the backup; 0 (default) never. */
  ackWaitMs?: number;
  /** For the acknowledgement wait's bound (tests). */
  clock?: Clock;
  /** The chaos checker's self-test only (src/ha/test-break.ts): streamed changes the replica drops. */
  dropChange?: (c: WireChange) => boolean;
}

/** How long a demoted primary waits before it asks the new primary for its snapshot. */
const DEMOTED_RESYNC_DELAY_MS = 100;

/** A replica synced this recently before its promotion counts as synced (the link dies just before it). */
const PROMOTION_SYNCED_WITHIN_MS = 5000;

export interface DrainResult {
  ok: boolean;
  lastSeq: number;
  ackedSeq: number;
  detail: string;
}

export class WorkerReplication {
  readonly source: ReplicationSource;
  readonly applier: ReplicaApplier;
  readonly listener: ReplicationListener;
  readonly client: ReplicaClient;
  /** The SIP server's commit gate (acknowledged means replicated). */
  readonly ackBarrier: AckBarrier;
  private drainWaiters: Array<() => boolean> = [];
  private wasSynced = false;
  /** Whether the last promotion found the replica synced (null: never promoted). */
  private promotedSynced: boolean | null = null;
  private wasConnected = false;
  private unsubscribe: Unsubscribe[] = [];

  constructor(private readonly o: WorkerReplicationOptions) {
    const mono = () => performance.now();
    this.source = new ReplicationSource({
      now: mono,
      ...(o.syncedLagMs === undefined ? {} : { syncedLagMs: o.syncedLagMs }),
    });
    this.ackBarrier = new AckBarrier({
      source: this.source,
      waitMs: o.ackWaitMs ?? 0,
      clock: o.clock ?? systemClock,
      active: () => this.primary,
      onLagging: () => this.changed(),
    });
    this.applier = new ReplicaApplier(o.stores, undefined, o.dropChange);
    this.listener = new ReplicationListener({
      key: o.key,
      nodeId: o.nodeId,
      listen: o.listen,
      stores: o.stores,
      source: this.source,
      isPrimary: () => this.primary,
      fence: () => o.role.fence?.own ?? 0,
      log: o.log,
      onSessionChange: () => this.changed(),
      onAck: () => this.onAck(),
      ...(o.tickMs === undefined ? {} : { tickMs: o.tickMs }),
      ...(o.idleTimeoutMs === undefined ? {} : { idleTimeoutMs: o.idleTimeoutMs }),
    });
    this.client = new ReplicaClient({
      key: o.key,
      nodeId: o.nodeId,
      peers: o.peers,
      ...(o.locals === undefined ? {} : { locals: o.locals }),
      applier: this.applier,
      minFence: () => o.role.fence?.highest ?? 0,
      log: o.log,
      onChange: () => this.changed(),
      onConnLost: (how) => o.onPeerConnLost?.(how),
      ...(o.retryMs === undefined ? {} : { retryMs: o.retryMs }),
      ...(o.idleTimeoutMs === undefined ? {} : { idleTimeoutMs: o.idleTimeoutMs }),
    });
  }

  /**
   * Binds the replication listener, then acts on the worker's role now (a primary counts as promoted, a backup
   * starts looking for the primary) and on each change of it.
   */
  async start(): Promise<void> {
    await this.listener.start();
    // Only this node's own changes (this worker's or, with several SIP workers, its siblings'), made while primary,
    // are numbered and streamed: a backup's come from the stream.
    this.unsubscribe = [
      this.o.stores.subscribe((c) => {
        if (c.origin !== 'replica' && this.primary) this.source.record(sourceChange(c));
      }),
      this.o.role.subscribe((role) => this.roleChanged(role)),
    ];
    if (this.primary) this.roleChanged('primary');
    else this.client.start();
  }

  async stop(): Promise<void> {
    for (const unsubscribe of this.unsubscribe) unsubscribe();
    this.unsubscribe = [];
    this.client.stop();
    await this.listener.stop();
    this.ackBarrier.releaseAll();
    this.releaseDrainWaiters();
  }

  private get primary(): boolean {
    return this.o.role.current === 'primary';
  }

  /**
   * Promotion: stop mirroring (the state held is the best there is) and serve the stream to the new backup.
   * Demotion: stop serving and mirror the new primary, starting from its snapshot.
   */
  private roleChanged(role: WorkerRole): void {
    if (role === 'primary') {
      // The link to the old primary is usually gone by now (it died, or it stepped down first): what counts is
      // whether the replica was synced when it was lost.
      const ago = this.client.lastSyncedAgoMs;
      this.promotedSynced = ago !== null && ago <= PROMOTION_SYNCED_WITHIN_MS;
      this.client.stop();
      this.o.log.info(
        {
          synced: this.promotedSynced,
          lastSyncedAgoMs: ago,
          appliedSeq: this.applier.appliedSeq,
          ...this.o.stores.counts(),
        },
        this.promotedSynced ? 'replica promoted' : 'replica promoted while NOT synced',
      );
    } else {
      this.listener.dropSessions('demoted to backup');
      this.ackBarrier.releaseAll();
      this.releaseDrainWaiters();
      // Just demoted: the new primary's first requests after the takeover come before our snapshot (building it
      // takes its event loop a few ms per thousand bindings), so we ask for it a moment later.
      this.client.start(DEMOTED_RESYNC_DELAY_MS);
    }
    this.changed();
  }

  status(): ReplicationStatus {
    const primary = this.primary;
    const lag = primary ? this.source.lagRecent.percentiles(performance.now()) : { p50: null, p99: null };
    return {
      role: this.o.role.current,
      synced: primary ? this.source.synced : this.client.synced,
      connected: primary ? this.source.connected : this.client.connected,
      lastSeq: primary ? this.source.lastSeq : this.applier.headSeq,
      ackedSeq: primary ? this.source.ackedSeq : this.applier.appliedSeq,
      lagP50Ms: lag.p50,
      lagP99Ms: lag.p99,
      ...this.o.stores.counts(),
      lastSyncedAgoMs: primary ? null : this.client.lastSyncedAgoMs,
      promotedSynced: primary ? this.promotedSynced : null,
      ackWait: { ...this.ackBarrier.stats },
    };
  }

  /** Resolves once the backup has acknowledged every change made so far, or says why not within `timeoutMs`. */
  drain(timeoutMs: number): Promise<DrainResult> {
    const result = (ok: boolean, detail: string): DrainResult => ({
      ok,
      lastSeq: this.source.lastSeq,
      ackedSeq: this.source.ackedSeq,
      detail,
    });
    if (!this.primary) return Promise.resolve(result(false, 'not primary'));
    if (!this.source.connected) return Promise.resolve(result(false, 'no backup connected'));
    if (this.source.drained) return Promise.resolve(result(true, 'backup has every change'));
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.drainWaiters = this.drainWaiters.filter((w) => w !== check);
        resolve(
          result(
            false,
            `backup acknowledged ${this.source.ackedSeq} of ${this.source.lastSeq} in ${timeoutMs} ms`,
          ),
        );
      }, timeoutMs);
      const check = () => {
        if (!this.primary || !this.source.connected) {
          clearTimeout(timer);
          resolve(result(false, !this.primary ? 'no longer primary' : 'backup disconnected'));
          return true;
        }
        if (!this.source.drained) return false;
        clearTimeout(timer);
        resolve(result(true, 'backup has every change'));
        return true;
      };
      this.drainWaiters.push(check);
    });
  }

  /** Hears each acknowledgement from the backup (the keeper passes them on to the other SIP workers). */
  onAcked: (() => void) | undefined;

  private onAck(): void {
    this.ackBarrier.onAck();
    this.onAcked?.();
    if (this.drainWaiters.length > 0) this.releaseDrainWaiters();
    this.changed();
  }

  /** Runs the drain checks; a check that resolved leaves the list. */
  private releaseDrainWaiters(): void {
    this.drainWaiters = this.drainWaiters.filter((check) => !check());
  }

  /** Tells the owner when the connection or the synced state flips (the periodic report covers the rest). */
  private changed(): void {
    if (!this.source.connected) this.ackBarrier.releaseAll();
    if (this.drainWaiters.length > 0 && !this.source.connected) this.releaseDrainWaiters();
    const s = this.status();
    if (s.synced === this.wasSynced && s.connected === this.wasConnected) return;
    this.wasSynced = s.synced;
    this.wasConnected = s.connected;
    this.o.onChange?.();
  }
}
