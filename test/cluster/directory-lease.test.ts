// The directory's lease and roles against a real etcd: both nodes of a pair share the pair's lease (its entries
// outlive one node), only the primary writes and a new primary publishes every AoR it holds, and a lease that
// vanished (expired during an etcd outage; here revoked behind our back) is granted again and filled again.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Etcd3 } from 'etcd3';
import { pino } from 'pino';
import { Directory } from '../../src/cluster/directory.js';
import { aorKey, pairKey, pairLeaseId } from '../../src/cluster/keys.js';
import { clusterSchema } from '../../src/config/schema.js';
import type { EtcdCluster } from '../../src/lab/etcd-cluster.js';
import { type Binding, LocationService } from '../../src/server/location-service.js';
import { startLoopbackEtcd } from '../helpers/etcd.js';

const DOMAIN = 'example.test';
const PREFIX = '/lease-test';

function binding(aor: string, contact: string): Binding {
  const now = performance.now();
  return { aor, contact, q: 1000, expiresAt: now + 600_000, callId: 'c', cseq: 1, path: [], updatedAt: now };
}

async function eventually(what: string, cond: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

interface Node {
  location: LocationService;
  directory: Directory;
  etcd: Etcd3;
  primary: boolean;
}

describe('directory lease and roles (real etcd)', () => {
  let etcd: EtcdCluster;
  let client: Etcd3;
  const nodes: Node[] = [];

  const node = (pair: string, primary: boolean, ttl = 1): Node => {
    const cluster = clusterSchema.parse({
      etcd: etcd.endpoints(),
      pair_id: pair,
      prefix: PREFIX,
      pair_lease_ttl_s: ttl,
      batch_ms: 10,
    });
    const location = new LocationService();
    const c = new Etcd3({ hosts: etcd.endpoints() });
    const n: Node = { location, etcd: c, primary, directory: undefined as unknown as Directory };
    n.directory = new Directory({
      cluster,
      domain: DOMAIN,
      etcd: c,
      location,
      acting: () => n.primary,
      log: pino({ level: 'silent' }),
      revokeOnClose: false,
    });
    n.directory.start(`127.0.0.1:${5000 + nodes.length}`);
    nodes.push(n);
    return n;
  };
  const close = async (n: Node) => {
    await n.directory.close();
    n.etcd.close();
  };
  const get = async (key: string) => client.get(key).string();

  before(async () => {
    etcd = await startLoopbackEtcd(1);
    client = new Etcd3({ hosts: etcd.endpoints() });
  });
  after(async () => {
    for (const n of nodes) await close(n).catch(() => {});
    client?.close();
    await etcd?.destroy();
  });

  it('only the primary writes; a backup that becomes primary publishes every AoR it holds', async () => {
    const a = node('pa', true);
    const b = node('pa', false);
    await eventually(
      'the pair key is there',
      async () => (await get(pairKey(PREFIX, DOMAIN, 'pa'))) !== null,
    );
    // The backup mirrors a binding (replication) before the primary published it: nothing from the backup.
    b.location.put(binding(`x@${DOMAIN}`, 'sip:x@127.0.0.1:1'), 'replica');
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(await get(aorKey(PREFIX, DOMAIN, `x@${DOMAIN}`)), null);
    // Takeover.
    a.primary = false;
    a.directory.roleChanged();
    b.primary = true;
    b.directory.roleChanged();
    await eventually('x is published by the new primary', async () => {
      const v = await get(aorKey(PREFIX, DOMAIN, `x@${DOMAIN}`));
      return v !== null && JSON.parse(v).pair === 'pa';
    });
    // Its lease is the pair's.
    const lease = await client.kv.range({ key: Buffer.from(aorKey(PREFIX, DOMAIN, `x@${DOMAIN}`)) });
    assert.equal(lease.kvs[0]?.lease, pairLeaseId(PREFIX, DOMAIN, 'pa'));
  });

  it('the pair lease is shared: with one node gone (not revoking), the other keeps the entries alive', async () => {
    // A 2 s TTL: a busy test machine must not lose a keep-alive round.
    const a = node('pb', true, 2);
    const b = node('pb', false, 2);
    a.location.put(binding(`y@${DOMAIN}`, 'sip:y@127.0.0.1:2'));
    await eventually('y published', async () => (await get(aorKey(PREFIX, DOMAIN, `y@${DOMAIN}`))) !== null);
    await close(a);
    // Two TTLs later it is still there: the backup's keep-alives hold the same lease.
    await new Promise((r) => setTimeout(r, 4500));
    assert.notEqual(await get(aorKey(PREFIX, DOMAIN, `y@${DOMAIN}`)), null);
    assert.equal(b.directory.status().etcdReachable, true);
    await close(b);
    await eventually(
      'y expires with the whole pair',
      async () => (await get(aorKey(PREFIX, DOMAIN, `y@${DOMAIN}`))) === null,
      8000,
    );
  });

  it('a lease that vanished is granted again and the primary publishes everything again', async () => {
    const a = node('pc', true);
    a.location.put(binding(`z@${DOMAIN}`, 'sip:z@127.0.0.1:3'));
    await eventually('z published', async () => (await get(aorKey(PREFIX, DOMAIN, `z@${DOMAIN}`))) !== null);
    await client.leaseClient.leaseRevoke({ ID: pairLeaseId(PREFIX, DOMAIN, 'pc') });
    assert.equal(await get(aorKey(PREFIX, DOMAIN, `z@${DOMAIN}`)), null);
    await eventually(
      'z published again',
      async () => (await get(aorKey(PREFIX, DOMAIN, `z@${DOMAIN}`))) !== null,
    );
    assert.notEqual(await get(pairKey(PREFIX, DOMAIN, 'pc')), null, 'the pair key too');
  });

  it('a pair lease revoked again and again: whichever node grants it anew, the primary fills it again (pair key and AoRs)', async () => {
    const a = node('pe', true);
    const b = node('pe', false);
    a.location.put(binding(`w@${DOMAIN}`, 'sip:w@127.0.0.1:4'));
    await eventually('w published', async () => (await get(aorKey(PREFIX, DOMAIN, `w@${DOMAIN}`))) !== null);
    for (let i = 0; i < 3; i++) {
      await client.leaseClient.leaseRevoke({ ID: pairLeaseId(PREFIX, DOMAIN, 'pe') });
      await eventually(
        'w and the pair key published again',
        async () =>
          (await get(aorKey(PREFIX, DOMAIN, `w@${DOMAIN}`))) !== null &&
          (await get(pairKey(PREFIX, DOMAIN, 'pe'))) !== null,
      );
    }
    assert.equal(b.directory.status().etcdReachable, true);
  });

  it('a directory configured against no etcd keeps retrying, reporting the error, and never throws', async () => {
    const cluster = clusterSchema.parse({
      etcd: ['http://127.0.0.1:1'],
      pair_id: 'pd',
      prefix: PREFIX,
      request_timeout_ms: 100,
    });
    const c = new Etcd3({ hosts: cluster.etcd, dialTimeout: 100 });
    const d = new Directory({
      cluster,
      domain: DOMAIN,
      etcd: c,
      location: new LocationService(),
      acting: () => true,
      log: pino({ level: 'silent' }),
      revokeOnClose: true,
    });
    try {
      d.start('127.0.0.1:5099');
      await eventually('an error is reported', () => d.status().lastError !== undefined, 5000);
      assert.equal(d.status().etcdReachable, false);
      assert.equal(d.status().entries, 0);
    } finally {
      await d.close();
      c.close();
    }
  });
});
