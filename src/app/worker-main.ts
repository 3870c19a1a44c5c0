// The SIP worker: a child process of the HA node running the SIP server (DESIGN.md "Processes on each host").
// Started with `fork(worker-main.js, ['--config', FILE])`. It binds its sockets at once (the backup's to the VIP
// that is not there yet, via ip_nonlocal_bind), answers the node's IPC heartbeats, acts on timers only while
// primary, reports the first request it serves after a promotion, and exits when the node goes away.
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { loadConfig } from '../config/load.js';
import { loadHaKey } from '../ha/key-file.js';
import { startWorkerReplication } from '../ha/replication/start-worker-replication.js';
import type { WorkerReplication } from '../ha/replication/worker-replication.js';
import { setOwnNice } from '../ha/scheduling.js';
import { workerIdentity } from '../ha/worker-env.js';
import { isNodeToWorker, type NodeToWorker, type WorkerToNode } from '../ha/worker-ipc.js';
import { createLogger } from '../log/logger.js';
import { errorMessage } from '../net/errors.js';
import type { ChangeOrigin } from '../server/change-feed.js';
import { SipServer } from '../server/sip-server.js';
import { createVipDriver } from '../vip/driver.js';
import { nonceKeyFromHaKey, sharedNonceKey } from '../workers/nonce-key.js';
import { WorkerSiblings } from '../workers/siblings.js';
import { createClusterDirectory } from './cluster-directory.js';
import { reloadFromFile } from './reload.js';
import { WorkerRoleHolder } from './worker-role.js';

/** How long a worker handing over refuses new connections (the VIP moves within it). */
const HANDOVER_REFUSE_MS = 2000;

import { callEvent, callView, registrationEvent, registrationView, sipCounters } from './worker-views.js';

function send(message: WorkerToNode): void {
  // With a callback a broken channel (the node killed a moment ago: EPIPE) is an error passed here, not an
  // 'error' event on process that nobody handles; the 'disconnect' that follows ends this worker properly.
  if (process.connected) process.send?.(message, undefined, {}, () => {});
}

