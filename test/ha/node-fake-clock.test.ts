// Two node supervisors on one fake clock, like etcd-io/raft's interaction tests: the peer link, the SIP workers
// and the VIP are in memory and time only moves when the test says so. Nothing sleeps; each step is exact.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { pino } from 'pino';
import { configSchema } from '../../src/config/schema.js';
import { HaNode } from '../../src/ha/node.js';
import type { PeerChannel } from '../../src/ha/peer-link.js';
import { FIRST_SERVED_WAIT_MS } from '../../src/ha/timeline.js';
import { FAST_DEAD_HEARTBEATS } from '../../src/ha/timers.js';
import type { PeerBody, PeerMessage } from '../../src/ha/wire.js';
import type { WorkerEvents, WorkerPort } from '../../src/ha/worker-supervisor.js';
import { FakeClock } from '../../src/time/clock.js';
import type { VipDriver } from '../../src/vip/driver.js';

const HB = 50;
const DEAD = 200;
const EPOCH = 1_800_000_000_000;

/** The network between the two nodes: 1 ms each way, and each direction can be cut. */
class Net {
  readonly cut = { ab: false, ba: false };
  /** The node's process is gone, its host up: its kernel refuses what is sent to it (ICMP port unreachable). */
  readonly gone = { a: false, b: false };
  readonly deliver: Record<string, (m: PeerMessage) => void> = {};
  readonly refused: Record<string, (path: number) => void> = {};
  readonly heard: Array<{ to: string; body: PeerBody }> = [];
  private seq = 0;
  constructor(private readonly clock: FakeClock) {}

  link(id: 'a' | 'b'): (deliver: (m: PeerMessage) => void, refused: (path: number) => void) => PeerChannel {
    const other = id === 'a' ? 'b' : 'a';
    return (deliver, refused) => {
      this.deliver[id] = deliver;
      this.refused[id] = refused;
      return {
        start: async () => {},
        close: async () => {},
        status: () => ({
          peerId: other,
          paths: [],
          rejected: { forged: 0, replayed: 0, stale: 0, malformed: 0 },
        }),
        send: (body) => {
          if (this.gone[id]) return;
          if (this.gone[other]) {
            this.clock.setTimeout(() => this.refused[id]?.(0), 1);
            return;
          }
          if (this.cut[id === 'a' ? 'ab' : 'ba']) return;
          const msg: PeerMessage = { from: id, inc: 1, seq: ++this.seq, ts: this.clock.now(), path: 0, body };
          this.clock.setTimeout(() => {
            this.heard.push({ to: other, body });
            this.deliver[other]?.(msg);
          }, 1);
        },
      };
    };
  }
}

/** A SIP worker in memory: ready 5 ms after it starts, a replica report every 100 ms, drains at once. */
class MemoryWorker {
  synced = true;
  readonly roles: string[] = [];
  private events: WorkerEvents | undefined;
  private isReady = false;
  restarts = 0;
  constructor(private readonly clock: FakeClock) {}

  port(): (events: WorkerEvents) => WorkerPort {
    return (events) => {
      this.events = events;
      const w = this;
      return {
        start: () => this.start(),
        stop: async () => {},
        send: (m) => {
          if (m.type === 'role') this.roles.push(m.role);
          return true;
        },
        drain: async () => ({ ok: this.synced, detail: this.synced ? 'drained' : 'not synced' }),
        get ready() {
          return w.isReady;
        },
        status: () => ({
          pid: null,
          ready: this.isReady,
          restarts: this.restarts,
          lastPongAgoMs: 0,
          loopLagMs: 0,
        }),
      };
    };
  }

  /** The worker served its first request as primary (the real worker reports that once per promotion). */
  served(atEpochMs: number): void {
    this.events?.onMessage({ type: 'served', atEpochMs, method: 'OPTIONS' });
  }

  /** The worker dies: the node hears it at once, and it is back (restarted) 50 ms later. */
  crash(): void {
    this.isReady = false;
    this.events?.onFailed('worker exited (SIGKILL)');
    this.restarts++;
    this.clock.setTimeout(() => this.start(), 50);
  }

