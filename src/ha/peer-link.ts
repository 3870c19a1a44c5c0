// The HA link to the peer node: one UDP socket per configured path (ha.listen[i] → ha.peer[i], one per NIC),
// every datagram authenticated and checked for replay (src/ha/wire.ts). The link only authenticates, delivers
// and sends: whether the peer is alive or dead is the role machine's decision (silence counted in ticks, after
// dead_after_ms on *all* paths — losing one NIC is a path alarm, not a failover, as VRRP's Master_Down_Interval).
//
// Each path sends from a second socket, bound to the listen address and connected to the peer: only a connected
// UDP socket hears the ICMP port unreachable (RFC 792; RFC 1122 §3.2.2.1) that the peer's kernel answers when no
// process listens there. Node 20 reports it as an 'error' event with code ECONNREFUSED (syscall recvmsg) after the
// send, whose callback itself succeeds. The listen socket stays unconnected: connected, it would take datagrams
// from the peer address only, and a peer that sends from elsewhere (a relay, NAT) would go unheard.
// Connecting needs a route to the peer now (a blackhole or unreachable route fails it with EINVAL or
// ENETUNREACH: a NIC still down at boot, a firewall's blackhole): until it succeeds, the path sends from its
// listen socket, unconnected, and tries to connect again every CONNECT_RETRY_MS. A node must start with its HA
// link down; it is the role machine's business what that means.
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
  /** Only for the per-path status: a path is shown alive when heard within this window. */
  deadAfterMs: number;
  /** Largest accepted difference between the sender's clock and ours (stale messages are rejected). */
  maxSkewMs: number;
  /** Every accepted message, in arrival order. */
  onMessage: (msg: PeerMessage, path: number) => void;
  onReject?: (reason: RejectReason, detail: string, path: number) => void;
  /** The peer's kernel refused a heartbeat on `path` (ICMP port unreachable): unauthenticated evidence. */
  onRefused?: (path: number) => void;
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
  /** Heartbeats answered with ICMP port unreachable (ECONNREFUSED on the connected send socket). */
  refused: number;
}

/** The node's view of its link to the peer; a test gives the node a link of its own. */
export interface PeerChannel {
  start(): Promise<void>;
  /** Sends body on every path. */
  send(body: PeerBody): void;
  status(): PeerPathsStatus;
  close(): Promise<void>;
}

export interface PeerPathsStatus {
  peerId: string | null;
  paths: PathStatus[];
  rejected: Record<RejectReason, number>;
}

export interface PeerLinkStatus extends PeerPathsStatus {
  /** The role machine's verdict on the peer. */
  peer: 'unknown' | 'alive' | 'dead';
  /** Windows added because this process itself had stalled when the peer's silence came due. */
  stalls: number;
  /** Signs that the peer's process is gone, since start: ICMP port unreachable, replication TCP closed or reset. */
  peerGone: Record<'icmp' | 'tcp', number>;
}

/** How often a path whose send socket could not connect tries again. */
export const CONNECT_RETRY_MS = 1000;

interface Path {
  listen: HostPort;
  peer: HostPort;
  socket: Socket;
  /** Connected to the peer, send-only: it hears the peer's ICMP errors. */
  sender: Socket;
  senderState: 'unconnected' | 'connecting' | 'connected';
  lastConnectTry: number;
  lastHeard: number | null;
  sent: number;
  received: number;
  sendErrors: number;
  refused: number;
}

export class PeerLink implements PeerChannel {
  private readonly paths: Path[];
  private readonly now: () => number;
  /** Our incarnation: a restart starts a new sequence, which the peer's replay window accepts. */
  private readonly inc: number;
  private seq = 0;
  private replay: ReplayState | undefined;
  private peerId: string | null = null;
  /** The newest message delivered: its sender's incarnation and sequence number. */
  private delivered = { inc: 0, seq: 0 };
  /** When any path last heard the peer. */
  private lastHeard: number | null = null;
  private closed = false;
  readonly rejected: Record<RejectReason, number> = { forged: 0, replayed: 0, stale: 0, malformed: 0 };

