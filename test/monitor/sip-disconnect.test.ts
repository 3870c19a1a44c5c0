// The guide's "primary disconnect" workflow in the lab. Two `sipha start` nodes on A and B with SIP traffic
// monitoring at its defaults; cables cut at the switch (the host sees carrier loss) or a switch port taken off the
// SIP bridge (carrier stays up: only the probes and the traffic watch can tell). Detection and takeover times are
// measured from the nodes' own records (alarm and timeline stamps, epoch ms).
import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { sipNicDown, sipPathCut } from '../../src/lab/faults.js';
import type { Alarm, HaStatus } from '../../src/lab/status.js';
import type { Host, Pair } from '../ha/pair.js';
import { eventually, NEEDS_ROOT } from '../lab/helpers.js';
import { pairSuite } from '../lab/pair-suite.js';

/** Carrier loss is seen within nic.interval_ms (100); the release and the peer's promotion follow at once. */
const CARRIER_WINDOW_MS = 1000;
/** No carrier loss: idle_ms (1000) + fail_rounds (2) × probe_timeout_ms (300) + a heartbeat and the VIP commands. */
const PROBE_WINDOW_MS = 2500;
const nicDown = sipNicDown();
const pathCut = sipPathCut();

function raisedAt(s: HaStatus | undefined, alarm: string, since: number): Alarm | undefined {
  return s?.alarms.find((a) => a.alarm === alarm && a.state === 'raised' && a.at >= since);
}

function report(line: string): void {
  process.stdout.write(`# ${line}\n`);
}

async function holdersStay(pair: Pair, expected: Host, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    assert.deepEqual(await pair.holders(), [expected]);
    await sleep(100);
  }
}

async function healthy(pair: Pair, h: Host): Promise<boolean> {
  const s = await pair.status(h);
  return s?.monitoring?.decision.rule === 'healthy';
}

describe('SIP traffic monitoring, two NICs (HA link also on the management subnet)', {
  skip: NEEDS_ROOT,
}, () => {
  const ctx = pairSuite({ lab: { twoNic: true, ipv6: false } });
  const { step } = ctx;

  step('both nodes see a healthy SIP path; B cross-probes the VIP, A is kept active by it', async () => {
    const { pair } = ctx;
    assert.ok(
      await eventually(async () => (await healthy(pair, 'a')) && (await healthy(pair, 'b')), 10_000, 100),
    );
    const a = await pair.status('a');
    const b = await pair.status('b');
    assert.equal(a?.monitoring?.report.carrier, 'up');
    assert.equal(
      a?.monitoring?.report.traffic,
      'active',
      'the backup’s OPTIONS to the VIP reach the primary',
    );
    assert.equal(b?.monitoring?.report.vip, 'ok');
    assert.equal(b?.monitoring?.report.peer, 'ok');
    assert.equal(b?.monitoring?.peer?.serving, true, 'A’s report comes with its heartbeats');
    assert.deepEqual(b?.monitoring?.addresses, { local: '198.51.100.12', peer: '198.51.100.11' });
  });

  step(
    'B’s SIP link down while A is primary: no switchover, B goes to fault and is not eligible',
    async () => {
      const { pair } = ctx;
      const { at: t0 } = await nicDown.inject(pair, 'b');
      assert.ok(await pair.waitRole('b', 'fault', 5000), 'B goes to fault');
      const b = await pair.status('b');
      const alarm = raisedAt(b, 'sip-own-carrier-down', t0);
      assert.equal(alarm?.severity, 'critical');
      assert.equal(b?.ready, false);
      report(`B SIP link down: B at fault ${(alarm?.at ?? 0) - t0} ms after the cut`);
      assert.ok((alarm?.at ?? Infinity) - t0 < CARRIER_WINDOW_MS);
      await holdersStay(pair, 'a', 2000);
      const a = await pair.status('a');
      assert.equal(a?.role, 'primary');
      assert.equal(a?.peer.role, 'fault');
      assert.equal(a?.peer.ready, false, 'B is not eligible');
      assert.ok(raisedAt(a, 'sip-peer-carrier-down', t0), 'A warns about its peer');
      assert.equal(raisedAt(a, 'sip-peer-carrier-down', t0)?.severity, 'warning');
    },
  );

  step('B’s link back: B rejoins as backup, alarms are cleared, A keeps the VIP', async () => {
    const { pair } = ctx;
    const t0 = Date.now();
    await nicDown.heal(pair, 'b');
    assert.ok(await pair.waitRole('b', 'backup', 5000));
    assert.ok(
      await eventually(async () => (await healthy(pair, 'a')) && (await healthy(pair, 'b')), 5000, 100),
    );
    const b = await pair.status('b');
    assert.ok(
      b?.alarms.some((x) => x.alarm === 'sip-own-carrier-down' && x.state === 'cleared' && x.at >= t0),
    );
    assert.ok(!b?.activeAlarms.some((x) => x.alarm.startsWith('sip-')));
    assert.deepEqual(await pair.holders(), ['a']);
  });

  step('A’s SIP link down while A is primary: B takes over within the window, A goes to fault', async () => {
    const { pair } = ctx;
    const { at: t0 } = await nicDown.inject(pair, 'a');
    assert.ok(await pair.waitRole('b', 'primary', 5000), 'B takes over');
    const tl = await pair.promotion('b', t0);
    const a = await pair.status('a');
    assert.equal(a?.role, 'fault');
    assert.equal(tl?.cause, 'peer-fault', 'B heard A’s fault over the management link');
    const detected = (raisedAt(a, 'sip-own-carrier-down', t0)?.at ?? Infinity) - t0;
    const takeover = (tl?.vipAddedAt ?? Infinity) - t0;
    report(`A SIP link down: A at fault after ${detected} ms, VIP on B after ${takeover} ms`);
    assert.ok(takeover < CARRIER_WINDOW_MS, `takeover ${takeover} ms`);
    assert.deepEqual(await pair.holders(), ['b']);
  });

  step('A’s link back: A rejoins as backup without taking the VIP', async () => {
    const { pair } = ctx;
    await nicDown.heal(pair, 'a');
    assert.ok(await pair.waitRole('a', 'backup', 5000));
    await holdersStay(pair, 'b', 1500);
    assert.ok(
      await eventually(async () => (await healthy(pair, 'a')) && (await healthy(pair, 'b')), 5000, 100),
    );
    assert.equal((await pair.status('a'))?.role, 'backup');
  });

  step('B’s switch port dead with carrier up (probes only): A takes over, B goes to fault', async () => {
    const { pair } = ctx;
    const { at: t0 } = await pathCut.inject(pair, 'b');
    try {
      assert.ok(await pair.waitRole('a', 'primary', 8000), 'A takes over');
      const tl = await pair.promotion('a', t0);
      // B may first hand over for its lost witnesses, then find its own path cut: fault follows within a probe round.
      assert.ok(await pair.waitRole('b', 'fault', 3000), 'B goes to fault');
      const b = await pair.status('b');
      const alarm = raisedAt(b, 'sip-own-path-cut', t0);
      assert.equal(alarm?.severity, 'critical', JSON.stringify(b?.alarms.slice(-5)));
      const takeover = (tl?.vipAddedAt ?? Infinity) - t0;
      report(
        `B switch port dead (carrier up): B at fault after ${(alarm?.at ?? 0) - t0} ms, VIP on A after ${takeover} ms`,
      );
      assert.ok(takeover < PROBE_WINDOW_MS, `takeover ${takeover} ms`);
      assert.deepEqual(await pair.holders(), ['a']);
    } finally {
      await pathCut.heal(pair, 'b');
    }
    assert.ok(await pair.waitRole('b', 'backup', 8000), 'B rejoins as backup');
    await holdersStay(pair, 'a', 1000);
  });
});

