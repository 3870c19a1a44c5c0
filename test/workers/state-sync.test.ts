// The shared registrations and calls of several SIP workers (src/workers/state-sync.ts): a keeper and members
// wired by an in-memory port that serializes every message as the mesh does and delivers it a turn later.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { adaptStores } from '../../src/ha/replication/store-adapter.js';
import { type Dialog, DialogStore } from '../../src/server/dialogs.js';
import { type Binding, LocationService } from '../../src/server/location-service.js';
import { StateKeeper, StateMember, type StateMessage } from '../../src/workers/state-sync.js';

const settle = async () => {
  for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
};

function binding(user: string, host = '198.51.100.1'): Binding {
  const now = performance.now();
  return {
    aor: `sip:${user}@example.test`,
    contact: `sip:${user}@${host}:5060`,
    q: 1000,
    expiresAt: now + 3_600_000,
    callId: `c-${user}`,
    cseq: 1,
    path: [],
    updatedAt: now,
  };
}

function dialog(callId: string): Dialog {
  return {
    id: `${callId};a;b`,
    callId,
    fromTag: 'a',
    toTag: 'b',
    caller: 'sip:alice@example.test',
    callee: 'sip:bob@example.test',
    state: 'confirmed',
    createdAt: Date.now(),
    confirmedAt: Date.now(),
  };
}

interface Worker {
  location: LocationService;
  dialogs: DialogStore;
  keeper?: StateKeeper;
  member?: StateMember;
}

/** Workers 0..n-1 with links that can be cut (a worker down). */
class Node {
  readonly workers: Array<Worker | undefined> = [];
  constructor(readonly n: number) {
    for (let i = 0; i < n; i++) this.startWorker(i);
  }

  private up(i: number): boolean {
    return this.workers[i] !== undefined;
  }

  startWorker(i: number): Worker {
    const location = new LocationService();
    const dialogs = new DialogStore();
    const stores = adaptStores({ location, dialogs }, 'sibling');
    const port = {
      send: (to: number, m: StateMessage) => {
        if (!this.up(to) || !this.up(i)) return false;
        const wire = JSON.parse(JSON.stringify(m));
        const target = this.workers[to];
        setImmediate(() => {
          if (this.workers[to] !== target || target === undefined) return;
          if (target.keeper !== undefined) target.keeper.onMessage(i, wire);
          else target.member?.onMessage(wire);
        });
        return true;
      },
    };
    const w: Worker = { location, dialogs };
    if (i === 0) w.keeper = new StateKeeper(stores, port);
    else w.member = new StateMember(stores, port);
    this.workers[i] = w;
    w.keeper?.start();
    w.member?.start();
    // The links come up: each member's to the keeper, and the keeper's to each member.
    if (i === 0) {
      for (let j = 1; j < this.n; j++) {
        w.keeper?.onLink(j, true);
        this.workers[j]?.member?.onKeeperLink(true);
      }
    } else if (this.up(0)) {
      this.workers[0]?.keeper?.onLink(i, true);
      w.member?.onKeeperLink(true);
    }
    return w;
  }

  kill(i: number): void {
    const w = this.workers[i];
    w?.keeper?.stop();
    w?.member?.stop();
    this.workers[i] = undefined;
    if (i === 0) for (const m of this.workers) m?.member?.onKeeperLink(false);
    else this.workers[0]?.keeper?.onLink(i, false);
  }

  w(i: number): Worker {
    const w = this.workers[i];
    assert.ok(w !== undefined);
    return w;
  }
}

const aors = (w: Worker) =>
  w.location
    .all()
    .map((b) => b.aor)
    .sort();