  constructor(private readonly opts: PeerLinkOptions) {
    this.now = opts.now ?? Date.now;
    this.inc = this.now();
    this.paths = opts.paths.map((p, i) => {
      const listen = parseHostPort(p.listen);
      const peer = parseHostPort(p.peer);
      const socket = createSocket({ type: listen.family === 6 ? 'udp6' : 'udp4' });
      socket.on('message', (buf) => this.receive(buf, i));
      socket.on('error', () => this.sendError(i));
      const sender = createSocket({ type: listen.family === 6 ? 'udp6' : 'udp4' });
      // Nothing is sent to the sender's own port; whatever arrives there is not the peer's protocol.
      sender.on('message', () => {});
      sender.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'ECONNREFUSED') this.refusedOn(i);
        else this.sendError(i);
      });
      return {
        listen,
        peer,
        socket,
        sender,
        senderState: 'unconnected' as const,
        lastConnectTry: 0,
        lastHeard: null,
        sent: 0,
        received: 0,
        sendErrors: 0,
        refused: 0,
      };
    });
  }

  async start(): Promise<void> {
    await Promise.all(
      this.paths.map(async (p) => {
        p.socket.bind(p.listen.port, p.listen.host);
        await once(p.socket, 'listening');
        p.sender.bind(0, p.listen.host);
        await once(p.sender, 'listening');
        await this.connectSender(p);
      }),
    );
  }

  /** Connects the path's send socket; resolves either way (a failure leaves it to the next try). */
  private connectSender(p: Path): Promise<void> {
    if (p.senderState !== 'unconnected' || this.closed) return Promise.resolve();
    p.senderState = 'connecting';
    p.lastConnectTry = Date.now();
    return new Promise<void>((resolve) => {
      try {
        // The callback gets the error, if any (it is also emitted as 'error', counted as a send error).
        p.sender.connect(p.peer.port, p.peer.host, (err?: Error) => {
          p.senderState = err ? 'unconnected' : 'connected';
          resolve();
        });
      } catch {
        p.senderState = 'unconnected';
        resolve();
      }
    });
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
      const done = (err: Error | null) => {
        if (err) p.sendErrors++;
      };
      try {
        if (p.senderState === 'connected') p.sender.send(buf, done);
        else {
          // Not connected yet (no route at start): sent all the same, without the ICMP hearing.
          p.socket.send(buf, p.peer.port, p.peer.host, done);
          if (Date.now() - p.lastConnectTry >= CONNECT_RETRY_MS) void this.connectSender(p);
        }
      } catch {
        // A socket closed at stop: a lost heartbeat, not a crash.
        p.sendErrors++;
      }
    });
  }

  status(): PeerPathsStatus {
    const now = this.now();
    return {
      peerId: this.peerId,
      paths: this.paths.map((p) => ({
        listen: formatHostPort(p.listen),
        peer: formatHostPort(p.peer),
        alive: p.lastHeard !== null && now - p.lastHeard < this.opts.deadAfterMs,
        lastHeardAgoMs: p.lastHeard === null ? null : now - p.lastHeard,
        sent: p.sent,
        received: p.received,
        sendErrors: p.sendErrors,
        refused: p.refused,
      })),
      rejected: { ...this.rejected },
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const closing = (s: Socket) =>
      new Promise<void>((res) => {
        try {
          s.close(() => res());
        } catch {
          res(); // never bound (a link closed before it started)
        }
      });
    await Promise.all(this.paths.flatMap((p) => [closing(p.socket), closing(p.sender)]));
  }

  /** A send to an unreachable path reports here on some platforms: count it, the other paths carry on. */
  private sendError(i: number): void {
    const path = this.paths[i];
    if (path !== undefined) path.sendErrors++;
  }

  private refusedOn(i: number): void {
    const path = this.paths[i];
    if (path === undefined || this.closed) return;
    path.refused++;
    this.opts.onRefused?.(i);
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
    const heardRecently = this.lastHeard !== null && this.now() - this.lastHeard < this.opts.deadAfterMs;
    if (this.peerId !== null && msg.from !== this.peerId && heardRecently) {
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
    this.lastHeard = this.now();
    // Every message goes out once per path; a copy that took the slow path must not undo what a newer message
    // said on the fast one (a stale "backup" heard after "primary" would start an election). Authentic, heard,
    // but not delivered.
    if (msg.inc < this.delivered.inc || (msg.inc === this.delivered.inc && msg.seq <= this.delivered.seq))
      return;
    this.delivered = { inc: msg.inc, seq: msg.seq };
    this.opts.onMessage(msg, pathIndex);
  }

  private reject(reason: RejectReason, detail: string, path: number): void {
    this.rejected[reason]++;
    this.opts.onReject?.(reason, detail, path);
  }
}