describe('SIP traffic monitoring, one NIC (the HA link shares the SIP network)', { skip: NEEDS_ROOT }, () => {
  const ctx = pairSuite({ lab: { twoNic: false, ipv6: false } });
  const { step } = ctx;

  step('A’s only link down: B takes over on peer silence and witnesses; A goes to fault', async () => {
    const { pair } = ctx;
    assert.ok(
      await eventually(async () => (await healthy(pair, 'a')) && (await healthy(pair, 'b')), 10_000, 100),
    );
    const { at: t0 } = await nicDown.inject(pair, 'a');
    assert.ok(await pair.waitRole('b', 'primary', 5000), 'B takes over');
    const tl = await pair.promotion('b', t0);
    assert.equal(tl?.cause, 'peer-dead');
    // A's status: its API is on the SIP NIC in the one-NIC lab; the API relay runs inside A, so it still answers.
    assert.ok(await pair.waitRole('a', 'fault', 3000));
    const a = await pair.status('a');
    const detected = (raisedAt(a, 'sip-own-carrier-down', t0)?.at ?? Infinity) - t0;
    const takeover = (tl?.vipAddedAt ?? Infinity) - t0;
    report(
      `one NIC, A link down: A at fault after ${detected} ms, VIP on B after ${takeover} ms (peer silence)`,
    );
    assert.ok(takeover < CARRIER_WINDOW_MS, `takeover ${takeover} ms`);
    assert.deepEqual(await pair.holders(), ['b']);
  });

  step('A’s link back: A rejoins as backup, B keeps the VIP', async () => {
    const { pair } = ctx;
    await nicDown.heal(pair, 'a');
    assert.ok(await pair.waitRole('a', 'backup', 5000));
    await holdersStay(pair, 'b', 1500);
    const a = await pair.status('a');
    assert.equal(a?.peer.role, 'primary');
    assert.ok((a?.term ?? 0) >= 2, 'A adopted B’s term');
  });
});
