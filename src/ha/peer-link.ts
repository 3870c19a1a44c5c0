// The HA link to the peer node: one UDP socket per configured path (ha.listen[i] → ha.peer[i], one per NIC),
// heartbeats every heartbeat_ms on every path, every datagram authenticated (src/ha/wire.ts). The peer is dead
// after dead_after_ms of silence on *all* paths: losing one NIC is a path alarm, not a failover (VRRP declares
// the master down after 3 × advert interval + skew; here dead_after_ms is that number, configured directly).
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { formatHostPort, type HostPort, parseHostPort } from '../net/address.js';
import {
  checkFresh,
  decode,
  encode,
  type PeerBody,
  type PeerMessage,
  type RejectReason,
  type ReplayState,
} from './wire.js';

export interface PeerLinkOptions {
  id: string;
  /** ha.listen and ha.peer, zipped. */
  paths: ReadonlyArray<{ listen: string; peer: string }>;
  key: Buffer;
  heartbeatMs: number;
  deadAfterMs: number;
  /** Largest accepted difference between the sender's clock and ours (stale messages are rejected). */
  maxSkewMs: number;
  /** The heartbeat body to send now (role, term…). */
  heartbeat: () => Extract<PeerBody, { type: 'hb' }>;
  /** Every accepted message, in arrival order. */
  onMessage: (msg: PeerMessage, path: number) => void;
  /** 'alive' on the first message after silence, 'dead' after dead_after_ms of silence on every path. */
  onPeerStatus: (status: 'alive' | 'dead') => void;
  onReject?: (reason: RejectReason, detail: string, path: number) => void;
  now?: () => number;
}

export interface PathStatus {
  listen: string;
  peer: string;
  alive: boolean;
  /** ms since the last accepted message on this path, null when none yet. */
  lastHeardAgoMs: number | null;
  sent: number;
  received: number;
  sendErrors: number;
}

export interface PeerLinkStatus {
  peer: 'unknown' | 'alive' | 'dead';
  peerId: string | null;
  paths: PathStatus[];
  rejected: Record<RejectReason, number>;
  /** Windows added because this process itself had stalled when the peer's silence came due. */
  stalls: number;
}

interface Path {
  listen: HostPort;
  peer: HostPort;
  socket: Socket;
  lastHeard: number | null;
  sent: number;
  received: number;
  sendErrors: number;
}

export class PeerLink {
  private readonly paths: Path[];
  private readonly now: () => number;
  /** Our incarnation: a restart starts a new sequence, which the peer's replay window accepts. */
  private readonly inc: number;
  private seq = 0;
  private replay: ReplayState | undefined;
  private peerId: string | null = null;
  private state: 'unknown' | 'alive' | 'dead' = 'unknown';
  private deadTimer: NodeJS.Timeout | undefined;
  private hbTimer: NodeJS.Timeout | undefined;
  private closed = false;
  /** When the dead timer is due (it is refreshed by every accepted message). */
  private deadDueAt = 0;
  /** Times the dead timer fired late because this process was stalled (each bought one more window). */
  stalls = 0;
  readonly rejected: Record<RejectReason, number> = { forged: 0, replayed: 0, stale: 0, malformed: 0 };

  constructor(private readonly opts: PeerLinkOptions) {
    this.now = opts.now ?? Date.now;
    this.inc = this.now();
    this.paths = opts.paths.map((p, i) => {
      const listen = parseHostPort(p.listen);
      const peer = parseHostPort(p.peer);
      const socket = createSocket({ type: listen.family === 6 ? 'udp6' : 'udp4' });
      socket.on('message', (buf) => this.receive(buf, i));
      // A send to an unreachable path reports here on some platforms: count it, the other paths carry on.
      socket.on('error', () => {
        const path = this.paths[i];
        if (path !== undefined) path.sendErrors++;
      });
      return { listen, peer, socket, lastHeard: null, sent: 0, received: 0, sendErrors: 0 };
    });
  }

  async start(): Promise<void> {
    await Promise.all(
      this.paths.map(async (p) => {
        p.socket.bind(p.listen.port, p.listen.host);
        await once(p.socket, 'listening');
      }),
    );
    // From now on, dead_after_ms of silence means dead, also when nothing was ever heard.
    this.deadTimer = setTimeout(() => this.declareDead(), this.opts.deadAfterMs);
    this.deadDueAt = this.now() + this.opts.deadAfterMs;
    this.hbTimer = setInterval(() => this.sendHeartbeat(), this.opts.heartbeatMs);
    this.sendHeartbeat();
  }

