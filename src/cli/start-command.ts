// `sipha start --config FILE`: a standalone SIP server when the config has no `ha` section, else an HA node.
import { ConfigError, loadConfig } from '../config/load.js';

export async function runStart(args: string[]): Promise<number> {
  const i = args.indexOf('--config');
  const file = i === -1 ? undefined : args[i + 1];
  if (file === undefined) {
    process.stderr.write('usage: sipha start --config FILE\n');
    return 2;
  }
  try {
    const loaded = await loadConfig(file);
    if (loaded.config.ha === undefined) {
      const { runStandalone } = await import('../app/standalone-main.js');
      return await runStandalone(loaded);
    }
    // The HA node supervisor is loaded only in HA mode.
    const { startHaNode } = await import('../app/node-main.js');
    await startHaNode(loaded);
    return 0;
  } catch (err) {
    // The YAML, and the HA key and token files checked when the node starts: one kind of "config error".
    if (err instanceof ConfigError) {
      process.stderr.write(`sipha: config error: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}
