// A stand-in SIP worker speaking the worker IPC protocol, for supervisor tests without SIP. FAKE_WORKER_MODE:
// "ok" (default), "silent" (never answers pings), "no-ready" (never ready).
import type { NodeToWorker, WorkerToNode } from '../../src/ha/worker-ipc.js';

const mode = process.env.FAKE_WORKER_MODE ?? 'ok';
const send = (m: WorkerToNode) => process.send?.(m);
let role: 'primary' | 'backup' = 'backup';

// A replica that is always in sync (FAKE_WORKER_SYNCED=0: never), reported like the real worker's.
const synced = process.env.FAKE_WORKER_SYNCED !== '0';
setInterval(() => {
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

process.on('message', (m: NodeToWorker) => {
  if (m.type === 'role') role = m.role;
  if (m.type === 'drain')
    send({
      type: 'drained',
      id: m.id,
      ok: synced,
      lastSeq: 0,
      ackedSeq: 0,
      detail: synced ? 'drained' : 'not synced',
    });
  if (m.type === 'ping' && mode !== 'silent') send({ type: 'pong', seq: m.seq, loopLagMs: 0 });
  if (m.type === 'role' && m.role === 'primary')
    setTimeout(() => send({ type: 'served', atEpochMs: Date.now(), method: 'OPTIONS' }), 5);
  if (m.type === 'stop') process.exit(0);
});
// The worker exits when its parent disappears.
process.on('disconnect', () => process.exit(0));
if (mode !== 'no-ready') setTimeout(() => send({ type: 'ready', listening: [] }), 20);
