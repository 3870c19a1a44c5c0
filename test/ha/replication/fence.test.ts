// Cluster mode's fencing token on the replication stream: the primary tells its permit's revision in its hello,
// and a replica that knows a newer permit refuses the stream (a stale primary), then accepts it once the primary's
// token is the newest it knows.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { WorkerRoleHolder } from '../../../src/app/worker-role.js';
import type { WorkerReplication } from '../../../src/ha/replication/worker-replication.js';
import { createLogger } from '../../../src/log/logger.js';
import type { SipServer } from '../../../src/server/sip-server.js';
import { replicatedPair, until } from '../../helpers/replication-pair.js';

const log = createLogger('silent');
const key = randomBytes(32);

describe('replication and the fencing token', { timeout: 30_000 }, () => {
  let a: SipServer;
  let b: SipServer;
  let ra: WorkerReplication;
  let rb: WorkerReplication;
  const roleA = new WorkerRoleHolder();
  const roleB = new WorkerRoleHolder();

  before(async () => {
    roleA.set('primary');
    roleA.fence = { own: 5, highest: 5 };
    // B has heard of a newer permit (revision 9): A's is stale.
    roleB.fence = { own: 0, highest: 9 };
    ({ a, b, ra, rb } = await replicatedPair({ key, log, roleA, roleB }));
  });

  after(async () => {
    await ra.stop();
    await rb.stop();
    await a.stop(0);
    await b.stop(0);
  });

  it('a replica that knows a newer permit refuses a primary with an older one', async () => {
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(rb.status().connected, false, 'no stream from the fenced primary');
    assert.equal(ra.status().synced, false);
  });

  it('the same primary with the newest token is accepted', async () => {
    roleA.fence = { own: 9, highest: 9 };
    await until(
      () => rb.status().synced && ra.status().synced,
      3000,
      'synced once A holds the newest permit',
    );
  });
});
