// A stand-in SIP worker of a pool (`sip.workers` > 1), speaking the worker IPC protocol: it reads its identity
// from the pool's environment, marks itself in the mesh directory (a file "worker-INDEX" holding "INDEX/COUNT"),
// answers pings, listings (an AoR naming its index), counters (values that depend on its index) and drains (a
// worker other than 0 answers a replication drain after FAKE_POOL_DRAIN_MS), echoes each role it hears as a
// `served` message, and reports its replica every 100 ms: worker 0 always in sync, the others never (a decoy:
// only worker 0 replicates, and the pool must not pass another's report on).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { workerIdentity } from '../../src/ha/worker-env.js';
import type { NodeToWorker, SipCounters, WorkerToNode } from '../../src/ha/worker-ipc.js';

const me = workerIdentity();
// The test runner runs every file under dist/test, this one too: without a pool there is nothing to stand in for.
if (me === undefined) process.exit(0);
const { index, count, meshDir } = me;
writeFileSync(join(meshDir, `worker-${index}`), `${index}/${count}`);
const send = (m: WorkerToNode) => process.send?.(m);
const drainMs = index === 0 ? 0 : Number(process.env.FAKE_POOL_DRAIN_MS ?? 150);
let sipIn = 0;
let role: 'primary' | 'backup' = 'backup';

setInterval(() => {
  const synced = index === 0;
  send({
    type: 'replication',
    role,
    synced,
    connected: synced,
    lastSeq: 0,
    ackedSeq: 0,
    lagP50Ms: null,
    lagP99Ms: null,
    bindings: 0,
    dialogs: 0,
    lastSyncedAgoMs: role === 'backup' && synced ? 0 : null,
    promotedSynced: role === 'primary' ? synced : null,
  });
}, 100).unref();

function counters(): SipCounters {
  return {
    requestsByMethod: { INVITE: index + 1, REGISTER: 10 },
    responsesByStatus: { '200': 100 * (index + 1) },
    parseErrors: {},
    messagesIn: 10 * (index + 1),
    messagesOut: 1,
    transactionTimeouts: 0,
    retransmissionsAbsorbed: 0,
    transportErrors: 0,
    unreachable: 0,
    sendErrors: 0,
    activeTransactions: 2,
    // Worker 0 holds every worker's bindings: its number is the pool's.
    bindings: index === 0 ? 7 : 3,
    dialogs: index === 0 ? 4 : 1,
    overloadRejectedByMethod: {},
    overloadAcksDropped: 0,
    overloadActive: index === 1,
    overloadFraction: index === 1 ? 0.5 : 0.1,
  };
}

process.on('message', (m: NodeToWorker) => {
  switch (m.type) {
    case 'ping':
      sipIn += index + 1;
      send({ type: 'pong', seq: m.seq, loopLagMs: index, sipIn });
      break;
    case 'role':
      role = m.role;
      send({ type: 'served', atEpochMs: Date.now(), method: `ROLE-${index}-${m.role}` });
      break;
    case 'query':
      if (m.what === 'counters') send({ type: 'answer', id: m.id, counters: counters() });
      else if (m.what === 'registrations')
        send({
          type: 'answer',
          id: m.id,
          registrations: [
            {
              aor: `sip:w${index}@example.com`,
              contact: 'sip:x@1.2.3.4',
              q: 1,
              expiresInS: 60,
              received: null,
            },
          ],
          total: 1,
        });
      else send({ type: 'answer', id: m.id, calls: [], total: 0 });
      break;
    case 'drain':
      setTimeout(
        () =>
          send({
            type: 'drained',
            id: m.id,
            ok: true,
            lastSeq: index,
            ackedSeq: index,
            detail: `worker ${index}`,
          }),
        // Only a replication drain waits (a handover's asks for the connections to end, at once).
        m.timeoutMs === 0 ? 0 : drainMs,
      );
      break;
    case 'stop':
      process.exit(0);
  }
});
// The worker exits when its parent disappears.
process.on('disconnect', () => process.exit(0));
setTimeout(
  () => send({ type: 'ready', listening: [{ transport: 'udp', address: '127.0.0.1', port: 5060 + index }] }),
  20,
);
