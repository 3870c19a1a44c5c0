// SIGHUP (`systemctl reload sipha`): read the config file again, run every start check on it, and apply what can
// change live (SipServer.reload). A config that fails is refused with its errors and the old one stays.
import type { Logger } from 'pino';
import { ConfigError, loadConfig } from '../config/load.js';
import { errorMessage } from '../net/errors.js';
import type { SipServer } from '../server/sip-server.js';
import { preflight } from './preflight.js';

export async function reloadFromFile(file: string, server: SipServer, log: Logger): Promise<boolean> {
  try {
    const loaded = await loadConfig(file);
    const problems = await preflight(loaded);
    if (problems.length > 0) throw problems[0];
    const applied = await server.reload(loaded.config);
    log.info({ applied }, 'config reloaded; registrations, calls and connections kept');
    return true;
  } catch (err) {
    log.error(
      { err: err instanceof ConfigError ? err.message : errorMessage(err) },
      'config reload refused; the config in force stays',
    );
    return false;
  }
}
