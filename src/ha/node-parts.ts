// The node's parts built from the config: the UDP peer link, the forked SIP worker's supervisor (a pool of them
// with sip.workers > 1) and the witness monitor. The node takes these by default; tests hand it parts of their
// own (a link and a worker in memory).
import { availableParallelism } from 'node:os';
import type { Logger } from 'pino';
import type { SiphaConfig } from '../config/schema.js';
import { commandProbe, type Probe, parseWitness, WitnessMonitor } from '../monitor/witness.js';
import type { Clock } from '../time/clock.js';
import { PeerLink } from './peer-link.js';
import type { PeerMessage } from './wire.js';
import { resolveWorkerCount } from './worker-count.js';
import { WorkerPool } from './worker-pool.js';
import {
  type WorkerEvents,
  type WorkerPort,
  type WorkerSpec,
  WorkerSupervisor,
} from './worker-supervisor.js';

type Ha = NonNullable<SiphaConfig['ha']>;

export function peerLinkFromConfig(
  config: SiphaConfig & { ha: Ha },
  key: Buffer,
  deliver: (m: PeerMessage) => void,
  log: Logger,
  refused?: (path: number) => void,
): PeerLink {
  const ha = config.ha;
  return new PeerLink({
    id: config.node.id,
    paths: ha.listen.map((listen, i) => ({ listen, peer: ha.peer[i] as string })),
    key,
    deadAfterMs: ha.dead_after_ms,
    maxSkewMs: ha.max_skew_ms,
    onMessage: deliver,
    onReject: (reason, detail, path) => log.warn({ reason, detail, path }, 'peer message rejected'),
    ...(refused === undefined ? {} : { onRefused: refused }),
  });
}

export function workerFromConfig(
  config: SiphaConfig & { ha: Ha },
  spec: WorkerSpec,
  events: WorkerEvents,
  log: Logger,
  clock: Clock,
  cores = availableParallelism(),
): WorkerPort {
  const ha = config.ha;
  const options = {
    spec,
    pulseMs: ha.heartbeat_ms,
    deadAfterMs: ha.worker_dead_after_ms,
    restartMs: ha.worker_restart_ms,
    stallMs: config.monitoring?.worker.stall_ms ?? 500,
    log,
    clock,
  };
  // sip.workers: one worker is supervised as it always was; several are a pool sharing the SIP sockets.
  const count = resolveWorkerCount(config.sip.workers, cores);
  return count > 1 ? new WorkerPool({ ...options, count }, events) : new WorkerSupervisor(options, events);
}

export function witnessesFromConfig(
  config: SiphaConfig & { ha: Ha },
  probe: Probe | undefined,
  onChange: (reachable: boolean) => void,
  clock: Clock,
): WitnessMonitor {
  const ha = config.ha;
  return new WitnessMonitor({
    witnesses: ha.witnesses.map(parseWitness),
    probe: probe ?? commandProbe({ interface: config.vip?.interface }),
    intervalMs: ha.witness_interval_ms,
    timeoutMs: ha.witness_timeout_ms,
    failRounds: ha.witness_fail_rounds,
    onChange,
    clock,
  });
}
