// Witness reachability: the round logic with a scripted probe, then real ping/arping against gateway G in the lab.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Lab } from '../../src/lab/lab.js';
import { commandProbe, parseWitness, WitnessMonitor } from '../../src/monitor/witness.js';
import { eventually, NEEDS_ROOT } from '../lab/helpers.js';

describe('witness monitor logic', () => {
  it('parses icmp and arp witnesses and refuses names', () => {
    assert.deepEqual(parseWitness('198.51.100.1'), {
      kind: 'icmp',
      address: '198.51.100.1',
      text: '198.51.100.1',
    });
    assert.equal(parseWitness('arp:198.51.100.1').kind, 'arp');
    assert.equal(parseWitness('icmp:2001:db8::1').address, '2001:db8::1');
    assert.throws(() => parseWitness('gateway.example'), /not an IP/);
    assert.throws(() => parseWitness('arp:2001:db8::1'), /IPv4/);
  });

  it('reachable if any witness answers; unreachable only after failRounds silent rounds', async () => {
    const answers: Record<string, boolean> = { '10.0.0.1': true, '10.0.0.2': false };
    const changes: boolean[] = [];
    const m = new WitnessMonitor({
      witnesses: ['10.0.0.1', '10.0.0.2'].map(parseWitness),
      probe: async (w) => answers[w.address] ?? false,
      intervalMs: 1_000_000,
      timeoutMs: 10,
      failRounds: 2,
      onChange: (r) => changes.push(r),
    });
    await m.round();
    assert.equal(m.current, 'reachable');
    answers['10.0.0.1'] = false;
    await m.round();
    assert.equal(m.current, 'reachable', 'one silent round is not isolation');
    await m.round();
    assert.equal(m.current, 'unreachable');
    answers['10.0.0.2'] = true;
    await m.round();
    assert.equal(m.current, 'reachable', 'one answer is enough to come back');
    assert.deepEqual(changes, [true, false, true]);
    m.stop();
  });

  it('a first silent round says unreachable at once (unknown is not a reason to wait)', async () => {
    const m = new WitnessMonitor({
      witnesses: [parseWitness('10.0.0.1')],
      probe: async () => false,
      intervalMs: 1_000_000,
      timeoutMs: 10,
      failRounds: 3,
      onChange: () => {},
    });
    await m.round();
    assert.equal(m.current, 'unreachable');
    m.stop();
  });
});

describe('witness probes in the lab against gateway G', { skip: NEEDS_ROOT }, () => {
  let lab: Lab;
  before(async () => {
    lab = await Lab.create({ ipv6: false });
  });
  after(async () => {
    await lab?.destroy();
  });

  for (const kind of ['icmp', 'arp'] as const) {
    it(`${kind}: G answers; with A's cable cut it does not, and fast`, async () => {
      const probe = commandProbe({ interface: 'eth0', wrap: lab.wrap('a') });
      const g = parseWitness(`${kind}:${lab.nic('g').ipv4}`);
      assert.equal(await probe(g, 300), true, 'G answers');
      assert.equal(await probe(parseWitness(`${kind}:198.51.100.77`), 300), false, 'nobody at .77');
      await lab.linkDown('a');
      try {
        const t0 = Date.now();
        assert.equal(await probe(g, 300), false, 'G is unreachable with the cable cut');
        assert.ok(Date.now() - t0 < 1500, `probe gave up after ${Date.now() - t0} ms`);
      } finally {
        await lab.linkUp('a');
      }
    });
  }

  it('the monitor follows a cut cable: unreachable, then reachable again', async () => {
    const changes: boolean[] = [];
    const m = new WitnessMonitor({
      witnesses: [parseWitness(lab.nic('g').ipv4)],
      probe: commandProbe({ wrap: lab.wrap('a') }),
      intervalMs: 100,
      timeoutMs: 200,
      failRounds: 2,
      onChange: (r) => changes.push(r),
    });
    m.start();
    try {
      assert.ok(await eventually(async () => m.current === 'reachable', 3000));
      await lab.linkDown('a');
      assert.ok(await eventually(async () => m.current === 'unreachable', 3000));
      await lab.linkUp('a');
      assert.ok(await eventually(async () => m.current === 'reachable', 5000));
      // (The very first probe may fall on a port that the previous test has just brought up.)
      assert.deepEqual(changes.slice(changes.indexOf(true)), [true, false, true]);
    } finally {
      m.stop();
      await lab.linkUp('a');
    }
  });
});
