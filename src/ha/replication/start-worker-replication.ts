// Replication inside the SIP worker (it owns the state): built from the config's ha section and the HA key,
// reporting its status to the node every REPORT_MS and whenever the connection or the synced state flips.

import type { Logger } from 'pino';
import type { LoadedConfig } from '../../config/load.js';
import type { SipServer } from '../../server/sip-server.js';
import { loadHaKey } from '../key-file.js';
import { dropsBindingChanges, testBreak } from '../test-break.js';
import type { WorkerToNode } from '../worker-ipc.js';
import { replicationEndpoints } from './endpoints.js';
import { adaptStores } from './store-adapter.js';
import { WorkerReplication, type WorkerRoleView } from './worker-replication.js';

const REPORT_MS = 200;

export async function startWorkerReplication(
  server: SipServer,
  role: WorkerRoleView,
  loaded: LoadedConfig,
  log: Logger,
  send: (m: WorkerToNode) => void,
): Promise<WorkerReplication | undefined> {
  const ha = loaded.config.ha;
  if (ha === undefined) return undefined;
  const key = await loadHaKey(loaded);
  const ep = replicationEndpoints(ha);
  const report = () => send({ type: 'replication', ...replication.status() });
  const replication: WorkerReplication = new WorkerReplication({
    key,
    nodeId: loaded.config.node.id,
    role,
    stores: adaptStores(server),
    listen: ep.listen,
    peers: ep.peers,
    locals: ep.locals,
    log: log.child({ part: 'replication' }),
    onChange: () => report(),
    onPeerConnLost: (how) => send({ type: 'peer-conn-lost', how }),
    ackWaitMs: ha.replication.ack_wait_ms,
    ...(testBreak() === 'drop-replicated' ? { dropChange: dropsBindingChanges } : {}),
  });
  await replication.start();
  // Acknowledged means replicated: the SIP server's confirming responses wait on the backup's acknowledgement.
  if (ha.replication.ack_wait_ms > 0) server.proxy.commitGate = replication.ackBarrier;
  setInterval(report, REPORT_MS).unref();
  return replication;
}
