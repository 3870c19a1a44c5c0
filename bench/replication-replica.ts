// The backup side of bench/replication.ts, in its own process (forked with --expose-gc): a replica LocationService
// and DialogStore fed by the replication stream, measuring its heap on request.
import { WorkerRoleHolder } from '../src/app/worker-role.js';
import { adaptStores } from '../src/ha/replication/store-adapter.js';
import { WorkerReplication } from '../src/ha/replication/worker-replication.js';
import { createLogger } from '../src/log/logger.js';
import { DialogStore } from '../src/server/dialogs.js';
import { LocationService } from '../src/server/location-service.js';

export type ReplicaRequest = { type: 'measure' } | { type: 'stop' };
export type ReplicaReply =
  | { type: 'ready'; heapUsed: number }
  | {
      type: 'measured';
      heapUsed: number;
      bindings: number;
      dialogs: number;
      synced: boolean;
      appliedSeq: number;
      snapshots: number;
    };

const gc = (globalThis as { gc?: () => void }).gc;

function heapAfterGc(): number {
  for (let i = 0; i < 3; i++) gc?.();
  return process.memoryUsage().heapUsed;
}

async function main(): Promise<void> {
  const key = Buffer.from(process.env.SIPHA_BENCH_KEY ?? '', 'hex');
  const port = Number(process.env.SIPHA_BENCH_PRIMARY_PORT);
  const send = (m: ReplicaReply) => process.send?.(m);
  const location = new LocationService();
  const dialogs = new DialogStore();
  const node = new WorkerReplication({
    key,
    nodeId: 'bench-backup',
    role: new WorkerRoleHolder(),
    stores: adaptStores({ location, dialogs }),
    listen: [{ host: '127.0.0.1', port: 0, family: 4 }],
    peers: [{ host: '127.0.0.1', port, family: 4 }],
    log: createLogger('warn', 'replica'),
  });
  const baseline = heapAfterGc();
  await node.start();
  process.on('disconnect', () => process.exit(0));
  process.on('message', (m: ReplicaRequest) => {
    if (m.type === 'stop') {
      void node.stop().then(() => process.exit(0));
      return;
    }
    const s = node.status();
    send({
      type: 'measured',
      heapUsed: heapAfterGc(),
      bindings: location.size,
      dialogs: dialogs.size,
      synced: s.synced,
      appliedSeq: s.ackedSeq,
      snapshots: node.client.snapshots,
    });
  });
  send({ type: 'ready', heapUsed: baseline });
}

void main();
