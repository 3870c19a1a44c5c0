// A SIP worker among several on one node (`sip.workers`): its sibling mesh, the steering of what it receives to
// each message's home worker, the relay of connection-bound sends to worker 0, and the shared registrations and
// calls (README "Every core"). Why this shape: Node 20's dgram has no SO_REUSEPORT, node:cluster shares one UDP
// socket among the workers with no affinity, and a connection cannot be shared — so whichever worker reads a
// message hands it to its home (steering.ts), which owns its transactions and dialog.
import type { Logger } from 'pino';
import { AckBarrier } from '../ha/replication/ack-barrier.js';
import { adaptStores } from '../ha/replication/store-adapter.js';
import type { WorkerReplication } from '../ha/replication/worker-replication.js';
import type { WorkerIdentity } from '../ha/worker-env.js';
import type { SiblingStatus } from '../ha/worker-ipc.js';
import type { CommitGate } from '../server/commit-gate.js';
import type { SipServer } from '../server/sip-server.js';
import type { Framing } from '../sip/parser.js';
import type { Endpoint, Source } from '../sip/transport/types.js';
import { systemClock } from '../time/clock.js';
import type { Frame } from './sibling-frames.js';
import { FrameKind } from './sibling-frames.js';
import { SiblingMesh } from './sibling-mesh.js';
import { StateKeeper, StateMember, type StateMessage, type StatePort } from './state-sync.js';
import { homeWorker, liveHome } from './steering.js';
import { type SendFailed, StreamRelayClient, type StreamSend } from './stream-relay.js';

interface MessageHead {
  s: Source;
  f: Framing;
}

const KEEPER = 0;
/** The most a member's confirming response waits for the keeper (a keeper that answers: well under a ms). */
const VISIBLE_WAIT_MS = 100;

export class WorkerSiblings {
  private readonly mesh: SiblingMesh;
  private readonly keeper: StateKeeper | undefined;
  private readonly member: StateMember | undefined;
  private readonly relay: StreamRelayClient | undefined;
  private barrier: AckBarrier | undefined;

  constructor(
    private readonly server: SipServer,
    private readonly id: WorkerIdentity,
    log: Logger,
  ) {
    const port: StatePort = {
      // State frames are batched per turn already; they leave at once (a response may be waiting on them).
      send: (to: number, m: StateMessage) => this.mesh.send(to, FrameKind.state, m, undefined, false, true),
    };
    const stores = adaptStores(server, 'sibling');
    if (id.index === KEEPER) this.keeper = new StateKeeper(stores, port);
    else {
      this.member = new StateMember(stores, port);
      this.relay = new StreamRelayClient((head, bytes) =>
        this.mesh.send(KEEPER, FrameKind.streamSend, head, bytes),
      );
    }
    this.mesh = new SiblingMesh({
      index: id.index,
      count: id.count,
      dir: id.meshDir,
      log,
      onFrame: (from, frame) => this.onFrame(from, frame),
      onPeer: (to, up) => {
        if (this.keeper !== undefined) this.keeper.onLink(to, up);
        else if (to === KEEPER) {
          this.member?.onKeeperLink(up);
          // No keeper, no backup to wait for: what waits goes now.
          if (!up) this.barrier?.releaseAll();
        }
      },
    });
  }

  /** Once the server serves: from then on every message it receives is steered, and its siblings steer to it. */
  async start(): Promise<void> {
    this.keeper?.start();
    this.member?.start();
    await this.mesh.start();
    const t = this.server.transport;
    const { index, count } = this.id;
    t.steer = (bytes, source, framing) => {
      const home = homeWorker(bytes, count);
      if (home === undefined || home === index) return false;
      const to = liveHome(home, index, count, (j) => this.mesh.isUp(j));
      if (to === index) return false;
      const head: MessageHead = { s: source, f: framing };
      return this.mesh.send(to, FrameKind.message, head, bytes, true);
    };
    const relay = this.relay;
    if (relay !== undefined)
      t.streamRelay = (bytes, to, connectionId, onError) => relay.send(bytes, to, connectionId, onError);
  }

