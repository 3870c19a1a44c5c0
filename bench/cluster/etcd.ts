// A real etcd cluster on loopback for the benchmark (as test/helpers/etcd.ts does for the tests), and an etcd
// client to read its revision: every directory transaction bumps it by one.
import type { Etcd3 } from 'etcd3';
import { EtcdCluster } from '../../src/lab/etcd-cluster.js';
import { freePort } from './common.js';

export async function startLoopbackEtcd(members: number): Promise<EtcdCluster> {
  const specs = [];
  for (let i = 1; i <= members; i++)
    specs.push({
      name: `m${i}`,
      host: '127.0.0.1',
      clientPort: await freePort(),
      peerPort: await freePort(),
    });
  return EtcdCluster.start({ members: specs });
}

/** The cluster's current revision (a read of a key that need not exist carries it in its header). */
export async function revision(client: Etcd3): Promise<number> {
  const r = await client.get('/bench/revision-probe').exec();
  return Number(r.header.revision);
}
