// Fast detection of a dead peer process, in network namespaces, with dead_after_ms far too long (3 s) to explain a
// quick takeover: only the fast path can. A single real ICMP port unreachable on one path, and a real TCP reset of
// the replication connection, each while heartbeats keep arriving, change nothing; kill -9 of the primary's node
// (its kernel refuses the heartbeats and closes the replication connection) makes the backup take over within
// a few heartbeat intervals, with the promotion's cause saying so (peer-gone).
import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { crashNode } from '../../src/lab/faults.js';
import { HA_PORT, type Host, REPLICATION_PORT } from '../../src/lab/pair.js';
import { NEEDS_ROOT } from './helpers.js';
import { pairSuite } from './pair-suite.js';

const DEAD_AFTER_MS = 3000;
const TABLE = 'sipha_fast_detect';

describe('fast detection of a dead peer process', { skip: NEEDS_ROOT, timeout: 90_000 }, () => {
  const suite = pairSuite({ ha: { dead_after_ms: DEAD_AFTER_MS }, settleTimeoutMs: 40_000 });

  /** The nftables table this test adds in host h, gone (whatever it held) once this resolves. */
  const dropTable = (h: Host) =>
    suite.lab.exec(h, ['nft', 'delete', 'table', 'inet', TABLE], { allowFailure: true });

  const terms = async () => {
    const [a, b] = [await suite.pair.status('a'), await suite.pair.status('b')];
    return { a: a?.term, b: b?.term, roles: `${a?.role}/${b?.role}` };
  };

  suite.step('one real ICMP port unreachable on one path while heartbeats arrive: no takeover', async () => {
    const { primary: p, backup: q, status } = await suite.fx.resettle();
    const before = await terms();
    const refusedBefore = status[q].peer.link.paths[0]?.refused ?? 0;
    // The primary's kernel answers the backup's heartbeats on path 0 with ICMP port unreachable for ~150 ms, as
    // it would if the node were gone; path 1 carries the heartbeats meanwhile.
    const to = suite.pair.haAddresses(p)[0] as string;
    try {
      await suite.lab.exec(p, ['nft', 'add', 'table', 'inet', TABLE]);
      await suite.lab.exec(p, [
        'nft',
        `add chain inet ${TABLE} input { type filter hook input priority -10 ; }`,
      ]);
      await suite.lab.exec(p, [
        'nft',
        `add rule inet ${TABLE} input ip daddr ${to} udp dport ${HA_PORT} reject with icmpx type port-unreachable`,
      ]);
      await sleep(150);
    } finally {
      await dropTable(p);
    }
    await sleep(1000);
    const s = await suite.pair.status(q);
    const refused = (s?.peer.link.paths[0]?.refused ?? 0) - refusedBefore;
    assert.ok(refused > 0, `the backup heard the refusal (${refused})`);
    assert.equal(s?.peer.link.paths[1]?.refused, status[q].peer.link.paths[1]?.refused, 'on path 0 only');
    assert.deepEqual(await terms(), before, 'no term change, same roles');
    assert.deepEqual(await suite.pair.holders(), [p]);
    process.stdout.write(`# ICMP: ${refused} refusals on path 0, no takeover\n`);
  });

  suite.step('the replication TCP connection reset while heartbeats arrive: no takeover', async () => {
    const { primary: p, backup: q, status } = await suite.fx.resettle();
    const before = await terms();
    const tcpBefore = status[q].peer.link.peerGone.tcp;
    // Destroying the primary's end of the connection makes its kernel send the backup a RST (tcp_abort).
    const out = await suite.lab.exec(p, [
      'ss',
      '-K',
      '-t',
      'state',
      'established',
      'sport',
      `= :${REPLICATION_PORT}`,
    ]);
    assert.match(out.stdout, new RegExp(`:${REPLICATION_PORT}\\b`), 'a connection was killed');
    await sleep(1000);
    const s = await suite.pair.status(q);
    assert.ok((s?.peer.link.peerGone.tcp ?? 0) > tcpBefore, 'the backup worker reported the reset');
    assert.deepEqual(await terms(), before, 'no term change, same roles');
    assert.deepEqual(await suite.pair.holders(), [p]);
  });

  suite.step(
    'kill -9 of the primary node: the backup takes over on peer-gone, well before dead_after_ms',
    async () => {
      const { primary: p, backup: q } = await suite.fx.resettle();
      const injected = await crashNode().inject(suite.pair, p);
      const tl = await suite.pair.promotion(q, injected.at, DEAD_AFTER_MS + 2000);
      assert.ok(tl !== undefined, `${q} promoted`);
      assert.equal(tl.cause, 'peer-gone', 'the fast path fired');
      const after = tl.detectedAt - injected.at;
      assert.ok(
        after < DEAD_AFTER_MS / 2,
        `declared dead ${after} ms after the kill (dead_after_ms ${DEAD_AFTER_MS})`,
      );
      const s = await suite.pair.status(q);
      process.stdout.write(
        `# kill -9: ${q} promoted (peer-gone) ${after} ms after the kill; evidence icmp ${s?.peer.link.peerGone.icmp} tcp ${s?.peer.link.peerGone.tcp}\n`,
      );
    },
  );
});
