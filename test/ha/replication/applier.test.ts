import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ReplicaApplier } from '../../../src/ha/replication/applier.js';
import { fromWireBinding, toWireBinding, toWireDialog } from '../../../src/ha/replication/convert.js';
import type { WireBinding, WireDialog } from '../../../src/ha/replication/messages.js';
import { adaptStores } from '../../../src/ha/replication/store-adapter.js';
import { type Dialog, DialogStore } from '../../../src/server/dialogs.js';
import { type Binding, LocationService } from '../../../src/server/location-service.js';

function binding(user: string, expiresAt: number, updatedAt = 0): Binding {
  return {
    aor: `sip:${user}@example.test`,
    contact: `sip:${user}@192.0.2.1:5060`,
    q: 1000,
    expiresAt,
    callId: `c-${user}`,
    cseq: 1,
    path: [],
    received: { transport: 'udp', address: '192.0.2.1', port: 5060 },
    updatedAt,
  };
}

function wireB(user: string, ttl = 60_000): WireBinding {
  return toWireBinding(binding(user, ttl), 0);
}

function wireD(callId: string, age = 0): WireDialog {
  return {
    callId,
    fromTag: 'f',
    toTag: 't',
    caller: 'sip:a@example.test',
    callee: 'sip:b@example.test',
    state: 'confirmed',
    age,
    confirmedAge: age,
  };
}

function setup() {
  const clocks = { m: 50_000, e: 1_700_000_000_000 };
  const location = new LocationService();
  const dialogs = new DialogStore(() => clocks.e);
  const a = new ReplicaApplier(adaptStores({ location, dialogs }), {
    mono: () => clocks.m,
    epoch: () => clocks.e,
  });
  return { clocks, location, dialogs, a };
}

describe('wire conversion', () => {
  it('ships remaining lifetime and age, and rebuilds them on the receiver’s own clock', () => {
    // Primary: monotonic clock at 10,000 s; binding refreshed 5 s ago, expiring in 55 s.
    const w = toWireBinding(binding('alice', 10_055_000, 9_995_000), 10_000_000);
    assert.equal(w.ttl, 55_000);
    assert.equal(w.age, 5_000);
    assert.equal(JSON.stringify(w).includes('10055000'), false, 'no clock reading on the wire');
    // Backup: its monotonic clock reads 42 ms (a young process): same remaining lifetime.
    const b = fromWireBinding(w, 42);
    assert.equal(b.expiresAt, 55_042);
    assert.equal(b.updatedAt, 42 - 5_000);
    assert.deepEqual(b.received, { transport: 'udp', address: '192.0.2.1', port: 5060 });
  });

  it('carries where a binding registered from as text, IPv6 in brackets, and leaves out text it cannot read', () => {
    const b = binding('alice', 60_000);
    assert.equal(toWireBinding(b, 0).received, 'udp:192.0.2.1:5060');
    b.received = { transport: 'tcp', address: '2001:db8::1', port: 5070 };
    const w = toWireBinding(b, 0);
    assert.equal(w.received, 'tcp:[2001:db8::1]:5070');
    assert.deepEqual(fromWireBinding(w, 0).received, b.received);
    assert.equal(fromWireBinding({ ...w, received: 'sctp:192.0.2.1:5060' }, 0).received, undefined);
    assert.equal(fromWireBinding({ ...w, received: 'udp:example.test:5060' }, 0).received, undefined);
    assert.equal('received' in fromWireBinding({ ...w, received: 'udp:[::1]' }, 0), false);
  });

  it('never ships a negative lifetime', () => {
    assert.equal(toWireBinding(binding('x', 100), 200).ttl, 0);
  });

  it('ships dialog ages, and rebuilds epoch times on the receiver’s clock', () => {
    const d: Dialog = {
      id: 'c;f;t',
      callId: 'c',
      fromTag: 'f',
      toTag: 't',
      caller: 'sip:a@x',
      callee: 'sip:b@x',
      state: 'confirmed',
      createdAt: 1_000_000,
      confirmedAt: 1_000_500,
    };
    const w = toWireDialog(d, 1_003_000);
    assert.equal(w.age, 3000);
    assert.equal(w.confirmedAge, 2500);
  });
});