  private start(): void {
    this.clock.setTimeout(() => {
      this.isReady = true;
      this.events?.onReady([]);
      this.report();
    }, 5);
  }

  private report(): void {
    if (!this.isReady) return;
    this.clock.setTimeout(() => this.report(), 100);
    const role = this.roles.at(-1) === 'primary' ? 'primary' : 'backup';
    this.events?.onMessage({
      type: 'replication',
      role,
      synced: this.synced,
      connected: true,
      lastSeq: 0,
      ackedSeq: 0,
      lagP50Ms: null,
      lagP99Ms: null,
      bindings: 0,
      dialogs: 0,
      lastSyncedAgoMs: 0,
      promotedSynced: role === 'primary' ? this.synced : null,
    });
  }
}

/** The shared VIP: who holds it now and the most holders ever at once. */
class World {
  holders = new Set<string>();
  maxHolders = 0;
  vip(host: string): VipDriver {
    const w = this;
    return {
      name: 'script',
      announcing: false,
      async enable() {
        w.holders.add(host);
        w.maxHolders = Math.max(w.maxHolders, w.holders.size);
        return { operation: 'enable', changed: true, durationMs: 1 };
      },
      async disable() {
        return { operation: 'disable', changed: w.holders.delete(host), durationMs: 1 };
      },
      async isPresent() {
        return { present: w.holders.has(host), flags: [], durationMs: 1 };
      },
      async announce() {
        return { mode: 'sent', count: 1, durationMs: 1 };
      },
      cancelAnnouncements() {},
    } as unknown as VipDriver;
  }
}

function pair() {
  const clock = new FakeClock(0);
  const net = new Net(clock);
  const world = new World();
  const terms: Record<string, number> = { a: 0, b: 0 };
  const workers = { a: new MemoryWorker(clock), b: new MemoryWorker(clock) };
  const witnessOk: Record<string, boolean> = { a: true, b: true };
  const make = (id: 'a' | 'b', priority: number) =>
    new HaNode({
      config: configSchema.parse({
        node: { id, priority, state_dir: '/nonexistent' },
        sip: { listen: ['udp://127.0.0.1:5060'] },
        vip: { address: '198.51.100.10/24', interface: 'eth0' },
        ha: {
          listen: ['127.0.0.1:7400'],
          peer: ['127.0.0.1:7401'],
          key_file: 'unused',
          heartbeat_ms: HB,
          dead_after_ms: DEAD,
          witnesses: ['192.0.2.1'],
          witness_interval_ms: 30,
          witness_fail_rounds: 1,
        },
        monitoring: { sip_traffic: { enabled: false }, nic: { enabled: false } },
      }),
      key: Buffer.alloc(32),
      vip: world.vip(id),
      terms: {
        load: async () => terms[id] ?? 0,
        save: async (t: number) => {
          terms[id] = t;
        },
      },
      log: pino({ level: process.env.HA_TEST_LOG ?? 'silent', base: { node: id } }),
      worker: workers[id].port(),
      probe: async () => witnessOk[id] ?? false,
      link: net.link(id),
      clock,
      wallNow: () => EPOCH + clock.now(),
    });
  const nodes = { a: make('a', 150), b: make('b', 100) };
  /** Moves time by `ms`, 1 ms at a time, letting promises (VIP commands, term saves) settle in between. */
  const run = async (ms: number) => {
    for (let i = 0; i < ms; i++) {
      clock.advance(1);
      for (let j = 0; j < 5; j++) await new Promise((r) => setImmediate(r));
    }
  };
  return { clock, net, world, terms, workers, witnessOk, nodes, run };
}

