// The VIP moves from A to B in the lab, and C follows it only because of the announcement.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Lab } from '../../src/lab/lab.js';
import { vipSchema } from '../../src/vip/config.js';
import { createVipDriver, type VipDriver, type VipEvent } from '../../src/vip/driver.js';
import { VipCommandError } from '../../src/vip/errors.js';
import { eventually, NEEDS_ROOT } from './helpers.js';

describe('VIP movement and neighbour-cache update in the lab', { skip: NEEDS_ROOT }, () => {
  let lab: Lab;
  before(async () => {
    lab = await Lab.create({ ipv6: true });
  });
  after(async () => {
    await lab?.destroy();
  });

  function driver(
    host: 'a' | 'b',
    cidr: string,
    announce: { count?: number; interval_ms?: number; repeat_after_ms?: number; refresh_s?: number },
    events: VipEvent[] = [],
  ): VipDriver {
    const config = vipSchema.parse({
      address: cidr,
      interface: 'eth0',
      timeout_ms: 3000,
      announce: { count: 3, interval_ms: 20, repeat_after_ms: 0, refresh_s: 0, ...announce },
    });
    return createVipDriver(config, { wrap: lab.wrap(host), onEvent: (e) => events.push(e) });
  }

  async function ping(ip: string): Promise<boolean> {
    const out = await lab.exec('c', ['ping', '-n', '-c', '1', '-W', '1', ip], { allowFailure: true });
    return out.exitCode === 0;
  }

  async function cMaps(ip: string): Promise<string | undefined> {
    return (await lab.neighbour('c', ip))?.lladdr;
  }

  for (const family of ['IPv4 with gratuitous ARP', 'IPv6 with unsolicited NA'] as const) {
    it(family, async () => {
      const v6 = family.startsWith('IPv6');
      const vip = v6 ? lab.topology.vip.ipv6 : lab.topology.vip.ipv4;
      const cidr = v6 ? lab.topology.vip.ipv6Cidr : lab.topology.vip.ipv4Cidr;
      const aEvents: VipEvent[] = [];
      // A's later bursts (repeat and refresh) must never go out once A has let the VIP go.
      const a = driver('a', cidr, { repeat_after_ms: 400, refresh_s: 1 }, aEvents);
      const b = driver('b', cidr, {});

      assert.equal((await a.enable()).changed, true);
      assert.equal((await a.enable()).changed, false, 'enable is idempotent');
      assert.equal((await a.isPresent()).present, true);
      assert.equal((await a.announce()).mode, 'sent');
      assert.equal(await ping(vip), true, 'C reaches the VIP on A');
      const first = await lab.neighbour('c', vip);
      assert.equal(first?.lladdr, lab.mac('a'), 'C maps the VIP to A');
      assert.ok(first?.states.includes('REACHABLE'), `entry is REACHABLE: ${first?.states}`);

      // Move without announcing: C's long-lived entry still points at A, and C cannot reach the VIP.
      const off = await a.disable();
      assert.equal(off.changed, true);
      assert.equal(a.announcing, false);
      assert.equal((await a.disable()).changed, false, 'disable is idempotent');
      assert.equal((await a.isPresent()).present, false);
      assert.equal((await b.enable()).changed, true);
      await sleep(200);
      assert.equal(await cMaps(vip), lab.mac('a'), 'negative control: nothing but an announcement moves C');
      assert.equal(await ping(vip), false, 'C still sends to A, which no longer holds the VIP');
      assert.equal(await cMaps(vip), lab.mac('a'));

      // Announce from B: C's entry moves to B's MAC, without C sending anything.
      assert.equal((await b.announce()).mode, 'sent');
      assert.ok(await eventually(async () => (await cMaps(vip)) === lab.mac('b')), 'C maps the VIP to B');
      assert.equal(await ping(vip), true, 'C reaches the VIP on B');

      // Past A's repeat_after_ms and refresh_s: A stayed silent, C still maps B.
      await sleep(1300);
      assert.equal(await cMaps(vip), lab.mac('b'), "A's cancelled announcements never went out");
      const disabledAt = aEvents.findIndex((e) => e.type === 'command' && e.operation === 'disable');
      assert.ok(disabledAt > 0);
      const lateAnnounces = aEvents
        .slice(disabledAt)
        .filter((e) => e.type === 'command' && e.operation === 'announce');
      assert.deepEqual(lateAnnounces, []);

      await b.disable();
      assert.equal((await b.isPresent()).present, false);
    });
  }

  it('a failing command surfaces as VipCommandError after its retries', async () => {
    const config = vipSchema.parse({
      address: '198.51.100.10/24',
      interface: 'nope0',
      retries: 2,
      retry_delay_ms: 10,
    });
    const events: VipEvent[] = [];
    const d = createVipDriver(config, { wrap: lab.wrap('a'), onEvent: (e) => events.push(e) });
    const err = await d.enable().then(
      () => assert.fail('enable must fail on a missing interface'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof VipCommandError);
    assert.equal(err.attempts, 3);
    assert.equal(err.driver, 'linux');
    assert.equal(err.timedOut, false);
    assert.notEqual(err.exitCode, 0);
    assert.match(err.stderr, /nope0/);
    assert.ok(err.durationMs > 0);
    // No status before the change on linux: the add itself is what fails.
    assert.deepEqual(err.argv.slice(-6), ['add', '198.51.100.10/24', 'dev', 'nope0', 'label', 'nope0:1']);
    assert.ok(events.some((e) => e.type === 'command' && !e.ok));
  });
});
