// Cluster mode in the lab: two HA pairs of one domain (A/B with VIP .10, A2/B2 with VIP .20) and a three-member
// etcd, each member in its own namespace. Real baresip phones on C and G register through different pairs and
// call each other across them; then the faults: a failover inside a pair during a cross-pair call, an etcd member
// killed, the etcd majority lost, a pair's HA link cut, a primary cut off from etcd, a whole pair killed. A watch
// samples both pairs' VIP holders all along: never two holders in one pair.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  cutFromEtcd,
  cutHaLink,
  healEtcdCut,
  healHaLink,
  killPair,
  restartEtcd,
  stopEtcdMajority,
  stopEtcdMember,
} from '../../src/lab/cluster-faults.js';
import { ClusterLab } from '../../src/lab/cluster-lab.js';
import { type AnyPair, CLI } from '../../src/lab/pair.js';
import type { PairHost } from '../../src/lab/topology.js';
import { formatHostPort } from '../../src/net/address.js';
import { Baresip } from '../helpers/baresip.js';
import { skipWithout } from '../helpers/installed.js';
import { eventually, NEEDS_ROOT } from '../lab/helpers.js';

const SKIP = NEEDS_ROOT || skipWithout('etcd') || skipWithout('baresip');
const DOMAIN = 'example.test';

/** Samples each pair's VIP holders until stopped; remembers the most seen at once, per pair. */
class HolderWatch {
  readonly most = new Map<number, { count: number; holders: string[] }>();
  private stopped = false;
  private done: Promise<void> = Promise.resolve();

