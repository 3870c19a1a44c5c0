// The primary's end of the replication link: a TCP server on the HA path addresses. A backup that proves it knows
// the key gets a snapshot of every binding and dialog, then the change stream; its acks feed the source.
// One backup at a time: a newly authenticated connection replaces the old one (a reconnecting backup).
import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { familyOf, formatHostPort, type HostPort } from '../../net/address.js';
import { errorMessage } from '../../net/errors.js';
import { toWireBinding, toWireDialog } from './convert.js';
import { FrameOpener, FrameSealer, FrameSplitter, newNonce, sessionKey } from './frame.js';
import { PROTOCOL_VERSION, type ReplMessage, type WireChange } from './messages.js';
import type { ReplicatedStores } from './replicated-stores.js';
import type { PendingChange, ReplicationSource } from './source.js';

export interface ReplicationListenerOptions {
  key: Buffer;
  nodeId: string;
  listen: readonly HostPort[];
  stores: ReplicatedStores;
  source: ReplicationSource;
  /** Only a primary serves; a backup answers the hello with a refusal. */
  isPrimary: () => boolean;
  /** Cluster mode: this node's fencing token, told in the hello (0: none, not told). */
  fence?: () => number;
  log: Logger;
  /** Called when a session starts, finishes its snapshot, acks or ends. */
  onSessionChange?: () => void;
  onAck?: () => void;
  tickMs?: number;
  idleTimeoutMs?: number;
  snapshotChunk?: number;
  monoNow?: () => number;
  epochNow?: () => number;
}

const MAX_CHANGES_PER_FRAME = 1000;
/** The backup says nothing while it applies a big snapshot: allow it more silence then. */
const SNAPSHOT_IDLE_MS = 60_000;

export function toWireChange(p: PendingChange, mono: number, epoch: number): WireChange {
  const c = p.change;
  switch (c.k) {
    case 'b':
      return { s: p.seq, k: 'b', b: toWireBinding(c.binding, mono) };
    case 'u':
      return { s: p.seq, k: 'u', aor: c.aor, contact: c.contact };
    case 'd':
      return { s: p.seq, k: 'd', d: toWireDialog(c.dialog, epoch) };
    case 'e':
      return { s: p.seq, k: 'e', id: c.id };
  }
}

export class ReplicationListener {
  private readonly servers: Server[] = [];
  private active: BackupSession | undefined;
  private readonly sessions = new Set<BackupSession>();

  constructor(readonly o: ReplicationListenerOptions) {}

  async start(): Promise<void> {
    for (const l of this.o.listen) {
      const server = createServer((socket) => this.accept(socket));
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        // Exclusive: with several SIP workers (node:cluster) the keeper alone listens, not the node for it.
        server.listen({ host: l.host, port: l.port, exclusive: true }, () => {
          server.off('error', reject);
          resolve();
        });
      });
      server.on('error', (err) => this.o.log.error({ err }, 'replication server error'));
      this.servers.push(server);
      this.o.log.info({ listen: formatHostPort(l) }, 'replication listening');
    }
  }

  /** Bound addresses (tests use port 0). */
  get addresses(): HostPort[] {
    const out: HostPort[] = [];
    for (const s of this.servers) {
      const a = s.address();
      if (typeof a === 'object' && a !== null)
        out.push({ host: a.address, port: a.port, family: familyOf(a.address) });
    }
    return out;
  }

  get hasSession(): boolean {
    return this.active !== undefined;
  }

  /** Ends the backup's session (e.g. on demotion: this node no longer serves). */
  dropSessions(reason: string): void {
    for (const s of [...this.sessions]) s.close(reason);
  }

  async stop(): Promise<void> {
    this.dropSessions('stopping');
    await Promise.all(this.servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
    this.servers.length = 0;
  }

  private accept(socket: Socket): void {
    const session = new BackupSession(this, socket);
    this.sessions.add(session);
    socket.on('close', () => {
      this.sessions.delete(session);
      if (this.active === session) {
        this.active = undefined;
        this.o.source.endSession();
        this.o.source.onPending = () => {};
        this.o.onSessionChange?.();
      }
    });
  }

  /** A backup authenticated: it becomes the one backup being served. */
  activate(session: BackupSession): void {
    if (this.active !== undefined && this.active !== session) {
      const old = this.active;
      this.active = undefined;
      old.close('replaced by a new connection');
    }
    this.active = session;
  }

  isActive(session: BackupSession): boolean {
    return this.active === session;
  }
}