describe('ReplicaApplier', () => {
  it('applies a snapshot, converting lifetimes, and is synced only after its end and the stream caught up', () => {
    const { clocks, location, dialogs, a } = setup();
    assert.equal(a.synced, false);
    a.beginSnapshot(10);
    a.snapshotChunk([wireB('alice', 30_000)], [wireD('call-1', 2000)]);
    assert.equal(a.synced, false, 'snapshot not finished');
    a.snapshotChunk([wireB('bob')], []);
    a.endSnapshot(10);
    assert.equal(a.synced, true);
    assert.equal(location.size, 2);
    assert.equal(
      location.find('sip:alice@example.test', 'sip:alice@192.0.2.1:5060')?.expiresAt,
      clocks.m + 30_000,
    );
    assert.equal(dialogs.get('call-1;f;t')?.createdAt, clocks.e - 2000);
    a.noteHead(12);
    assert.equal(a.synced, false, 'primary is ahead');
    a.applyChanges([{ s: 11, k: 'u', aor: 'sip:bob@example.test', contact: 'sip:bob@192.0.2.1:5060' }], 12);
    assert.equal(a.synced, false);
    a.applyChanges([{ s: 12, k: 'e', id: 'call-1;f;t' }], 12);
    assert.equal(a.synced, true);
    assert.equal(location.size, 1);
    assert.equal(dialogs.size, 0);
    a.disconnected();
    assert.equal(a.synced, false);
    assert.equal(location.size, 1, 'state stays after a disconnect');
  });

  it('applies changes strictly in order', () => {
    const { a } = setup();
    a.beginSnapshot(5);
    a.endSnapshot(5);
    assert.throws(() => a.applyChanges([{ s: 7, k: 'e', id: 'x' }], 7), /change 7 where 6 was due/);
    a.applyChanges([{ s: 6, k: 'e', id: 'x' }], 6);
    assert.throws(() => a.applyChanges([{ s: 6, k: 'e', id: 'x' }], 6), /change 6 where 7/);
  });

  it('refuses changes before the snapshot and a mismatched snapshot end', () => {
    const { a } = setup();
    assert.throws(() => a.applyChanges([], 0), /before the snapshot/);
    a.beginSnapshot(3);
    assert.throws(() => a.endSnapshot(4), /does not match/);
  });

  it('a new snapshot keeps the old state until its end, then drops what the primary no longer has', () => {
    const { location, dialogs, a } = setup();
    a.beginSnapshot(1);
    a.snapshotChunk([wireB('alice'), wireB('bob')], [wireD('old')]);
    a.endSnapshot(1);
    a.disconnected();
    a.beginSnapshot(100);
    a.snapshotChunk([wireB('bob', 5000)], []);
    assert.equal(location.size, 2, 'alice still there mid-snapshot');
    assert.equal(dialogs.size, 1);
    a.snapshotChunk([], [wireD('new')]);
    a.endSnapshot(100);
    assert.deepEqual(
      location.all().map((b) => b.aor),
      ['sip:bob@example.test'],
    );
    assert.deepEqual(
      dialogs.active().map((d) => d.id),
      ['new;f;t'],
    );
  });

  it('upserts a dialog from created to confirmed and refreshes a binding', () => {
    const { clocks, location, dialogs, a } = setup();
    a.beginSnapshot(0);
    a.endSnapshot(0);
    a.applyChanges([{ s: 1, k: 'd', d: { ...wireD('c'), state: 'early' } }], 1);
    assert.equal(dialogs.get('c;f;t')?.state, 'early');
    a.applyChanges(
      [
        { s: 2, k: 'd', d: wireD('c') },
        { s: 3, k: 'b', b: wireB('alice', 1000) },
        { s: 4, k: 'b', b: { ...wireB('alice', 9000), cseq: 2 } },
      ],
      4,
    );
    assert.equal(dialogs.get('c;f;t')?.state, 'confirmed');
    assert.equal(location.size, 1);
    const b = location.find('sip:alice@example.test', 'sip:alice@192.0.2.1:5060');
    assert.equal(b?.cseq, 2);
    assert.equal(b?.expiresAt, clocks.m + 9000);
  });

  it('what it applies reaches the stores’ subscribers as changes of origin replica', () => {
    const { location, dialogs, a } = setup();
    const heard: string[] = [];
    location.subscribe((c) => heard.push(`${c.kind} ${c.origin}`));
    dialogs.subscribe((c) => heard.push(`${c.kind} ${c.origin}`));
    a.beginSnapshot(0);
    a.snapshotChunk([wireB('alice')], [{ ...wireD('c'), state: 'early' }]);
    a.endSnapshot(0);
    a.applyChanges(
      [
        { s: 1, k: 'd', d: wireD('c') },
        { s: 2, k: 'b', b: wireB('alice') },
        { s: 3, k: 'u', aor: 'sip:alice@example.test', contact: 'sip:alice@192.0.2.1:5060' },
        { s: 4, k: 'e', id: 'c;f;t' },
      ],
      4,
    );
    assert.deepEqual(heard, [
      'added replica',
      'created replica',
      'confirmed replica',
      'refreshed replica',
      'removed replica',
      'terminated replica',
    ]);
  });
});
