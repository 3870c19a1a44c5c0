// A stand-in SIP worker whose overload control sheds for a while: its pongs say `overload: true` for pings 3 to 5
// (OVERLOADED_WORKER_EXIT=1: it exits instead of answering ping 6, still overloaded).
import type { NodeToWorker, WorkerToNode } from '../../src/ha/worker-ipc.js';

const send = (m: WorkerToNode) => process.send?.(m);
const exitWhileOverloaded = process.env.OVERLOADED_WORKER_EXIT === '1';

process.on('message', (m: NodeToWorker) => {
  if (m.type === 'ping') {
    if (exitWhileOverloaded && m.seq === 6) process.exit(1);
    send({ type: 'pong', seq: m.seq, loopLagMs: 0, overload: m.seq >= 3 && m.seq <= 5 });
  }
  if (m.type === 'stop') process.exit(0);
});
process.on('disconnect', () => process.exit(0));
setTimeout(() => send({ type: 'ready', listening: [] }), 20);