async function main(): Promise<void> {
  const i = process.argv.indexOf('--config');
  const file = i === -1 ? undefined : process.argv[i + 1];
  if (file === undefined || process.send === undefined) {
    process.stderr.write('sipha worker: run by the node supervisor with --config FILE\n');
    process.exit(2);
  }
  // The node owns us: if its IPC channel closes (node killed), we must not keep serving the VIP alone.
  process.on('disconnect', () => process.exit(0));

  const loaded = await loadConfig(file);
  const log = createLogger(loaded.config.log.level, 'sipha-worker');
  // Below the node (ha.worker_nice): SIP load must never delay the node's heartbeats.
  const ha = loaded.config.ha;
  if (ha !== undefined) {
    const nice = setOwnNice(ha.worker_nice);
    if (!nice.ok)
      log.warn({ want: ha.worker_nice, nice: nice.nice, detail: nice.detail }, 'worker priority not set');
  }
  const role = new WorkerRoleHolder();
  // Several SIP workers (`sip.workers`): this one's index among them; worker 0 keeps the shared state.
  const identity = workerIdentity(process.env);
  const several = identity !== undefined && identity.count > 1 ? identity : undefined;
  const keeper = several === undefined || several.index === 0;
  const haKey = ha === undefined ? undefined : await loadHaKey(loaded);
  const nonceKey =
    haKey !== undefined
      ? nonceKeyFromHaKey(haKey)
      : several === undefined
        ? undefined
        : await sharedNonceKey(several.meshDir);
  const server = new SipServer({
    ...(nonceKey === undefined ? {} : { nonceKey }),
    ...(several === undefined ? {} : { worker: { index: several.index, count: several.count } }),
    config: loaded.config,
    resolvePath: loaded.resolvePath,
    log,
    acting: () => role.isPrimary,
    configFile: loaded.file,
    // Both nodes derive the same TLS ticket keys from it: sessions resume across a takeover.
    ...(haKey === undefined ? {} : { haKey }),
  });
  // Several pairs for one domain: the directory, written by the primary, kept alive by both (src/cluster/).
  const cluster = await createClusterDirectory(server, loaded, log, {
    // The keeper holds every worker's registrations: it alone publishes them.
    acting: () => role.isPrimary && keeper,
    revokeOnClose: false,
  });
  role.subscribe(() => cluster?.directory.roleChanged());
  let awaitingFirstServed = false;
  // Now that the config is known: a primary worker orphaned by its node (kill -9) removes the VIP before it exits,
  // so the host does not keep answering ARP for an address nobody serves (defence in depth: systemd's
  // ExecStopPost and the next start's safe start release it too).
  const vip = loaded.config.vip;
  process.removeAllListeners('disconnect');
  process.on('disconnect', () => {
    if (!role.isPrimary || vip === undefined) process.exit(0);
    log.warn('node gone while primary: releasing the VIP');
    // First the connections, while their FIN can still leave from the VIP: their clients reconnect at once.
    server.transport.refuseConnectionsFor(HANDOVER_REFUSE_MS);
    server.transport.closeConnections();
    const release = createVipDriver(
      { ...vip, retries: 0, timeout_ms: Math.min(vip.timeout_ms, 1000) },
      { coprocess: false },
    ).disable();
    release.then(
      () => process.exit(0),
      () => process.exit(1),
    );
    setTimeout(() => process.exit(1), 1500).unref();
  });
  let replication: WorkerReplication | undefined;
  const siblings = several === undefined ? undefined : new WorkerSiblings(server, several, log);
  let started = false;
  const lag = monitorEventLoopDelay({ resolution: 10 });
  lag.enable();

  process.on('message', (raw: unknown) => {
    if (!isNodeToWorker(raw)) return;
    const m: NodeToWorker = raw;
    switch (m.type) {
      case 'ping':
        send({
          type: 'pong',
          seq: m.seq,
          loopLagMs: lag.max / 1e6,
          sipIn: server.transport.counters.messagesIn,
          overload: server.overload?.shedding ?? false,
        });
        lag.reset();
        break;
      case 'role':
        if (m.fence !== undefined) role.fence = m.fence;
        // The server and the replication read the role or hear it change.
        if (role.set(m.role)) {
          awaitingFirstServed = role.isPrimary;
          log.info({ role: m.role }, 'worker role');
          // Demoted: the connections (TCP, TLS, WebSocket) end here so that their clients reconnect to the VIP at
          // once and register over the new primary (README "TLS and WebSocket").
          if (m.role === 'backup') {
            const closed = server.transport.closeConnections();
            if (closed > 0)
              log.info({ closed }, 'connections closed: their clients reconnect to the new primary');
          }
        }
        break;
      case 'drain':
        // The node is about to release the VIP (its disable-vip action asks): connections end now, while their FIN
        // can still leave from the VIP, so that their clients reconnect (to the new primary) at once; for a moment
        // new ones are refused, so that nobody connects to this node in the last milliseconds it holds the VIP.
        if (m.handover === true && role.isPrimary) {
          server.transport.refuseConnectionsFor(HANDOVER_REFUSE_MS);
          const closed = server.transport.closeConnections();
          if (closed > 0)
            log.info(
              { closed },
              'handing the VIP over: connections closed, their clients reconnect to the VIP',
            );
        }
        if (!keeper && siblings !== undefined)
          // A member's changes reach the backup through the keeper: the node asks the keeper to drain next.
          siblings.flush(m.timeoutMs).then((ok) =>
            send({
              type: 'drained',
              id: m.id,
              ok,
              lastSeq: 0,
              ackedSeq: 0,
              detail: ok ? 'every change reached the keeper' : 'the keeper did not confirm in time',
            }),
          );
        else if (replication === undefined)
          send({
            type: 'drained',
            id: m.id,
            ok: false,
            lastSeq: 0,
            ackedSeq: 0,
            detail: 'no replication (no ha section)',
          });
        else replication.drain(m.timeoutMs).then((r) => send({ type: 'drained', id: m.id, ...r }));
        break;
      case 'query':
        // Before the server has started there is nothing to list (and no proxy yet): the asker times out.
        if (started) answerQuery(m.id, m.what, m.limit);
        break;
      case 'reload':
        // The node checked the file; the worker reads it again and applies what can change live.
        void reloadFromFile(file, server, log);
        break;
      case 'stop':
        // What this worker steered and was steered, for the journal (several workers).
        if (siblings !== undefined) log.info({ worker: siblings.status() }, 'SIP worker stopping');
        void replication?.stop();
        server
          .stop(m.graceMs)
          .then(() => cluster?.close())
          .then(() => siblings?.close())
          .then(
            () => process.exit(0),
            () => process.exit(1),
          );
        break;
    }
  });

  // The management API's listings and event feed. Only a primary reports changes, the ones it makes itself: a
  // backup's come from replication, and reporting them would send every CTI event twice (once from each node).
  const answerQuery = (id: number, what: 'registrations' | 'calls' | 'counters', limit: number) => {
    if (what === 'counters') {
      const counters = sipCounters(server);
      if (siblings !== undefined) counters.workers = [siblings.status()];
      return send({ type: 'answer', id, counters });
    }
    if (what === 'calls') {
      const all = server.dialogs.active();
      return send({ type: 'answer', id, calls: all.slice(0, limit).map(callView), total: all.length });
    }
    const all = server.location.all();
    const now = performance.now();
    send({
      type: 'answer',
      id,
      registrations: all.slice(0, limit).map((b) => registrationView(b, now)),
      total: all.length,
    });
  };
  const reported = (c: { origin: ChangeOrigin }) => c.origin === 'local' && role.isPrimary;
  server.location.subscribe((c) => {
    const event = reported(c) ? registrationEvent(c, Date.now()) : undefined;
    if (event !== undefined) send(event);
  });
  server.dialogs.subscribe((c) => {
    if (reported(c)) send(callEvent(c, Date.now()));
  });

  await server.start();
  // Only once this worker serves do its siblings see it up and steer to it (what it read before, it handled itself):
  // a message steered to a worker still warming up would find no handler.
  await siblings?.start();
  cluster?.start();
  started = true;
  // Replication binds its port before `ready`, so a port already taken fails the worker at once. With several
  // workers the keeper alone replicates: it holds the union of their state.
  if (keeper) replication = await startWorkerReplication(server, role, loaded, log, send);
  const ackWaitMs = ha?.replication.ack_wait_ms ?? 0;
  if (siblings !== undefined) {
    if (replication !== undefined) siblings.attachReplication(replication, ackWaitMs);
    // Registered means callable through every worker, and acknowledged means replicated, for every worker.
    server.proxy.commitGate = siblings.commitGate(
      () => role.isPrimary,
      ackWaitMs,
      ackWaitMs > 0 ? replication?.ackBarrier : undefined,
    );
  }
  server.proxy.onServed = (method) => {
    if (!awaitingFirstServed) return;
    awaitingFirstServed = false;
    send({ type: 'served', atEpochMs: Date.now(), method });
  };
  send({
    type: 'ready',
    listening: server.listening.map((l) => ({ transport: l.transport, address: l.address, port: l.port })),
  });
}

main().catch((err: unknown) => {
  const message = errorMessage(err);
  send({ type: 'fatal', message });
  process.stderr.write(`sipha worker: ${message}\n`);
  setTimeout(() => process.exit(1), 50);
});
