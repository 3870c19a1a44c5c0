// A stand-in SIP worker speaking the worker IPC protocol, for supervisor tests without SIP. FAKE_WORKER_MODE:
// "ok" (default), "silent" (never answers pings), "no-ready" (never ready).
import type { NodeToWorker, WorkerToNode } from '../../src/ha/worker-ipc.js';

const mode = process.env.FAKE_WORKER_MODE ?? 'ok';
const send = (m: WorkerToNode) => process.send?.(m);

process.on('message', (m: NodeToWorker) => {
  if (m.type === 'ping' && mode !== 'silent') send({ type: 'pong', seq: m.seq, loopLagMs: 0 });
  if (m.type === 'role' && m.role === 'primary')
    setTimeout(() => send({ type: 'served', atEpochMs: Date.now(), method: 'OPTIONS' }), 5);
  if (m.type === 'stop') process.exit(0);
});
// The worker exits when its parent disappears.
process.on('disconnect', () => process.exit(0));
if (mode !== 'no-ready') setTimeout(() => send({ type: 'ready', listening: [] }), 20);
