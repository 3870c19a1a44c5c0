// A real etcd cluster on loopback for the cluster-mode tests (src/lab/etcd-cluster.ts runs the members).
import { EtcdCluster } from '../../src/lab/etcd-cluster.js';
import { freePort } from './ports.js';

/** Starts `members` etcd processes on 127.0.0.1 (free ports) and waits for a healthy cluster. */
export async function startLoopbackEtcd(members = 1): Promise<EtcdCluster> {
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