  start(pairs: readonly AnyPair[]): void {
    this.done = (async () => {
      while (!this.stopped) {
        for (const p of pairs) {
          const holders = await p.holders().catch(() => [] as PairHost[]);
          const seen = this.most.get(p.index);
          if (seen === undefined || holders.length > seen.count)
            this.most.set(p.index, { count: holders.length, holders });
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
  }
}

describe('cluster mode: two pairs behind one domain, etcd as directory, witness and fence', {
  skip: SKIP,
  timeout: 600_000,
}, () => {
  let cl: ClusterLab;
  const watch = new HolderWatch();
  const dir = mkdtempSync(join(tmpdir(), 'sipha-pairs-lab-'));
  const phones: Baresip[] = [];

  before(async () => {
    cl = await ClusterLab.open({
      pairs: 2,
      etcd: 3,
      pair: (_i, etcd) => ({
        cluster: { etcd, lease_ttl_s: 1, pair_lease_ttl_s: 3, request_timeout_ms: 500 },
      }),
    });
    await cl.guard(() => cl.startSettled({ timeoutMs: 30_000, anyPrimary: true }));
    watch.start(cl.pairs);
  });

  after(async () => {
    await watch.stop();
    await Promise.all(phones.map((p) => p.stop()));
    rmSync(dir, { recursive: true, force: true });
    if ([...watch.most.values()].some((seen) => seen.count > 1)) cl?.fail();
    await cl?.close();
    for (const [pair, seen] of watch.most)
      assert.ok(seen.count <= 1, `pair ${pair}: the VIP was on ${seen.holders.join(' and ')} at once`);
  });

  /** A step: on failure the lab keeps its logs. */
  const step = (name: string, fn: () => Promise<void>) => it(name, () => cl.guard(fn));

  const primaryOf = async (p: AnyPair): Promise<PairHost | undefined> => {
    const holders = await p.holders();
    return holders.length === 1 ? holders[0] : undefined;
  };
  const phone = async (user: string, host: 'c' | 'g', pair: AnyPair) => {
    const p = await Baresip.start({
      home: join(dir, `${user}-${pair.index}-${phones.length}`),
      user,
      proxy: `${pair.vip.ipv4}:5060`,
      transport: 'udp',
      answer: 'auto',
      host: {
        wrap: cl.lab.wrap(host),
        address: cl.lab.nic(host).ipv4,
        // Each phone its own ports (several run on one host): baresip takes its SIP port and the next.
        sipPort: 5070 + 2 * phones.length,
        consPort: 5555 + phones.length,
      },
    });
    phones.push(p);
    return p;
  };
  /** The directory entry of an AoR, as etcd has it (from a host of pair 1). */
  const entry = async (aor: string): Promise<{ pair: string } | undefined> => {
    const out = await cl.etcdctl('a', ['get', '--print-value-only', `/sipha/${DOMAIN}/aor/${aor}`]);
    const text = out.stdout.trim();
    return text === '' ? undefined : (JSON.parse(text) as { pair: string });
  };
  const call = async (from: Baresip, to: Baresip, what: string) => {
    const f0 = from.output.length;
    const t0 = to.output.length;
    await from.command(`/dial sip:${to.user}@${DOMAIN}`);
    await to.waitFor(/Call established/, 8000, `${what}: ${to.user} answers`, t0);
    await from.waitFor(/Call established/, 8000, `${what}: ${from.user} hears the answer`, f0);
  };
  const hangup = async (by: Baresip, other: Baresip, what: string) => {
    const o0 = other.output.length;
    await by.command('/hangup');
    await other.waitFor(/session closed|terminated/, 8000, `${what}: the BYE reaches ${other.user}`, o0);
  };

  let alice: Baresip;
  let bob: Baresip;

  step('each pair elects one primary, which holds its permit in etcd (its revision the fence)', async () => {
    for (const p of cl.pairs) {
      const h = await primaryOf(p);
      assert.ok(h !== undefined, `pair ${p.index} has one VIP holder`);
      const st = await p.status(h);
      assert.equal(st?.cluster?.quorum.permit, 'held');
      assert.ok((st?.cluster?.quorum.fence ?? 0) > 0);
      assert.equal(st?.cluster?.etcd.holder, h);
    }
  });

  step('alice on pair 1 and bob on pair 2 call each other both ways across the pairs', async () => {
    alice = await phone('alice', 'c', cl.pair(1));
    bob = await phone('bob', 'g', cl.pair(2));
    assert.ok(
      await eventually(async () => (await entry(`bob@${DOMAIN}`))?.pair === 'p2', 5000, 100),
      'bob is in the directory as served by pair 2',
    );
    assert.equal((await entry(`alice@${DOMAIN}`))?.pair, 'p1');
    await call(alice, bob, 'alice → bob');
    await hangup(bob, alice, 'alice → bob');
    await call(bob, alice, 'bob → alice');
    await hangup(alice, bob, 'bob → alice');
  });

  step(
    'sipha status on G shows the cluster: etcd, the permit, both pairs with their holders, the directory',
    async () => {
      const p1 = cl.pair(1);
      const urls = p1.hosts.flatMap((h) => ['--url', `http://${formatHostPort(p1.apiAddress(h))}`]);
      const out = await cl.lab.exec(
        'g',
        [process.execPath, CLI, 'status', '--config', p1.config('a'), ...urls],
        {
          allowFailure: true,
        },
      );
      // (Exit 1 is "degraded": still the table, e.g. when the loaded lab just missed a heartbeat.)
      assert.ok(out.exitCode === 0 || out.exitCode === 1, out.stderr);
      process.stdout.write(out.stdout.replace(/^/gm, '# '));
      assert.match(out.stdout, /^etcd\s+reachable \(renewal \d+ ms, lease \d+ ms left\)\s+reachable/m);
      assert.match(out.stdout, /^pair permit\s+.*held \(fence \d+\)/m);
      const primary2 = await primaryOf(cl.pair(2));
      assert.match(
        out.stdout,
        new RegExp(
          `^cluster pairs\\s+p1 \\w+ @ 198\\.51\\.100\\.10:5060, p2 ${primary2} @ 198\\.51\\.100\\.20:5060`,
          'm',
        ),
      );
      assert.match(out.stdout, /^directory\s+2 AoRs, 2 pairs; \d+ writes in \d+ txns/m);
    },
  );

  step(
    'a failover inside pair 2 during a cross-pair call: the call ends by BYE through the new primary',
    async () => {
      const p2 = cl.pair(2);
      await call(alice, bob, 'before the failover');
      const old = await primaryOf(p2);
      assert.ok(old !== undefined);
      const since = Date.now();
      // kill -9 of the node: its orphaned SIP worker releases the VIP itself; its lease expires in etcd.
      p2.signal(old, 'SIGKILL');
      await p2.exited(old);
      const next = p2.other(old);
      assert.ok(
        await eventually(async () => (await primaryOf(p2)) === next, 15_000, 100),
        'the peer takes over',
      );
      const tl = await p2.promotion(next, since, 5000);
      assert.ok(tl !== undefined, 'a promotion timeline on the new primary');
      await hangup(bob, alice, 'after the failover');
      p2.start(old);
      assert.ok(await p2.waitRole(old, 'backup', 20_000), 'the killed node rejoins as backup');
    },
  );

  step('an etcd member killed: nothing moves', async () => {
    const before = await Promise.all(cl.pairs.map(primaryOf));
    await stopEtcdMember(cl, 'e3', 'SIGKILL');
    await new Promise((r) => setTimeout(r, 3000));
    assert.deepEqual(await Promise.all(cl.pairs.map(primaryOf)), before);
    for (const p of cl.pairs) {
      const h = before[p.index - 1] as PairHost;
      assert.equal((await p.status(h))?.cluster?.quorum.etcd, 'reachable');
    }
    await call(alice, bob, 'with one etcd member down');
    await hangup(alice, bob, 'with one etcd member down');
    await restartEtcd(cl);
  });

  step(
    'the etcd majority lost: both pairs keep serving (failsafe), nobody promotes; back, permits renew',
    async () => {
      const before = await Promise.all(cl.pairs.map(primaryOf));
      await stopEtcdMajority(cl, 'SIGKILL');
      for (const p of cl.pairs) {
        const h = before[p.index - 1] as PairHost;
        assert.ok(
          await eventually(
            async () => (await p.status(h))?.cluster?.quorum.etcd === 'unreachable',
            5000,
            100,
          ),
          `pair ${p.index}: its primary notices`,
        );
      }
      await new Promise((r) => setTimeout(r, 2000));
      assert.deepEqual(await Promise.all(cl.pairs.map(primaryOf)), before, 'the VIPs stay where they are');
      await call(alice, bob, 'during the etcd outage (cached directory)');
      await hangup(bob, alice, 'during the etcd outage');
      await restartEtcd(cl);
      // Back: each pair's VIP holder holds the permit again. Usually the same node; a known issue (README): when
      // one node reconnects to etcd seconds after its peer, the pair hands over once — cleanly, the watch checks
      // that no pair ever has two holders.
      for (const p of cl.pairs)
        assert.ok(
          await eventually(
            async () => {
              const h = await primaryOf(p);
              return h !== undefined && (await p.status(h))?.cluster?.quorum.permit === 'held';
            },
            30_000,
            200,
          ),
          `pair ${p.index}: its VIP holder holds the permit again`,
        );
    },
  );

  step(
    "pair 2's HA link cut, both nodes still reach etcd: the primary keeps the VIP, the backup never adds it",
    async () => {
      const p2 = cl.pair(2);
      const primary = await primaryOf(p2);
      assert.ok(primary !== undefined);
      await cutHaLink(p2);
      await new Promise((r) => setTimeout(r, 4000));
      assert.deepEqual(await p2.holders(), [primary]);
      await healHaLink(p2);
      assert.ok(await p2.waitRole(p2.other(primary), 'backup', 10_000));
    },
  );

  step(
    "pair 2's primary cut off from etcd (not from its peer): it hands over before its lease can expire",
    async () => {
      const p2 = cl.pair(2);
      const primary = await primaryOf(p2);
      assert.ok(primary !== undefined);
      await cutFromEtcd(cl, primary);
      const next = p2.other(primary);
      assert.ok(
        await eventually(async () => (await primaryOf(p2)) === next, 15_000, 100),
        'the peer takes over',
      );
      const demoted = (await p2.status(primary))?.timelines.filter((t) => t.kind === 'demote').at(-1);
      assert.equal(demoted?.cause, 'quorum-lost');
      await healEtcdCut(cl, primary);
      assert.ok(
        await eventually(
          async () => (await p2.status(primary))?.cluster?.quorum.etcd === 'reachable',
          15_000,
          200,
        ),
      );
    },
  );

  step(
    'bob moves to pair 1: the directory follows, pair 2 drops him, and calls reach him on pair 1',
    async () => {
      await bob.stop();
      bob = await phone('bob', 'g', cl.pair(1));
      assert.ok(
        await eventually(async () => (await entry(`bob@${DOMAIN}`))?.pair === 'p1', 5000, 100),
        'bob is served by pair 1 now',
      );
      const carol = await phone('carol', 'c', cl.pair(2));
      await call(carol, bob, 'carol (pair 2) → bob (moved to pair 1)');
      await hangup(bob, carol, 'carol → bob');
      await carol.stop();
    },
  );

  step(
    'pair 2 killed whole: its users leave the directory with its lease, and calls to them get 480 at once',
    async () => {
      const p2 = cl.pair(2);
      await phone('dave', 'g', p2);
      assert.ok(await eventually(async () => (await entry(`dave@${DOMAIN}`))?.pair === 'p2', 5000, 100));
      await killPair(p2);
      assert.ok(
        await eventually(async () => (await entry(`dave@${DOMAIN}`)) === undefined, 10_000, 200),
        "dave's entry goes when pair 2's lease expires",
      );
      const a0 = alice.output.length;
      const t0 = Date.now();
      await alice.command(`/dial sip:dave@${DOMAIN}`);
      await alice.waitFor(/480|Temporarily Unavailable|Not Found|404/, 5000, 'the call fails at once', a0);
      assert.ok(Date.now() - t0 < 5000);
    },
  );
});