  /** The keeper's replication to the backup node: members' changes are acknowledged as the backup acknowledges. */
  attachReplication(r: WorkerReplication, ackWaitMs: number): void {
    const keeper = this.keeper;
    if (keeper === undefined) return;
    keeper.attachReplication({
      get lastSeq() {
        return r.source.lastSeq;
      },
      get ackedSeq() {
        return r.source.ackedSeq;
      },
      get waitable() {
        return ackWaitMs > 0 && r.source.connected && r.source.synced;
      },
    });
    r.onAcked = () => keeper.checkAcks();
  }

  /**
   * The SIP server's commit gate with several workers: a confirming response (a REGISTER's 200, the 2xx of a call)
   * waits until its change has been sent on to every other worker — registered means callable through any of them —
   * and, in a pair with `ha.replication.ack_wait_ms`, until the backup has it (for a member, through the keeper).
   * `replicationGate`: the keeper's own replication barrier, when it waits for the backup.
   */
  commitGate(active: () => boolean, ackWaitMs: number, replicationGate?: CommitGate): CommitGate {
    const keeper = this.keeper;
    if (keeper !== undefined)
      return {
        afterChange: () => {
          const flushed = active() ? keeper.nextFlush() : undefined;
          const replicated = replicationGate?.afterChange();
          if (replicated === undefined) return flushed;
          return flushed === undefined ? replicated : Promise.all([flushed, replicated]).then(() => {});
        },
      };
    const member = this.member as StateMember;
    const barrier = new AckBarrier({
      source: member.ackSource,
      waitMs: Math.max(ackWaitMs, VISIBLE_WAIT_MS),
      clock: systemClock,
      active,
    });
    member.onAcked = () => barrier.onAck();
    this.barrier = barrier;
    return barrier;
  }

  /** Resolves once this worker's changes have reached the keeper (the keeper: at once). */
  flush(timeoutMs: number): Promise<boolean> {
    return this.member?.flushToKeeper(timeoutMs) ?? Promise.resolve(true);
  }

  status(): SiblingStatus {
    const c = this.server.transport.counters;
    let up = 0;
    for (let j = 0; j < this.id.count; j++) if (j !== this.id.index && this.mesh.isUp(j)) up++;
    return {
      index: this.id.index,
      count: this.id.count,
      siblingsUp: up,
      steeredOut: c.steeredOut,
      steeredIn: c.steeredIn,
      steerDropped: this.mesh.dropped,
      messagesIn: c.messagesIn,
      bindings: this.server.location.size,
      dialogs: this.server.dialogs.size,
      state:
        this.keeper !== undefined
          ? { role: 'keeper', synced: true, seq: this.keeper.lastSeq, members: this.keeper.members }
          : { role: 'member', synced: this.member?.synced ?? false, seq: this.member?.appliedSeq ?? 0 },
    };
  }

  async close(): Promise<void> {
    this.barrier?.releaseAll();
    this.keeper?.stop();
    this.member?.stop();
    this.relay?.close();
    await this.mesh.close();
  }

  private onFrame(from: number, frame: Frame): void {
    switch (frame.kind) {
      case FrameKind.message: {
        const h = frame.head as MessageHead;
        this.server.transport.receiveFromSibling(frame.body, h.s, h.f);
        return;
      }
      case FrameKind.streamSend: {
        const h = frame.head as StreamSend;
        this.server.transport.sendForSibling(frame.body, h.to, h.connectionId, (err: Error) => {
          if (h.id === 0) return;
          const failed: SendFailed = { id: h.id, name: err.name, message: err.message, to: h.to as Endpoint };
          this.mesh.send(from, FrameKind.sendFailed, failed);
        });
        return;
      }
      case FrameKind.sendFailed:
        this.relay?.failed(frame.head as SendFailed);
        return;
      case FrameKind.state:
        if (this.keeper !== undefined) this.keeper.onMessage(from, frame.head);
        else if (from === KEEPER) this.member?.onMessage(frame.head);
        return;
    }
  }
}
