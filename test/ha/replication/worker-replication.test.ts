// Replication for one SIP worker, without sockets: what it numbers for the stream. Only changes this node made
// itself (origin `local`), and only while primary; what the stream brought on a backup (origin `replica`) never.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { WorkerRoleHolder } from '../../../src/app/worker-role.js';
import type { ReplicatedStores, StoreChange } from '../../../src/ha/replication/replicated-stores.js';
import { adaptStores } from '../../../src/ha/replication/store-adapter.js';
import { WorkerReplication } from '../../../src/ha/replication/worker-replication.js';
import { createLogger } from '../../../src/log/logger.js';
import { ChangeFeed } from '../../../src/server/change-feed.js';
import { type Dialog, DialogStore } from '../../../src/server/dialogs.js';
import { type Binding, LocationService } from '../../../src/server/location-service.js';

const log = createLogger('silent');

function binding(user: string): Binding {
  return {
    aor: `sip:${user}@example.test`,
    contact: `sip:${user}@192.0.2.1:5060`,
    q: 1000,
    expiresAt: performance.now() + 60_000,
    callId: `c-${user}`,
    cseq: 1,
    path: [],
    updatedAt: performance.now(),
  };
}

function dialog(id: string): Dialog {
  return {
    id,
    callId: id,
    fromTag: 'f',
    toTag: 't',
    caller: 'a',
    callee: 'b',
    state: 'confirmed',
    createdAt: 0,
  };
}

/** Started with no addresses to listen on or connect to: nothing but the recording and the role. */
async function started(stores: ReplicatedStores, role = new WorkerRoleHolder()): Promise<WorkerReplication> {
  const r = new WorkerReplication({
    key: randomBytes(32),
    nodeId: 'a',
    role,
    stores,
    listen: [],
    peers: [],
    log,
  });
  await r.start();
  return r;
}

function primaryRole(): WorkerRoleHolder {
  const role = new WorkerRoleHolder();
  role.set('primary');
  return role;
}

/** The port with nothing behind it but a change feed: the test says which changes happen and where from. */
function fakeStores(): ReplicatedStores & { feed: ChangeFeed<StoreChange> } {
  const feed = new ChangeFeed<StoreChange>();
  return {
    feed,
    counts: () => ({ bindings: 0, dialogs: 0 }),
    snapshot: () => ({ bindings: [], dialogs: [] }),
    subscribe: (listener) => feed.subscribe(listener),
    putBinding: () => {},
    removeBinding: () => {},
    putDialog: () => {},
    removeDialog: () => {},
  };
}

describe('WorkerReplication records', () => {
  it('only local changes, each kind as its stream change', async () => {
    const stores = fakeStores();
    const r = await started(stores, primaryRole());
    const b = binding('alice');
    const d = dialog('d1');
    for (const origin of ['replica', 'local'] as const) {
      stores.feed.emit({ kind: 'added', binding: b, origin });
      stores.feed.emit({ kind: 'refreshed', binding: b, origin });
      stores.feed.emit({ kind: 'removed', aor: b.aor, contact: b.contact, reason: 'expired', origin });
      stores.feed.emit({ kind: 'created', dialog: d, origin });
      stores.feed.emit({ kind: 'confirmed', dialog: d, origin });
      stores.feed.emit({ kind: 'terminated', dialog: d, origin });
    }
    assert.equal(r.source.lastSeq, 6, 'the six local changes, none of the replica ones');
    r.source.beginSession();
    stores.feed.emit({ kind: 'created', dialog: d, origin: 'replica' });
    stores.feed.emit({ kind: 'added', binding: b, origin: 'local' });
    stores.feed.emit({ kind: 'created', dialog: d, origin: 'local' });
    stores.feed.emit({ kind: 'terminated', dialog: d, origin: 'local' });
    stores.feed.emit({
      kind: 'removed',
      aor: b.aor,
      contact: b.contact,
      reason: 'unregistered',
      origin: 'local',
    });
    const pending = r.source.takePending();
    assert.deepEqual(
      pending.map((p) => [p.seq, p.change.k]),
      [
        [7, 'b'],
        [8, 'd'],
        [9, 'e'],
        [10, 'u'],
      ],
    );
    const shipped = pending[1]?.change;
    assert.ok(shipped?.k === 'd');
    assert.notEqual(shipped.dialog, d, 'a dialog is shipped as a copy: the store changes its own in place');
    assert.deepEqual(shipped.dialog, d);
    await r.stop();
  });

  it('nothing while backup, and nothing once stopped', async () => {
    const stores = fakeStores();
    const role = new WorkerRoleHolder();
    const r = await started(stores, role);
    stores.feed.emit({ kind: 'added', binding: binding('bob'), origin: 'local' });
    assert.equal(r.source.lastSeq, 0, 'a backup numbers nothing');
    role.set('primary');
    assert.equal(r.status().role, 'primary', 'the role is read from its holder');
    assert.equal(r.status().promotedSynced, false, 'promoted without ever being synced');
    stores.feed.emit({ kind: 'added', binding: binding('bob'), origin: 'local' });
    assert.equal(r.source.lastSeq, 1);
    await r.stop();
    stores.feed.emit({ kind: 'added', binding: binding('carol'), origin: 'local' });
    assert.equal(r.source.lastSeq, 1, 'stopped: unsubscribed');
    role.set('backup');
    assert.equal(r.status().role, 'backup');
  });

  it('through the real stores: SIP handling and expiry are recorded, what the stream applied is not', async () => {
    const location = new LocationService();
    const dialogs = new DialogStore(() => 0);
    const stores = adaptStores({ location, dialogs });
    const r = await started(stores, primaryRole());
    stores.putBinding(binding('replica-user'));
    stores.putDialog(dialog('from-stream'));
    stores.removeDialog('from-stream');
    assert.equal(r.source.lastSeq, 0);
    location.put(binding('dave'));
    dialogs.restore(dialog('here'), 'local');
    assert.equal(location.expire(Number.POSITIVE_INFINITY), 2, 'both bindings expire here');
    assert.equal(r.source.lastSeq, 4, 'added, created and the two expiries');
    assert.deepEqual(r.status().bindings, 0);
    assert.deepEqual(r.status().dialogs, 1);
    await r.stop();
  });
});
