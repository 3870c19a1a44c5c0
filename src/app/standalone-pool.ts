// `sipha start` without an `ha` section and with several SIP workers (`sip.workers` > 1): this process is a thin
// primary that forks the workers (sharing the SIP sockets through node:cluster), makes them all primary, restarts
// any that fails, passes SIGHUP on as a reload and stops them all on SIGTERM/SIGINT. A start that fails (a worker
// reports a fatal error before all were ready: a port taken) stops everything and exits 1, never half-running.
import { fileURLToPath } from 'node:url';
import type { LoadedConfig } from '../config/load.js';
import { WorkerPool } from '../ha/worker-pool.js';
import { createLogger } from '../log/logger.js';
import { stopOnSignal } from './stop-on-signal.js';
import { notifyReady } from './systemd-notify.js';

/** No HA heartbeat to follow here: the workers' pulse, the silence that kills one, the first restart delay. */
const PULSE_MS = 200;
const DEAD_AFTER_MS = 1000;
const RESTART_MS = 500;

export async function runStandalonePool(
  loaded: LoadedConfig,
  count: number,
  stopGraceMs: number,
): Promise<number> {
  const { config } = loaded;
  const log = createLogger(config.log.level);
  let started = false;
  let settle: (fatal: string | undefined) => void = () => {};
  const start = new Promise<string | undefined>((resolve) => {
    settle = resolve;
  });
  const pool = new WorkerPool(
    {
      spec: {
        modulePath: fileURLToPath(new URL('./worker-main.js', import.meta.url)),
        args: ['--config', loaded.file],
      },
      count,
      pulseMs: PULSE_MS,
      deadAfterMs: DEAD_AFTER_MS,
      restartMs: RESTART_MS,
      stallMs: config.monitoring?.worker.stall_ms ?? 500,
      stopGraceMs,
      log,
    },
    {
      onReady: () => {
        // Every worker serves (a standalone server is its whole pair); a restarted one hears it again from the pool.
        pool.send({ type: 'role', role: 'primary' });
        if (!started) log.info({ workers: count }, 'SIP workers ready');
        started = true;
        settle(undefined);
      },
      onFailed: (reason) => log.error({ reason }, 'no SIP worker ready'),
      onStall: (c, worker) => log.warn({ worker, stall: c }, 'SIP worker event loop stall'),
      onOverload: (shedding, detail) => log[shedding ? 'warn' : 'info']({ shedding }, detail),
      onMessage: (m) => {
        if (m.type === 'fatal' && !started) settle(m.message);
      },
      onWorkerDown: (worker, reason) => log.warn({ worker, reason }, 'SIP worker down, restarting it'),
      onWorkerUp: (worker) => log.info({ worker }, 'SIP worker back'),
    },
  );
  pool.start();
  const stopped = stopOnSignal(log, 'the SIP workers: finishing transactions in flight', () => pool.stop());
  const first = await Promise.race([start, stopped.then((code) => ({ code }))]);
  if (typeof first === 'object') return first.code;
  if (first !== undefined) {
    process.stderr.write(`sipha: cannot start: ${first}\n`);
    await pool.stop();
    // Nothing else may keep the process up half-running.
    setTimeout(() => process.exit(1), 500).unref();
    return 1;
  }
  notifyReady((err) => log.warn({ err: err.message }, 'systemd-notify failed'));
  // SIGHUP: every worker reads the config again and applies what can change live.
  process.on('SIGHUP', () => {
    log.info('config reload: the SIP workers apply it');
    pool.send({ type: 'reload' });
  });
  return stopped;
}
