// The chaos run's ARP watcher, from the client's namespace: a settled pair's VIP is answered by the primary's
// SIP NIC alone, and a second host holding the address shows up as a second MAC (the watcher is the eye of
// the single-vip-owner check, so it must see a split brain when there is one).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ArpWatch, parseArpLine } from '../../src/lab/arp-watch.js';
import { run } from '../../src/lab/netns.js';
import { other } from '../../src/lab/pair.js';
import { eventually, NEEDS_ROOT } from './helpers.js';
import { pairSuite } from './pair-suite.js';

describe('ARP watcher lines', () => {
  it('parses windows and announcements, and ignores anything else', () => {
    assert.deepEqual(parseArpLine('W 12.5 02:00:00:00:00:01,02:00:00:00:00:02'), {
      t: 12.5,
      macs: ['02:00:00:00:00:01', '02:00:00:00:00:02'],
    });
    assert.deepEqual(parseArpLine('W 3 -'), { t: 3, macs: [] });
    assert.deepEqual(parseArpLine('G 4.25 02:00:00:00:00:03'), { t: 4.25, mac: '02:00:00:00:00:03' });
    for (const junk of ['', 'ready', 'W x -', 'Q 1 2', 'W 1'])
      assert.equal(parseArpLine(junk), undefined, junk);
  });
});

describe('ARP watcher on a settled pair', { skip: NEEDS_ROOT }, () => {
  const suite = pairSuite();

  suite.step('sees the primary alone, then a second host that holds the VIP too', async () => {
    const { lab, fx } = suite;
    const { primary } = await fx.resettle();
    const backup = other(primary);
    const mine = lab.mac(primary).toLowerCase();
    const theirs = lab.mac(backup).toLowerCase();
    const w = await ArpWatch.start(lab, { intervalMs: 10 });
    try {
      assert.ok(await eventually(async () => w.windows.length >= 30, 5000, 20), 'windows');
      const answered = w.windows.filter((x) => x.macs.length > 0);
      assert.ok(answered.length >= 25, `answered ${answered.length} of ${w.windows.length}`);
      for (const x of answered) assert.deepEqual(x.macs, [mine]);
      // Ten-ms windows, as asked (the machine may stretch some).
      const span = (w.windows.at(-1)?.t ?? 0) - (w.windows[0]?.t ?? 0);
      assert.ok(span / (w.windows.length - 1) < 25, `mean window ${span / (w.windows.length - 1)} ms`);

      const { vip } = lab.topology;
      const add = ['ip', '-n', lab.netns(backup), 'addr', 'add', vip.ipv4Cidr, 'dev', vip.ifname];
      const from = w.windows.length;
      await run(add);
      try {
        assert.ok(
          await eventually(async () => w.windows.slice(from).some((x) => x.macs.length === 2), 3000, 20),
          'two MACs answer',
        );
        const both = w.windows.slice(from).find((x) => x.macs.length === 2);
        assert.deepEqual(both?.macs, [mine, theirs].sort());
      } finally {
        await run(['ip', '-n', lab.netns(backup), 'addr', 'del', vip.ipv4Cidr, 'dev', vip.ifname], {
          allowFailure: true,
        });
      }
    } finally {
      await w.stop();
    }
  });
});
