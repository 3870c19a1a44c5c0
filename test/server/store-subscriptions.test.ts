// The stores' change feeds: several subscribers hear every change in order, each can unsubscribe, and every change
// says where it came from (this node's SIP handling and expiry, or the replication stream).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ChangeFeed } from '../../src/server/change-feed.js';
import { type Dialog, type DialogChange, DialogStore } from '../../src/server/dialogs.js';
import { type Binding, type BindingChange, LocationService } from '../../src/server/location-service.js';
import type { SipRequest, SipResponse } from '../../src/sip/message.js';
import { parseMessage } from '../../src/sip/parser.js';

function binding(user: string, expiresAt = 1000): Binding {
  return {
    aor: `sip:${user}@example.test`,
    contact: `sip:${user}@192.0.2.1:5060`,
    q: 1000,
    expiresAt,
    callId: `c-${user}`,
    cseq: 1,
    path: [],
    updatedAt: 0,
  };
}

const heard = (c: BindingChange) =>
  c.kind === 'removed'
    ? `${c.kind} ${c.aor} ${c.reason} ${c.origin}`
    : `${c.kind} ${c.binding.aor} ${c.origin}`;

function parse<T extends SipRequest | SipResponse>(lines: string[]): T {
  const r = parseMessage(Buffer.from([...lines, 'Content-Length: 0', '', ''].join('\r\n'), 'latin1'));
  if (!r.ok) throw new Error('unparsable');
  return r.message as T;
}

const head = [
  'Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKx',
  'From: <sip:alice@example.test>;tag=f',
  'Call-ID: c1',
];
const invite = parse<SipRequest>([
  'INVITE sip:bob@example.test SIP/2.0',
  ...head,
  'To: <sip:bob@example.test>',
  'CSeq: 1 INVITE',
]);
const response = (status: number) =>
  parse<SipResponse>([`SIP/2.0 ${status} X`, ...head, 'To: <sip:bob@example.test>;tag=t', 'CSeq: 1 INVITE']);
const bye = parse<SipRequest>([
  'BYE sip:alice@192.0.2.1 SIP/2.0',
  ...head,
  'To: <sip:bob@example.test>;tag=t',
  'CSeq: 2 BYE',
]);

function dialog(id: string, state: Dialog['state']): Dialog {
  return { id, callId: id, fromTag: 'f', toTag: 't', caller: 'a', callee: 'b', state, createdAt: 0 };
}

describe('ChangeFeed', () => {
  it('tells every subscriber, in order of subscription, until it unsubscribes', () => {
    const feed = new ChangeFeed<number>();
    const got: string[] = [];
    const one = (n: number) => got.push(`one ${n}`);
    const offOne = feed.subscribe(one);
    const offTwo = feed.subscribe((n) => got.push(`two ${n}`));
    const offAgain = feed.subscribe(one);
    feed.emit(1);
    offOne();
    offOne();
    feed.emit(2);
    offTwo();
    offAgain();
    feed.emit(3);
    assert.deepEqual(got, ['one 1', 'two 1', 'one 1', 'two 2', 'one 2']);
  });
});

describe('LocationService subscriptions', () => {
  it('several subscribers hear each change with its origin; one that unsubscribed hears no more', () => {
    const loc = new LocationService();
    const a: string[] = [];
    const b: string[] = [];
    const offA = loc.subscribe((c) => a.push(heard(c)));
    loc.subscribe((c) => b.push(heard(c)));
    loc.put(binding('alice'));
    loc.put(binding('alice', 2000));
    loc.put(binding('bob'), 'replica');
    offA();
    loc.remove('sip:bob@example.test', 'sip:bob@192.0.2.1:5060', 'unregistered', 'replica');
    loc.remove('sip:alice@example.test', 'sip:alice@192.0.2.1:5060');
    assert.deepEqual(a, [
      'added sip:alice@example.test local',
      'refreshed sip:alice@example.test local',
      'added sip:bob@example.test replica',
    ]);
    assert.deepEqual(b, [
      ...a,
      'removed sip:bob@example.test unregistered replica',
      'removed sip:alice@example.test unregistered local',
    ]);
  });

  it('its own expiry is a local change', () => {
    const loc = new LocationService();
    loc.put(binding('carol', 100), 'replica');
    const got: string[] = [];
    loc.subscribe((c) => got.push(heard(c)));
    assert.equal(loc.expire(100), 1);
    assert.deepEqual(got, ['removed sip:carol@example.test expired local']);
  });

  it('a remove that finds nothing is no change', () => {
    const loc = new LocationService();
    const got: BindingChange[] = [];
    loc.subscribe((c) => got.push(c));
    assert.equal(loc.remove('sip:x@example.test', 'sip:x@h'), false);
    assert.deepEqual(got, []);
  });
});

describe('DialogStore subscriptions', () => {
  const text = (c: DialogChange) => `${c.kind} ${c.dialog.id} ${c.dialog.state} ${c.origin}`;

  it('SIP handling makes local changes, heard by several subscribers until they unsubscribe', () => {
    const store = new DialogStore(() => 5);
    const a: string[] = [];
    const b: string[] = [];
    store.subscribe((c) => a.push(text(c)));
    const offB = store.subscribe((c) => b.push(text(c)));
    store.onInviteResponse(invite, response(180));
    offB();
    store.onInviteResponse(invite, response(200));
    store.onBye(bye);
    assert.deepEqual(a, [
      'created c1;f;t early local',
      'confirmed c1;f;t confirmed local',
      'terminated c1;f;t terminated local',
    ]);
    assert.deepEqual(b, ['created c1;f;t early local']);
  });

  it('its own expiry is a local change', () => {
    let now = 0;
    const store = new DialogStore(() => now);
    store.restore(dialog('old', 'confirmed'), 'replica');
    const got: string[] = [];
    store.subscribe((c) => got.push(text(c)));
    now = 100;
    assert.equal(store.expire(50), 1);
    assert.deepEqual(got, ['terminated old terminated local']);
  });

  it('restore and remove carry the origin given: new is created, early → confirmed is confirmed, same state is silent', () => {
    const store = new DialogStore();
    const got: string[] = [];
    store.subscribe((c) => got.push(text(c)));
    store.restore(dialog('d1', 'early'), 'replica');
    store.restore(dialog('d1', 'early'), 'replica');
    store.restore(dialog('d1', 'confirmed'), 'replica');
    store.restore(dialog('d1', 'confirmed'), 'replica');
    store.restore(dialog('d2', 'confirmed'), 'local');
    store.remove('d1', 'replica');
    store.remove('d1', 'replica');
    assert.deepEqual(got, [
      'created d1 early replica',
      'confirmed d1 confirmed replica',
      'created d2 confirmed local',
      'terminated d1 terminated replica',
    ]);
    assert.equal(store.size, 1);
  });
});
