// `sipha start --config FILE`: a standalone SIP server when the config has no `ha` section, else an HA node.
import { ConfigError, loadConfig } from '../config/load.js';
import { createLogger } from '../log/logger.js';
import { errorMessage } from '../net/errors.js';
import { SipServer } from '../server/sip-server.js';

export async function runStart(args: string[]): Promise<number> {
  const i = args.indexOf('--config');
  const file = i === -1 ? undefined : args[i + 1];
  if (file === undefined) {
    process.stderr.write('usage: sipha start --config FILE\n');
    return 2;
  }
  let loaded: Awaited<ReturnType<typeof loadConfig>>;
  try {
    loaded = await loadConfig(file);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`sipha: config error: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  if (loaded.config.ha !== undefined) {
    // The HA node supervisor is loaded only in HA mode.
    const { startHaNode } = await import('../ha/start-ha.js');
    try {
      await startHaNode(loaded);
    } catch (err) {
      // The HA key and token files are checked when the node starts: the same "config error" as the YAML.
      if (err instanceof ConfigError) {
        process.stderr.write(`sipha: config error: ${err.message}\n`);
        return 2;
      }
      throw err;
    }
    return 0;
  }
  const log = createLogger(loaded.config.log.level);
  const server = new SipServer({ config: loaded.config, resolvePath: loaded.resolvePath, log });
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
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, 'stopping: finishing transactions in flight');
      server.stop(2000).then(
        () => {
          log.info('stopped');
          log.flush();
          resolve(0);
        },
        (err: unknown) => {
          log.error({ err }, 'error while stopping');
          resolve(1);
        },
      );
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}
