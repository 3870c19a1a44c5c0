// The backup's end of the replication link: connects to the primary on each HA path in turn (the first that works;
// the next one after an error), authenticates, and feeds the snapshot and the stream to the applier, acknowledging
// what it applied once per batch of received data (and on every tick, which doubles as its heartbeat).
import { connect, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { formatHostPort, type HostPort } from '../../net/address.js';
import { errorMessage } from '../../net/errors.js';
import { type ReplicaApplier, ReplicationProtocolError } from './applier.js';
import { FrameOpener, FrameSealer, FrameSplitter, newNonce, peekPayload, sessionKey } from './frame.js';
import { asReplMessage, PROTOCOL_VERSION, type ReplMessage } from './messages.js';

export interface ReplicaClientOptions {
  key: Buffer;
  nodeId: string;
  /** The peer's replication addresses, one per path, in preference order. */
  peers: readonly HostPort[];
  /** Local address per path ('' for any). */
  locals?: readonly string[];
  applier: ReplicaApplier;
  /**
   * Cluster mode: the highest fencing token this node knows of. A primary whose hello tells a lower one holds a
   * permit etcd has since granted again: a stale primary, whose stream is refused.
   */
  minFence?: () => number;
  log: Logger;
  /** Called when the connection or the synced state changes. */
  onChange?: () => void;
  /** An established connection was reset (RST) or closed (FIN) by the primary's side, not by this client. */
  onConnLost?: (how: 'reset' | 'closed') => void;
  retryMs?: number;
  connectTimeoutMs?: number;
  idleTimeoutMs?: number;
}

type Phase = 'connecting' | 'hello' | 'streaming' | 'closed';

export class ReplicaClient {
  private running = false;
  private path = 0;
  private failures = 0;
  private socket: Socket | undefined;
  private phase: Phase = 'closed';
  private retryTimer: NodeJS.Timeout | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private lastRx = 0;
  private wasConnected = false;
  private wasSynced = false;
  /** Date.now() when this replica was last seen synced (also at the moment its link was lost). */
  private lastSyncedAt: number | undefined;
  /** Snapshots received in this process (tests, status). */
  snapshots = 0;
  /** The path index of the current connection. */
  connectedPath: number | undefined;

  constructor(private readonly o: ReplicaClientOptions) {}

  get connected(): boolean {
    return this.phase === 'streaming';
  }

  get synced(): boolean {
    return this.phase === 'streaming' && this.o.applier.synced;
  }

  /**
   * 0 while synced; else ms since it last was (a replica that was synced when its primary died or demoted itself
   * shows a small number here, one never synced shows null). What a promotion's timeline needs.
   */
  get lastSyncedAgoMs(): number | null {
    if (this.synced) return 0;
    return this.lastSyncedAt === undefined ? null : Date.now() - this.lastSyncedAt;
  }

  /** Starts mirroring the primary, `delayMs` from now (0: at once). */
  start(delayMs = 0): void {
    if (this.running) return;
    this.running = true;
    this.failures = 0;
    this.path = 0;
    if (delayMs <= 0) {
      this.connectNow();
      return;
    }
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.connectNow(), delayMs);
    this.retryTimer.unref();
  }

  stop(): void {
    this.running = false;
    clearTimeout(this.retryTimer);
    this.drop('stopped');
  }

  /** Closes the current connection (tests: the link broke); the client reconnects while running. */
  drop(reason: string): void {
    const s = this.socket;
    if (s === undefined) return;
    this.o.log.debug({ reason }, 'replication connection dropped');
    s.destroy();
  }

  private connectNow(): void {
    if (!this.running) return;
    const i = this.path % Math.max(1, this.o.peers.length);
    const peer = this.o.peers[i];
    if (peer === undefined) return;
    const local = this.o.locals?.[i];
    const socket = connect({
      host: peer.host,
      port: peer.port,
      ...(local ? { localAddress: local } : {}),
    });
    this.socket = socket;
    this.phase = 'connecting';
    this.connectedPath = undefined;
    const splitter = new FrameSplitter();
    const nonce = newNonce();
    let opener: FrameOpener | undefined;
    let sealer: FrameSealer | undefined;
    let refused = false;
    let established = false;
    let lost: 'reset' | 'closed' | undefined;
    socket.setNoDelay(true);
    socket.setTimeout(this.o.connectTimeoutMs ?? 1000, () => socket.destroy(new Error('connect timeout')));
    const send = (msg: ReplMessage) => {
      if (sealer !== undefined && !socket.destroyed) socket.write(sealer.seal(msg));
    };
    socket.on('connect', () => {
      socket.setTimeout(0);
      this.phase = 'hello';
      this.lastRx = Date.now();
      // The hello is sealed with the long-term key; everything after it with the session key.
      socket.write(
        new FrameSealer(this.o.key, 'to-primary').seal({
          t: 'hello',
          v: PROTOCOL_VERSION,
          from: this.o.nodeId,
          nonce,
        }),
      );
      sealer = undefined;
      this.idleTimer = setInterval(() => {
        const silent = Date.now() - this.lastRx;
        const limit = this.o.applier.snapshotApplied ? (this.o.idleTimeoutMs ?? 3000) : 60_000;
        if (silent > limit) socket.destroy(new Error(`primary silent for ${silent} ms`));
      }, 250);
      this.idleTimer.unref();
    });
    const fail = (why: string) => socket.destroy(new Error(why));
    const onMessage = (m: ReplMessage): boolean => {
      const a = this.o.applier;
      switch (m.t) {
        case 'snap-begin':
          a.beginSnapshot(m.seq);
          return false;
        case 'snap':
          a.snapshotChunk(m.b, m.d);
          return false;
        case 'snap-end':
          a.endSnapshot(m.seq);
          this.snapshots++;
          this.failures = 0;
          this.o.log.info({ seq: m.seq, path: this.connectedPath }, 'replica: snapshot applied');
          return true;
        case 'ch':
          a.applyChanges(m.c, m.head);
          return true;
        case 'tick':
          a.noteHead(m.head);
          return true;
        default:
          throw new ReplicationProtocolError(`unexpected ${m.t}`);
      }
    };
    socket.on('data', (chunk: Buffer) => {
      this.lastRx = Date.now();
      let needAck = false;
      try {
        for (const f of splitter.push(chunk)) {
          if (socket.destroyed) return;
          if (opener === undefined) {
            // The primary's hello: its nonce completes the session key that authenticates this very frame.
            const peek = asReplMessage(peekPayload(f));
            if (peek?.t !== 'hello') return fail('expected a hello');
            const sk = sessionKey(this.o.key, nonce, peek.nonce);
            opener = new FrameOpener(sk, 'to-backup');
            const r = opener.open(f);
            if (!r.ok) return fail(`primary hello rejected: ${r.reason}`);
            if (r.msg.t !== 'hello' || r.msg.v !== PROTOCOL_VERSION) return fail('bad hello');
            const min = this.o.minFence?.() ?? 0;
            if (r.msg.fence !== undefined && r.msg.fence < min) {
              refused = true;
              this.o.log.warn(
                { fence: r.msg.fence, min },
                'replication: the primary is fenced (an older permit)',
              );
              return fail(`fenced: the primary's permit (${r.msg.fence}) is older than ${min}`);
            }
            if (r.msg.ok !== true) {
              refused = true;
              this.o.log.debug({ reason: r.msg.reason }, 'replication: peer does not serve');
              return fail(r.msg.reason ?? 'refused');
            }
            sealer = new FrameSealer(sk, 'to-primary', 1);
            send({ t: 'start' });
            this.phase = 'streaming';
            this.connectedPath = i;
            established = true;
            this.o.log.info({ peer: formatHostPort(peer), path: i }, 'replica: connected to the primary');
            this.changed();
            continue;
          }
          const r = opener.open(f);
          if (!r.ok) return fail(`frame rejected: ${r.reason} (${r.detail})`);
          if (onMessage(r.msg)) needAck = true;
        }
      } catch (err) {
        return fail(errorMessage(err));
      }
      if (needAck && this.o.applier.snapshotApplied) {
        send({ t: 'ack', seq: this.o.applier.appliedSeq });
      }
      this.changed();
    });
    // The far end went away (kernel FIN or RST), as opposed to this client giving up on it (destroy).
    socket.on('end', () => {
      lost ??= 'closed';
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNRESET') lost ??= 'reset';
      if (!refused)
        this.o.log.debug({ err: err.message, peer: formatHostPort(peer) }, 'replication link error');
    });
    socket.on('close', () => {
      clearInterval(this.idleTimer);
      if (this.synced) this.lastSyncedAt = Date.now();
      if (this.socket === socket) this.socket = undefined;
      this.phase = 'closed';
      this.connectedPath = undefined;
      this.o.applier.disconnected();
      if (established) this.o.log.info({ path: i }, 'replica: disconnected from the primary');
      if (established && !refused && lost !== undefined && this.running) this.o.onConnLost?.(lost);
      this.changed();
      if (!this.running) return;
      // A peer that answered but does not serve (not primary yet) is retried on the same path after a pause;
      // a broken path gives way to the next one at once, and a full round of failures waits.
      let delay = this.o.retryMs ?? 200;
      if (!refused) {
        this.path = i + 1;
        if (established) {
          this.failures = 0;
          delay = 50;
        } else if (++this.failures < this.o.peers.length) delay = 0;
        else this.failures = 0;
      }
      clearTimeout(this.retryTimer);
      this.retryTimer = setTimeout(() => this.connectNow(), delay);
      this.retryTimer.unref();
    });
  }

  /** Tells the owner when the connection or the synced state flips. */
  private changed(): void {
    const c = this.connected;
    const s = this.synced;
    if (s) this.lastSyncedAt = Date.now();
    if (c === this.wasConnected && s === this.wasSynced) return;
    this.wasConnected = c;
    this.wasSynced = s;
    this.o.onChange?.();
  }
}