describe('state shared by the SIP workers of a node', () => {
  it("a registration made by one worker is every worker's, and so is its removal and a call", async () => {
    const node = new Node(3);
    await settle();
    node.w(1).location.put(binding('alice'));
    node.w(2).location.put(binding('bob'));
    node.w(0).location.put(binding('carol'));
    node.w(2).dialogs.restore(dialog('call-1'), 'local');
    await settle();
    for (let i = 0; i < 3; i++) {
      assert.deepEqual(aors(node.w(i)), [
        'sip:alice@example.test',
        'sip:bob@example.test',
        'sip:carol@example.test',
      ]);
      assert.equal(node.w(i).dialogs.get('call-1;a;b')?.state, 'confirmed', `worker ${i}`);
    }
    node.w(1).location.remove('sip:bob@example.test', 'sip:bob@198.51.100.1:5060');
    node.w(2).dialogs.remove('call-1;a;b', 'local');
    await settle();
    for (let i = 0; i < 3; i++) {
      assert.deepEqual(aors(node.w(i)), ['sip:alice@example.test', 'sip:carol@example.test']);
      assert.equal(node.w(i).dialogs.size, 0);
    }
    assert.equal(node.w(1).member?.synced, true);
  });

  it("an outbound flow's binding (RFC 5626 instance and reg-id) stays one at every worker", async () => {
    const node = new Node(3);
    await settle();
    node.w(1).location.put({
      ...binding('webrtc'),
      instance: '<urn:uuid:00000000-0000-4000-8000-000000000001>',
      regId: 1,
    });
    await settle();
    for (let i = 0; i < 3; i++) {
      const b = node
        .w(i)
        .location.findFlow('sip:webrtc@example.test', '<urn:uuid:00000000-0000-4000-8000-000000000001>', 1);
      assert.ok(b !== undefined, `worker ${i} knows the flow`);
    }
  });

  it('the keeper alone expires, and the members hear it', async () => {
    const node = new Node(2);
    await settle();
    const short = { ...binding('dave'), expiresAt: performance.now() + 1 };
    node.w(1).location.put(short);
    await settle();
    assert.equal(node.w(0).location.size, 1);
    await new Promise((r) => setTimeout(r, 5));
    assert.equal(node.w(0).location.expire(performance.now()), 1);
    await settle();
    assert.equal(node.w(1).location.size, 0);
  });

  it('a restarted member starts empty and receives everything; a restarted keeper rebuilds the union from the members', async () => {
    const node = new Node(3);
    await settle();
    node.w(1).location.put(binding('alice'));
    node.w(2).location.put(binding('bob'));
    await settle();
    node.kill(2);
    node.startWorker(2);
    await settle();
    assert.deepEqual(aors(node.w(2)), ['sip:alice@example.test', 'sip:bob@example.test']);
    // The keeper dies; a member registers someone meanwhile; the keeper comes back empty.
    node.kill(0);
    node.w(1).location.put(binding('erin'));
    node.startWorker(0);
    await settle();
    for (let i = 0; i < 3; i++)
      assert.deepEqual(
        aors(node.w(i)),
        ['sip:alice@example.test', 'sip:bob@example.test', 'sip:erin@example.test'],
        `worker ${i}`,
      );
  });

  it("concurrent changes to one binding from two workers end the same everywhere: the keeper's order", async () => {
    const node = new Node(3);
    await settle();
    node.w(1).location.put({ ...binding('frank'), cseq: 5, callId: 'from-1' });
    node.w(2).location.put({ ...binding('frank'), cseq: 9, callId: 'from-2' });
    await settle();
    const views = [0, 1, 2].map((i) => node.w(i).location.all()[0]?.callId);
    assert.equal(new Set(views).size, 1, `views differ: ${views}`);
  });

  it("a member's change counts as acknowledged once the backup, through the keeper, has it", async () => {
    const node = new Node(2);
    await settle();
    const repl = { lastSeq: 0, ackedSeq: 0, waitable: true };
    node.w(0).keeper?.attachReplication(repl);
    // The replication numbers each change the keeper makes or applies.
    node.w(0).location.subscribe(() => {
      repl.lastSeq++;
    });
    const member = node.w(1).member;
    assert.ok(member !== undefined);
    let acks = 0;
    member.onAcked = () => acks++;
    node.w(1).location.put(binding('hank'));
    assert.equal(member.ackSource.lastSeq, 1);
    await settle();
    assert.equal(member.ackSource.ackedSeq, 0, 'not acknowledged before the backup has it');
    repl.ackedSeq = repl.lastSeq;
    node.w(0).keeper?.checkAcks();
    await settle();
    assert.equal(member.ackSource.ackedSeq, 1);
    assert.equal(member.ackSource.synced, true);
    // No synced backup: acknowledged as soon as the other workers have been sent it.
    repl.waitable = false;
    node.w(1).location.put(binding('ivy'));
    await settle();
    assert.equal(member.ackSource.ackedSeq, 2);
    assert.ok(acks >= 2);
    // No keeper: nothing to wait for.
    assert.equal(member.ackSource.synced, true);
    node.kill(0);
    assert.equal(member.ackSource.synced, false);
  });

  it("a member's flush resolves once the keeper has its changes; without a keeper it says no", async () => {
    const node = new Node(2);
    await settle();
    node.w(1).location.put(binding('gina'));
    assert.equal(await node.w(1).member?.flushToKeeper(1000), true);
    assert.equal(node.w(0).location.size, 1);
    node.kill(0);
    assert.equal(await node.w(1).member?.flushToKeeper(50), false);
  });
});
