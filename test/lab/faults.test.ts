// The fault catalogue: every fault applied to the primary of a settled pair does what it says, and once healed
// (twice: healing is idempotent) the pair settles again with exactly one VIP holder.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FAULTS, faultNamed } from '../../src/lab/faults.js';
import { type Host, other } from '../../src/lab/pair.js';
import { eventually, NEEDS_ROOT } from './helpers.js';
import { pairSuite } from './pair-suite.js';

describe('fault catalogue', () => {
  it('names each fault once, and has the ones the lab tests, demo and benchmark use', () => {
    const names = FAULTS.map((f) => f.name);
    assert.equal(new Set(names).size, names.length);
    for (const n of ['crashNode', 'crashWorker', 'freeze', 'sipNicDown', 'haLinkDown', 'switchover'])
      assert.equal(faultNamed(n).name, n);
    assert.throws(() => faultNamed('nope'), /no fault named nope/);
  });
});

describe('fault catalogue on a settled pair', { skip: NEEDS_ROOT }, () => {
  const suite = pairSuite();

  /** What each fault on the primary P leads to, seen from the nodes. */
  const effect: Record<string, (p: Host) => Promise<boolean>> = {
    haLinkDown: async (p) => {
      // Neither node hears the other on any path; the HA link is all that is cut.
      const q = other(p);
      return eventually(
        async () => (await suite.pair.status(q))?.peer.link.paths.every((x) => !x.alive) === true,
        5000,
        50,
      );
    },
    'haLinkDown/management': async (p) => {
      // One path lost is an alarm, not a failover: the SIP NIC's path still carries the heartbeats.
      const q = other(p);
      const cut = await eventually(
        async () => {
          const paths = (await suite.pair.status(q))?.peer.link.paths;
          return paths !== undefined && paths[0]?.alive === false && paths[1]?.alive === true;
        },
        5000,
        50,
      );
      const term = (await suite.pair.status(p))?.term;
      await new Promise((r) => setTimeout(r, 1000));
      const [sp, sq] = [await suite.pair.status(p), await suite.pair.status(q)];
      return cut && sp?.role === 'primary' && sp.term === term && sq?.role === 'backup';
    },
  };
  const takeover = (p: Host) => suite.pair.waitRole(other(p), 'primary', 8000);

  for (const fault of FAULTS) {
    suite.step(`${fault.name} (${fault.summary}), then healed: the pair settles again`, async () => {
      const { fx, pair } = suite;
      const before = await fx.resettle();
      const p = before.primary;
      const injected = await fault.inject(pair, p);
      assert.ok(injected.at <= Date.now() && injected.detail !== '', JSON.stringify(injected));
      assert.ok(await (effect[fault.name] ?? takeover)(p), `${fault.name} on ${p}: ${injected.detail}`);
      await fault.heal(pair, p);
      await fault.heal(pair, p);
      const after = await fx.resettle({ timeoutMs: 30_000 });
      assert.ok(after.status[after.primary].term >= before.status[p].term);
      assert.deepEqual(await pair.holders(), [after.primary]);
      process.stdout.write(`# ${fault.name}: ${injected.detail}; settled with ${after.primary} primary\n`);
    });
  }
});
