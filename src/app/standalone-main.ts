// `sipha start` with a config that has no `ha` section: one SIP server (registrar and stateful proxy) in this
// process, no node supervisor, no VIP. Resolves with the process's exit code.
import { availableParallelism } from 'node:os';
import { ConfigError, type LoadedConfig } from '../config/load.js';
import { resolveWorkerCount } from '../ha/worker-count.js';
import { createLogger } from '../log/logger.js';
import { errorMessage } from '../net/errors.js';
import { SipServer } from '../server/sip-server.js';
import { type ClusterDirectory, createClusterDirectory } from './cluster-directory.js';
import { assertPreflight } from './preflight.js';
import { reloadFromFile } from './reload.js';
import { runStandalonePool } from './standalone-pool.js';
import { stopOnSignal } from './stop-on-signal.js';
import { notifyReady } from './systemd-notify.js';

/** How long transactions in flight may finish after SIGTERM. */
const STOP_GRACE_MS = 2000;

export async function runStandalone(loaded: LoadedConfig): Promise<number> {
  // Every check `sipha config check` makes, before anything binds.
  try {
    await assertPreflight(loaded);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`sipha: config error: ${err.message}\n`);
    return 2;
  }
  // sip.workers > 1: the SIP servers run in worker processes under this one.
  const workers = resolveWorkerCount(loaded.config.sip.workers, availableParallelism());
  if (workers > 1) return runStandalonePool(loaded, workers, STOP_GRACE_MS);
  const log = createLogger(loaded.config.log.level);
  const server = new SipServer({
    config: loaded.config,
    resolvePath: loaded.resolvePath,
    log,
    configFile: loaded.file,
  });
  let cluster: ClusterDirectory | undefined;
  try {
    // A standalone server is its whole pair: its lease goes with it.
    cluster = await createClusterDirectory(server, loaded, log, { acting: () => true, revokeOnClose: true });
    await server.start();
    cluster?.start();
  } catch (err) {
    const code = err instanceof ConfigError ? 2 : 1;
    process.stderr.write(
      err instanceof ConfigError
        ? `sipha: config error: ${err.message}\n`
        : `sipha: cannot start: ${errorMessage(err)}\n`,
    );
    // A fatal start error exits, never half-runs: what did bind (a UDP socket before a TCP bind failed) is closed,
    // and whatever else still holds the event loop cannot keep the process up.
    await server.stop(0).catch(() => {});
    await cluster?.close().catch(() => {});
    setTimeout(() => process.exit(code), 500).unref();
    return code;
  }
  notifyReady((err) => log.warn({ err: err.message }, 'systemd-notify failed'));
  // SIGHUP: the config again — users, routes, registrar intervals, log level, TLS files — dropping nothing.
  process.on('SIGHUP', () => void reloadFromFile(loaded.file, server, log));
  return stopOnSignal(log, 'the SIP server: finishing transactions in flight', async () => {
    await server.stop(STOP_GRACE_MS);
    await cluster?.close();
  });
}
