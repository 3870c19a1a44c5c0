// `sipha start` with a config that has no `ha` section: one SIP server (registrar and stateful proxy) in this
// process, no node supervisor, no VIP. Resolves with the process's exit code.
import { ConfigError, type LoadedConfig } from '../config/load.js';
import { createLogger } from '../log/logger.js';
import { errorMessage } from '../net/errors.js';
import { SipServer } from '../server/sip-server.js';
import { stopOnSignal } from './stop-on-signal.js';

/** How long transactions in flight may finish after SIGTERM. */
const STOP_GRACE_MS = 2000;

export async function runStandalone(loaded: LoadedConfig): Promise<number> {
  const log = createLogger(loaded.config.log.level);
  const server = new SipServer({
    config: loaded.config,
    resolvePath: loaded.resolvePath,
    log,
    configFile: loaded.file,
  });
  try {
    await server.start();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`sipha: config error: ${err.message}\n`);
      return 2;
    }
    process.stderr.write(`sipha: cannot start: ${errorMessage(err)}\n`);
    return 1;
  }
  // SIGHUP: the TLS certificate and key again (a renewed certificate), without dropping a connection.
  process.on('SIGHUP', () => void server.reloadTls());
  return stopOnSignal(log, 'the SIP server: finishing transactions in flight', () =>
    server.stop(STOP_GRACE_MS),
  );
}