describe('two nodes on a fake clock', () => {
  let stop: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await stop?.();
  });

  async function started() {
    const p = pair();
    stop = async () => {
      const done = Promise.all([p.nodes.a.stop(), p.nodes.b.stop()]);
      await p.run(50);
      await done;
    };
    await Promise.all([p.nodes.a.start(), p.nodes.b.start()]);
    await p.run(3 * HB);
    return p;
  }

  it('elects the higher priority within a few heartbeats, one VIP holder, term 1 persisted', async () => {
    const p = await started();
    assert.equal(p.nodes.a.role, 'primary');
    assert.equal(p.nodes.b.role, 'backup');
    assert.deepEqual([...p.world.holders], ['a']);
    assert.equal(p.world.maxHolders, 1);
    assert.equal(p.terms.a, 1);
    assert.equal(p.workers.a.roles.at(-1), 'primary');
    assert.equal(p.workers.b.roles.at(-1), 'backup');
  });

  it('heartbeats go out every heartbeat_ms and say advertise(state)', async () => {
    const p = await started();
    const from = p.net.heard.length;
    await p.run(10 * HB);
    const toB = p.net.heard.slice(from).filter((h) => h.to === 'b' && h.body.type === 'hb');
    assert.ok(toB.length >= 10 && toB.length <= 11, `${toB.length} heartbeats in 10 intervals`);
    assert.deepEqual(toB.at(-1)?.body, {
      type: 'hb',
      role: 'primary',
      term: 1,
      priority: 150,
      ready: true,
      yielding: false,
      sip: undefined,
    });
  });

  it('primary silent on the link: the backup promotes after dead_after_ms, not before, within one tick after', async () => {
    const p = await started();
    p.net.cut.ab = true;
    const cutAt = p.clock.now();
    // The last heartbeat may have left just before the cut: silence counts from the last one heard.
    await p.run(DEAD - 2);
    assert.equal(p.nodes.b.role, 'backup', 'not before dead_after_ms');
    await p.run(HB);
    assert.equal(p.nodes.b.role, 'primary');
    const promoted = p.nodes.b.status().timelines.at(-1);
    assert.equal(promoted?.cause, 'peer-dead');
    const tookMs = (promoted?.detectedAt ?? 0) - EPOCH - cutAt;
    assert.ok(tookMs >= DEAD - HB && tookMs <= DEAD + HB / 5 + 2, `detected ${tookMs} ms after the cut`);
    // A still primary hears B's higher term once the link is back: it releases at once.
    p.net.cut.ab = false;
    await p.run(2 * HB);
    assert.equal(p.nodes.a.role, 'backup');
    assert.deepEqual([...p.world.holders], ['b']);
  });

  it('a promotion without SIP traffic: its timeline ends at the announcement, FIRST_SERVED_WAIT_MS after it', async () => {
    const p = await started();
    p.net.cut.ab = true;
    await p.run(DEAD - 2 + HB);
    assert.equal(p.nodes.b.role, 'primary');
    const open = p.nodes.b.status().timelines.at(-1);
    assert.equal(open?.kind, 'promote');
    assert.ok(open?.announcedAt !== null && open?.vipAddedAt !== null, 'VIP added and announced');
    assert.equal(open?.done, false, 'still waiting for a first request');
    await p.run(FIRST_SERVED_WAIT_MS);
    const tl = p.nodes.b.status().timelines.at(-1);
    assert.equal(tl?.seq, open?.seq);
    assert.equal(tl?.done, true, 'closed after FIRST_SERVED_WAIT_MS, not after TIMELINE_CLOSE_MS');
    assert.equal(tl?.firstServedAt, null);
    assert.equal(tl?.durationMs, (tl?.announcedAt ?? 0) - (tl?.detectedAt ?? 0));
    assert.ok((tl?.durationMs ?? Number.POSITIVE_INFINITY) < HB, `took ${tl?.durationMs} ms`);
    // A first request seconds later says nothing about the takeover: it does not land on the closed timeline.
    await p.run(5000);
    p.workers.b.served(EPOCH + p.clock.now());
    await p.run(1);
    assert.equal(p.nodes.b.status().timelines.at(-1)?.firstServedAt, null);
  });

  it('a promotion whose first request comes within FIRST_SERVED_WAIT_MS: its timeline ends there', async () => {
    const p = await started();
    p.net.cut.ab = true;
    await p.run(DEAD - 2 + HB);
    assert.equal(p.nodes.b.role, 'primary');
    await p.run(FIRST_SERVED_WAIT_MS / 2);
    const servedAt = EPOCH + p.clock.now();
    p.workers.b.served(servedAt);
    await p.run(1);
    const tl = p.nodes.b.status().timelines.at(-1);
    assert.equal(tl?.kind, 'promote');
    assert.equal(tl?.done, true);
    assert.equal(tl?.firstServedAt, servedAt);
    assert.equal(tl?.durationMs, servedAt - (tl?.detectedAt ?? 0));
  });

  it('primary process gone, host up: its kernel refuses, the backup promotes on peer-gone after FAST_DEAD_HEARTBEATS', async () => {
    const p = await started();
    p.net.gone.a = true;
    const goneAt = p.clock.now();
    await p.run(DEAD - 2);
    assert.equal(p.nodes.b.role, 'primary');
    const promoted = p.nodes.b.status().timelines.at(-1);
    assert.equal(promoted?.cause, 'peer-gone');
    const tookMs = (promoted?.detectedAt ?? 0) - EPOCH - goneAt;
    // Silence counts from the last heartbeat heard (up to one interval before), the refusal comes with B's next.
    assert.ok(
      tookMs >= FAST_DEAD_HEARTBEATS * HB - HB && tookMs <= (FAST_DEAD_HEARTBEATS + 0.5) * HB + HB / 5 + 2,
      `detected ${tookMs} ms after`,
    );
    assert.ok((p.nodes.b.status().peer.link.peerGone.icmp ?? 0) > 0);
  });

  it('a forged refusal after every heartbeat while the primary keeps sending: no takeover', async () => {
    const p = await started();
    const forge = () => p.net.refused.b?.(0);
    for (let i = 0; i < 40; i++) {
      forge();
      await p.run(HB / 2);
      forge();
      await p.run(HB / 2);
    }
    assert.equal(p.nodes.b.role, 'backup');
    assert.equal(p.nodes.a.role, 'primary');
    assert.equal(p.nodes.b.status().peer.link.peerGone.icmp, 80);
  });

  it('this process stalled (one late tick): the peer gets a fresh window instead of a verdict', async () => {
    const p = await started();
    p.net.cut.ab = true;
    // The clock jumps 5 × dead_after_ms with nothing running in between, like a SIGSTOP of the backup.
    p.clock.stall(5 * DEAD);
    p.net.cut.ab = false;
    await p.run(HB);
    assert.equal(p.nodes.b.role, 'backup', 'no takeover after our own stall');
    assert.equal(p.nodes.b.status().peer.link.stalls, 1);
    assert.equal(p.nodes.b.status().peer.link.peer, 'alive');
  });

  it('manual switchover on the backup: resign, no timeout, never two holders, reply after the VIP is up', async () => {
    const p = await started();
    const reply = p.nodes.b.switchover();
    await p.run(20);
    const r = await reply;
    assert.equal(r.ok, true, r.detail);
    assert.equal(r.primary, 'b');
    assert.equal(r.term, 2);
    assert.deepEqual([...p.world.holders], ['b']);
    assert.equal(p.world.maxHolders, 1);
    // The peer heard "resign" before any heartbeat saying backup.
    const fromA = p.net.heard.filter((h) => h.to === 'b').map((h) => h.body);
    const resignAt = fromA.findIndex((b) => b.type === 'resign');
    assert.ok(resignAt > 0);
    assert.ok(
      !fromA
        .slice(0, resignAt)
        .some((b) => b.type === 'hb' && b.role === 'backup' && b.term === 1 && b.yielding),
    );
    await p.run(3 * DEAD);
    assert.equal(p.nodes.a.role, 'backup', 'no preemption: A stays backup');
  });

  it('all paths cut: both hold the VIP while cut (both see witnesses); on reconnect the higher term keeps it at once', async () => {
    const p = await started();
    p.net.cut.ab = true;
    p.net.cut.ba = true;
    await p.run(DEAD + HB);
    assert.equal(p.nodes.b.role, 'primary');
    assert.equal(p.nodes.b.term, 2);
    assert.equal(p.world.holders.size, 2, 'split brain while the link is cut');
    p.net.cut.ab = false;
    p.net.cut.ba = false;
    await p.run(HB + 5);
    assert.deepEqual([...p.world.holders], ['b'], 'the higher term keeps the VIP, within one heartbeat');
    assert.equal(p.nodes.a.role, 'backup');
    assert.equal(p.nodes.a.status().timelines.at(-1)?.cause, 'higher-term');
    assert.ok(
      p.nodes.a.status().alarms.some((x) => x.alarm === 'dual-primary'),
      'the loser raises the alarm',
    );
  });

  it('isolated primary (no peer, no witnesses) releases; it never claims the VIP while isolated', async () => {
    const p = await started();
    p.net.cut.ab = true;
    p.net.cut.ba = true;
    await p.run(DEAD + HB);
    assert.equal(p.nodes.a.status().peer.status, 'dead');
    p.witnessOk.a = false;
    await p.run(2 * 30 + 5);
    assert.equal(p.nodes.a.role, 'backup');
    assert.ok(!p.world.holders.has('a'));
    assert.equal(p.nodes.a.status().timelines.at(-1)?.cause, 'isolated');
    await p.run(2 * DEAD);
    assert.equal(p.nodes.a.role, 'backup', 'still isolated: no claim');
    assert.equal(p.nodes.b.role, 'primary');
  });

  it('worker crash on the primary: it releases and reports fault; the backup takes over without waiting for silence', async () => {
    const p = await started();
    p.workers.a.crash();
    await p.run(HB / 5 + 5);
    assert.equal(p.nodes.a.role, 'fault');
    await p.run(5);
    assert.equal(p.nodes.b.role, 'primary', 'peer fault: no dead_after_ms wait');
    assert.equal(p.nodes.b.status().timelines.at(-1)?.cause, 'peer-fault');
    assert.deepEqual([...p.world.holders], ['b']);
    assert.equal(p.world.maxHolders, 1);
    await p.run(100);
    assert.equal(p.nodes.a.role, 'backup', 'the restarted worker brings it back as backup');
  });

  it('the VIP found absent after an enable that reported success: fault and alarm, the backup takes over', async () => {
    const p = await started();
    assert.equal(p.nodes.a.role, 'primary');
    // The driver's check, run just after the add, found the address missing (someone removed it, or a lying tool).
    p.world.holders.delete('a');
    p.nodes.a.vipVerifyFailed('enable', 'the VIP is absent after the add');
    await p.run(HB);
    assert.equal(p.nodes.a.role, 'fault');
    assert.ok(p.nodes.a.status().activeAlarms.some((x) => x.alarm === 'vip-enable-failed'));
    await p.run(HB);
    assert.equal(p.nodes.b.role, 'primary');
    assert.deepEqual([...p.world.holders], ['b']);
  });

  it('refuses a switchover to a backup whose replica is not synced, unless forced', async () => {
    const p = await started();
    p.workers.b.synced = false;
    await p.run(100);
    const refused = p.nodes.b.switchover();
    await p.run(1);
    const r = await refused;
    assert.equal(r.ok, false);
    assert.match(r.detail, /not synced.*--force/);
    assert.deepEqual([...p.world.holders], ['a'], 'nothing moved');
    const forced = p.nodes.b.switchover(true);
    await p.run(20);
    assert.equal((await forced).ok, true);
    assert.deepEqual([...p.world.holders], ['b']);
    assert.equal(p.world.maxHolders, 1);
  });

  it('manual switchover asked on the primary: drain, release, resign; the peer promotes on the resign', async () => {
    const p = await started();
    const reply = p.nodes.a.switchover();
    await p.run(20);
    const r = await reply;
    assert.equal(r.ok, true, r.detail);
    assert.equal(r.primary, 'b');
    assert.deepEqual([...p.world.holders], ['b']);
    assert.equal(p.world.maxHolders, 1);
    const tl = p.nodes.b.status().timelines.at(-1);
    assert.equal(tl?.cause, 'switchover');
    assert.ok((tl?.vipRemovedAt ?? 0) <= (tl?.vipAddedAt ?? 0), 'removed on A before added on B');
    assert.equal(p.nodes.a.status().timelines.at(-1)?.kind, 'demote');
  });
});