  /** Sends a heartbeat now (on a role change the peer must not wait for the next interval). */
  sendHeartbeat(): void {
    this.send(this.opts.heartbeat());
  }

  /** Sends body on every path; each copy has its own sequence number. */
  send(body: PeerBody): void {
    if (this.closed) return;
    this.paths.forEach((p, i) => {
      const msg: PeerMessage = {
        from: this.opts.id,
        inc: this.inc,
        seq: ++this.seq,
        ts: this.now(),
        path: i,
        body,
      };
      const buf = encode(msg, this.opts.key);
      p.sent++;
      try {
        p.socket.send(buf, p.peer.port, p.peer.host, (err) => {
          if (err) p.sendErrors++;
        });
      } catch {
        // A socket closed at stop: a lost heartbeat, not a crash.
        p.sendErrors++;
      }
    });
  }

  status(): PeerLinkStatus {
    const now = this.now();
    return {
      peer: this.state,
      peerId: this.peerId,
      paths: this.paths.map((p) => ({
        listen: formatHostPort(p.listen),
        peer: formatHostPort(p.peer),
        alive: p.lastHeard !== null && now - p.lastHeard < this.opts.deadAfterMs,
        lastHeardAgoMs: p.lastHeard === null ? null : now - p.lastHeard,
        sent: p.sent,
        received: p.received,
        sendErrors: p.sendErrors,
      })),
      rejected: { ...this.rejected },
      stalls: this.stalls,
    };
  }

  /**
   * Forgets a 'dead' verdict reached while this node's own link was down: the peer is unknown again and is declared
   * dead only after a fresh dead_after_ms of silence (or alive on its next message).
   */
  forgetDeadPeer(): void {
    if (this.closed || this.state !== 'dead') return;
    this.state = 'unknown';
    clearTimeout(this.deadTimer);
    this.deadTimer = setTimeout(() => this.declareDead(), this.opts.deadAfterMs);
  }

  get peerStatus(): 'unknown' | 'alive' | 'dead' {
    return this.state;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.deadTimer);
    clearInterval(this.hbTimer);
    await Promise.all(this.paths.map((p) => new Promise<void>((res) => p.socket.close(() => res()))));
  }

  private receive(buf: Buffer, pathIndex: number): void {
    if (this.closed) return;
    const d = decode(buf, this.opts.key);
    if (!d.ok) {
      this.reject(d.reason, d.detail, pathIndex);
      return;
    }
    const msg = d.msg;
    // Our own datagrams reflected back pass the HMAC (the key is shared): they are forgeries all the same.
    if (msg.from === this.opts.id) {
      this.reject('forged', 'reflected: sender is this node', pathIndex);
      return;
    }
    if (this.peerId !== null && msg.from !== this.peerId && this.state === 'alive') {
      this.reject('forged', `unexpected sender ${msg.from} while ${this.peerId} is alive`, pathIndex);
      return;
    }
    const fresh = checkFresh(this.replay, msg, this.now(), this.opts.maxSkewMs);
    if (!fresh.ok) {
      this.reject(fresh.reason, fresh.detail, pathIndex);
      return;
    }
    this.replay = fresh.next;
    this.peerId = msg.from;
    const path = this.paths[pathIndex];
    if (path !== undefined) {
      path.lastHeard = this.now();
      path.received++;
    }
    this.armDead();
    if (this.state !== 'alive') {
      this.state = 'alive';
      this.opts.onPeerStatus('alive');
    }
    this.opts.onMessage(msg, pathIndex);
  }

  private armDead(): void {
    this.deadTimer?.refresh();
    this.deadDueAt = this.now() + this.opts.deadAfterMs;
  }

  private reject(reason: RejectReason, detail: string, path: number): void {
    this.rejected[reason]++;
    this.opts.onReject?.(reason, detail, path);
  }

  private declareDead(): void {
    if (this.closed || this.state === 'dead') return;
    // A timer that fires well past its due time means this process did not run (SIGSTOP, a frozen VM, a
    // stalled loop): the silence is ours, not the peer's, and what waited in the socket is stale by now. A
    // frozen backup that woke up and took over would depose a healthy primary. Listen for one more window.
    const late = this.now() - this.deadDueAt;
    if (late > Math.max(this.opts.heartbeatMs, this.opts.deadAfterMs / 2)) {
      this.stalls++;
      this.armDead();
      return;
    }
    this.state = 'dead';
    this.opts.onPeerStatus('dead');
  }
}
