// The chaos self-test's deliberate breakage: names checked (a typo must not silently run an unbroken node), the
// VIP kept on disable, and streamed binding changes dropped by a replica while it still counts them applied.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ReplicaApplier } from '../../src/ha/replication/applier.js';
import { toWireBinding } from '../../src/ha/replication/convert.js';
import { adaptStores } from '../../src/ha/replication/store-adapter.js';
import { dropsBindingChanges, keepingVip, testBreak } from '../../src/ha/test-break.js';
import { DialogStore } from '../../src/server/dialogs.js';
import { LocationService } from '../../src/server/location-service.js';
import type { VipDriver } from '../../src/vip/driver.js';

describe('SIPHA_TEST_BREAK', () => {
  it('is off unless set, and only one of the known names', () => {
    assert.equal(testBreak({}), undefined);
    assert.equal(testBreak({ SIPHA_TEST_BREAK: '' }), undefined);
    assert.equal(testBreak({ SIPHA_TEST_BREAK: 'keep-vip' }), 'keep-vip');
    assert.equal(testBreak({ SIPHA_TEST_BREAK: 'drop-replicated' }), 'drop-replicated');
    assert.throws(
      () => testBreak({ SIPHA_TEST_BREAK: 'keep_vip' }),
      /SIPHA_TEST_BREAK: keep_vip is not one of/,
    );
  });

  it('keep-vip: disable() does nothing, everything else reaches the driver', async () => {
    const calls: string[] = [];
    const driver = {
      name: 'linux',
      enable: async () => {
        calls.push('enable');
        return { operation: 'enable', changed: true, durationMs: 1 };
      },
      disable: async () => {
        calls.push('disable');
        return { operation: 'disable', changed: true, durationMs: 1 };
      },
    } as unknown as VipDriver;
    const kept = keepingVip(driver);
    assert.equal(kept.name, 'linux');
    await kept.enable();
    const out = await kept.disable();
    assert.deepEqual(calls, ['enable']);
    assert.equal(out.changed, false);
  });

  it('drop-replicated: a replica drops streamed bindings but keeps the snapshot and the sequence', () => {
    const location = new LocationService();
    const stores = adaptStores({ location, dialogs: new DialogStore() });
    const a = new ReplicaApplier(stores, undefined, dropsBindingChanges);
    const b = (user: string) =>
      toWireBinding(
        {
          aor: `sip:${user}@example.test`,
          contact: `sip:${user}@192.0.2.1:5060`,
          q: 1000,
          expiresAt: performance.now() + 60_000,
          callId: `c-${user}`,
          cseq: 1,
          path: [],
          received: { transport: 'udp', address: '192.0.2.1', port: 5060 },
          updatedAt: 0,
        },
        performance.now(),
      );
    a.beginSnapshot(5);
    a.snapshotChunk([b('early')], []);
    a.endSnapshot(5);
    a.applyChanges([{ s: 6, k: 'b', b: b('late') }], 6);
    assert.equal(a.synced, true);
    assert.deepEqual(
      location.all().map((x) => x.aor),
      ['sip:early@example.test'],
    );
  });
});
