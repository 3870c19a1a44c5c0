// The benchmark's etcd: a real cluster on loopback (src/lab/etcd-cluster.ts), and its revision: every directory
// transaction bumps it by one.
import type { Etcd3 } from 'etcd3';

export { startLoopbackEtcd } from '../../src/lab/etcd-cluster.js';

/** The cluster's current revision (a read of a key that need not exist carries it in its header). */
export async function revision(client: Etcd3): Promise<number> {
  const r = await client.get('/bench/revision-probe').exec();
  return Number(r.header.revision);
}