type Phase = 'hello' | 'auth' | 'snapshot' | 'streaming' | 'closed';

class BackupSession {
  private phase: Phase = 'hello';
  private readonly splitter = new FrameSplitter();
  private opener: FrameOpener;
  private sealer: FrameSealer | undefined;
  private lastRx: number;
  private readonly timer: NodeJS.Timeout;
  private flushScheduled = false;
  private blocked = false;
  private readonly peer: string;

  constructor(
    private readonly owner: ReplicationListener,
    private readonly socket: Socket,
  ) {
    const o = owner.o;
    this.peer = formatHostPort({ host: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 });
    this.opener = new FrameOpener(o.key, 'to-primary');
    this.lastRx = Date.now();
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => o.log.debug({ err, peer: this.peer }, 'replication connection error'));
    socket.on('close', () => {
      this.phase = 'closed';
      clearInterval(this.timer);
    });
    socket.on('drain', () => {
      this.blocked = false;
      this.scheduleFlush();
    });
    this.timer = setInterval(() => this.tick(), o.tickMs ?? 250);
    this.timer.unref();
  }

  close(reason: string): void {
    if (this.phase === 'closed') return;
    this.owner.o.log.info({ peer: this.peer, reason }, 'replication connection closed');
    this.phase = 'closed';
    clearInterval(this.timer);
    this.socket.destroy();
  }

  private send(msg: ReplMessage): boolean {
    if (this.sealer === undefined || this.phase === 'closed') return false;
    const ok = this.socket.write(this.sealer.seal(msg));
    if (!ok) this.blocked = true;
    return ok;
  }

  private onData(chunk: Buffer): void {
    this.lastRx = Date.now();
    let frames: Buffer[];
    try {
      frames = this.splitter.push(chunk);
    } catch (err) {
      this.close(errorMessage(err));
      return;
    }
    for (const f of frames) {
      if (this.phase === 'closed') return;
      const r = this.opener.open(f);
      if (!r.ok) {
        this.owner.o.log.warn(
          { peer: this.peer, reason: r.reason, detail: r.detail },
          'replication frame rejected',
        );
        this.close(`frame rejected: ${r.reason}`);
        return;
      }
      this.onMessage(r.msg);
    }
  }

  private onMessage(m: ReplMessage): void {
    const o = this.owner.o;
    if (this.phase === 'hello') {
      if (m.t !== 'hello' || m.v !== PROTOCOL_VERSION) {
        this.close('expected a hello');
        return;
      }
      if (m.from === o.nodeId) {
        this.close('connected to itself: check ha.peer');
        return;
      }
      const nonce = newNonce();
      const sk = sessionKey(o.key, m.nonce, nonce);
      this.sealer = new FrameSealer(sk, 'to-backup');
      this.opener = new FrameOpener(sk, 'to-primary', 1);
      const serving = o.isPrimary();
      const hello: ReplMessage = { t: 'hello', v: PROTOCOL_VERSION, from: o.nodeId, nonce, ok: serving };
      if (!serving) hello.reason = 'not primary';
      const fence = o.fence?.() ?? 0;
      if (fence > 0) hello.fence = fence;
      this.send(hello);
      if (!serving) {
        this.phase = 'closed';
        this.socket.end();
        return;
      }
      this.phase = 'auth';
      return;
    }
    if (this.phase === 'auth') {
      if (m.t !== 'start') {
        this.close('expected start');
        return;
      }
      if (!o.isPrimary()) {
        this.close('no longer primary');
        return;
      }
      o.log.info({ peer: this.peer }, 'backup connected: sending the snapshot');
      this.owner.activate(this);
      void this.sendSnapshot();
      return;
    }
    if (m.t === 'ack' && this.phase === 'streaming') {
      const r = o.source.ack(m.seq);
      if (!r.ok) {
        this.close(`bad ack: ${r.detail}`);
        return;
      }
      o.onAck?.();
      return;
    }
    this.close(`unexpected ${m.t} in ${this.phase}`);
  }

  private async sendSnapshot(): Promise<void> {
    const o = this.owner.o;
    const mono = o.monoNow ?? (() => performance.now());
    const epoch = o.epochNow ?? Date.now;
    this.phase = 'snapshot';
    const started = Date.now();
    // One synchronous capture: the snapshot is the state after change `seq`, later changes queue in the source.
    const seq = o.source.beginSession();
    o.source.onPending = () => this.scheduleFlush();
    const { bindings, dialogs } = o.stores.snapshot();
    o.onSessionChange?.();
    this.send({ t: 'snap-begin', seq, bindings: bindings.length, dialogs: dialogs.length });
    const chunk = o.snapshotChunk ?? 1000;
    for (let i = 0; i < Math.max(bindings.length, dialogs.length); i += chunk) {
      if (this.phase !== 'snapshot') return;
      // Remaining lifetimes are computed as each chunk leaves, so time spent queued does not lengthen them.
      const m = mono();
      const e = epoch();
      this.send({
        t: 'snap',
        b: bindings.slice(i, i + chunk).map((b) => toWireBinding(b, m)),
        d: dialogs.slice(i, i + chunk).map((d) => toWireDialog(d, e)),
      });
      // Let the SIP traffic through between chunks, and do not outrun the socket.
      await (this.blocked ? this.waitDrain() : new Promise<void>((r) => setImmediate(r)));
    }
    if (this.phase !== 'snapshot') return;
    this.send({ t: 'snap-end', seq });
    this.phase = 'streaming';
    this.lastRx = Date.now();
    o.log.info(
      { peer: this.peer, seq, bindings: bindings.length, dialogs: dialogs.length, ms: Date.now() - started },
      'snapshot sent',
    );
    this.scheduleFlush();
  }

  private waitDrain(): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        this.socket.off('drain', done);
        this.socket.off('close', done);
        resolve();
      };
      this.socket.on('drain', done);
      this.socket.on('close', done);
    });
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || this.phase !== 'streaming') return;
    this.flushScheduled = true;
    // setImmediate: the changes of one REGISTER (several contacts) or one burst of packets travel in one frame.
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    const o = this.owner.o;
    if (this.phase !== 'streaming' || this.blocked) return;
    if (o.source.overflowed) {
      this.close('backup too slow: change queue overflowed');
      return;
    }
    const pending = o.source.takePending();
    if (pending.length === 0) return;
    const mono = (o.monoNow ?? (() => performance.now()))();
    const epoch = (o.epochNow ?? Date.now)();
    for (let i = 0; i < pending.length; i += MAX_CHANGES_PER_FRAME) {
      const c = pending.slice(i, i + MAX_CHANGES_PER_FRAME).map((p) => toWireChange(p, mono, epoch));
      this.send({ t: 'ch', head: o.source.lastSeq, c });
    }
  }

  private tick(): void {
    if (this.phase === 'closed') return;
    const o = this.owner.o;
    const silent = Date.now() - this.lastRx;
    const limit = this.phase === 'snapshot' ? SNAPSHOT_IDLE_MS : (o.idleTimeoutMs ?? 3000);
    if (silent > limit) {
      this.close(`backup silent for ${silent} ms`);
      return;
    }
    if (this.owner.isActive(this) && o.source.overflowed) {
      this.close('backup too slow: change queue overflowed');
      return;
    }
    if (this.phase === 'hello' || this.phase === 'auth') return;
    if (this.phase === 'streaming' && this.owner.isActive(this) && !this.blocked)
      this.send({ t: 'tick', head: o.source.lastSeq });
  }
}
