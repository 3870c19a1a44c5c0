// The backup worker's replication client tells its node when the primary's side closed the connection (FIN) —
// evidence that the peer's processes may be gone (src/ha/role-machine.ts weighs it) — and not when the client
// dropped the connection itself. The reset (RST) case is in the lab (test/lab/fast-detect.test.ts, `ss -K`).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { WorkerRoleHolder } from '../../src/app/worker-role.js';
import type { WorkerReplication } from '../../src/ha/replication/worker-replication.js';
import { createLogger } from '../../src/log/logger.js';
import type { SipServer } from '../../src/server/sip-server.js';
import { replicatedPair } from '../helpers/replication-pair.js';
import { eventually } from '../lab/helpers.js';

const log = createLogger('silent');
const key = randomBytes(32);

describe('replication: the primary side closing the connection is reported to the node', () => {
  const roleA = new WorkerRoleHolder();
  const roleB = new WorkerRoleHolder();
  const lost: string[] = [];
  let a: SipServer;
  let b: SipServer;
  let ra: WorkerReplication;
  let rb: WorkerReplication;

  before(async () => {
    roleA.set('primary');
    ({ a, b, ra, rb } = await replicatedPair({
      key,
      log,
      roleA,
      roleB,
      b: { onPeerConnLost: (how) => lost.push(how) },
    }));
  });

  after(async () => {
    await rb.stop();
    await ra.stop();
    await a.stop(0);
    await b.stop(0);
  });

  it('closed by the primary: one report; dropped by the backup itself: none', async () => {
    assert.ok(await eventually(async () => rb.status().connected, 3000, 10), 'connected');
    assert.deepEqual(lost, []);
    ra.listener.dropSessions('test: the primary goes away');
    assert.ok(await eventually(async () => lost.length === 1, 2000, 5), 'reported');
    assert.equal(lost[0], 'closed');
    assert.ok(await eventually(async () => rb.status().connected, 3000, 10), 'reconnected');
    rb.client.drop('test: the backup gives up on the link');
    assert.ok(await eventually(async () => rb.status().connected, 3000, 10), 'reconnected again');
    await sleep(100);
    assert.deepEqual(lost, ['closed'], 'a connection this side dropped is not evidence about the peer');
  });
});
