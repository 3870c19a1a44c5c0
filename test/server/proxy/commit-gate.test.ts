// The durability port seen from the proxy (acknowledged means replicated), with a gate the test opens: a REGISTER's
// 200 that confirms a binding change and the 2xx that confirms a dialog wait for it; the transactions absorb
// retransmissions meanwhile; what changed nothing, or a gate with nothing to wait for, answers at once.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CommitGate } from '../../../src/server/commit-gate.js';
import { makeRequest, makeResponse, UDP_SOURCE } from '../../sip/transaction/helpers.js';
import { bobBehindEdge, proxyHarness } from './harness.js';

class FakeGate implements CommitGate {
  calls = 0;
  hold = true;
  private readonly waiting: Array<() => void> = [];

  afterChange(): Promise<void> | undefined {
    this.calls++;
    if (!this.hold) return undefined;
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  release(): void {
    for (const r of this.waiting.splice(0)) r();
  }
}

const settle = () => new Promise((r) => setImmediate(r));

function register(contact: string | undefined, cseq: number, branch: string) {
  const r = makeRequest({ method: 'REGISTER', uri: 'sip:example.test', branch, cseq });
  // makeRequest's To is bob@example.test: the AOR registered.
  if (contact !== undefined) r.headers.append('Contact', contact);
  return r;
}

describe('commit gate (acknowledged means replicated)', () => {
  it("holds a REGISTER's 200 until the gate opens; a retransmission meanwhile is absorbed, not processed", async () => {
    const h = proxyHarness();
    const gate = new FakeGate();
    h.proxy.commitGate = gate;
    let changes = 0;
    h.location.subscribe(() => changes++);
    const req = register('<sip:bob@10.0.0.7:5062>', 1, 'z9hG4bKreg1');
    h.receive(req);
    assert.equal(gate.calls, 1);
    assert.equal(changes, 1);
    assert.deepEqual(h.answered(), [], 'no 200 yet');
    h.receive(register('<sip:bob@10.0.0.7:5062>', 1, 'z9hG4bKreg1'));
    await settle();
    assert.deepEqual(h.answered(), [], 'the retransmission got nothing (Trying, §17.2.2)');
    assert.equal(changes, 1, 'and was not handled again');
    assert.equal(gate.calls, 1);
    gate.release();
    await settle();
    assert.deepEqual(h.answered(), [200]);
    h.receive(register('<sip:bob@10.0.0.7:5062>', 1, 'z9hG4bKreg1'));
    assert.equal(h.sender.resent.length, 1, 'from Completed the 200 is re-sent as usual');
  });

  it('does not ask the gate for a REGISTER that changed nothing, and answers at once when it has nothing to wait for', async () => {
    const h = proxyHarness();
    const gate = new FakeGate();
    h.proxy.commitGate = gate;
    h.receive(register(undefined, 1, 'z9hG4bKquery'));
    assert.deepEqual(h.answered(), [200], 'a query');
    assert.equal(gate.calls, 0);
    gate.hold = false;
    h.receive(register('<sip:bob@10.0.0.7:5062>', 2, 'z9hG4bKreg2'));
    assert.equal(gate.calls, 1);
    assert.deepEqual(h.answered(), [200, 200], 'synchronously, no promise');
  });

  it('holds the 2xx that confirms a dialog; a retransmitted 2xx meanwhile is not forwarded; later ones are', async () => {
    const h = proxyHarness();
    const gate = new FakeGate();
    h.proxy.commitGate = gate;
    h.location.put(bobBehindEdge());
    const INVITE = { method: 'INVITE', uri: 'sip:bob@example.test', branch: 'z9hG4bKcaller1' };
    h.receive(makeRequest(INVITE));
    const [invite] = h.sent('INVITE');
    assert.ok(invite);
    const from = { ...UDP_SOURCE, ...invite.to };
    h.layer.receiveResponse(makeResponse(invite.request, 180, 'Ringing', 'bob'), from);
    assert.equal(gate.calls, 0, 'an early dialog does not wait');
    const ok = makeResponse(invite.request, 200, 'OK', 'bob');
    h.layer.receiveResponse(ok, from);
    assert.equal(gate.calls, 1);
    h.layer.receiveResponse(makeResponse(invite.request, 200, 'OK', 'bob'), from);
    await settle();
    assert.equal(h.sender.responses(200).length, 0, 'neither copy before the gate opens');
    // An INVITE retransmission meanwhile gets the last provisional response (§17.2.1).
    const resent = h.sender.resent.length;
    h.receive(makeRequest(INVITE));
    assert.equal(h.sender.resent.length, resent + 1);
    gate.release();
    await settle();
    assert.equal(h.sender.responses(200).length, 1, 'the held 2xx, once');
    h.layer.receiveResponse(makeResponse(invite.request, 200, 'OK', 'bob'), from);
    assert.equal(h.sender.responses(200).length, 2, 'a later retransmission goes up at once (§16.7 step 5)');
    assert.equal(gate.calls, 1);
  });
});
