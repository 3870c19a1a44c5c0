// `sipha start [-c FILE]`: a standalone SIP server when the config has no `ha` section, else an HA node.
import { CONFIG_OPTION, type CommandSpec, configPath, EXIT_USAGE, type ParsedArgs } from './args.js';
import type { CliCommand } from './command.js';

export const spec: CommandSpec = {
  name: 'start',
  summary: 'run the SIP server (standalone, or an HA node when the config has an ha section)',
  options: [CONFIG_OPTION],
  exitCodes: [
    [0, 'stopped cleanly'],
    [1, 'the server failed at runtime'],
    [2, 'usage or config error (the YAML, or the HA key and token files)'],
  ],
};

export async function runStart({ values }: ParsedArgs): Promise<number> {
  const file = configPath(values);
  // Loaded here, not at the top: `sipha --version` and help must not pay for yaml and zod.
  const { ConfigError, loadConfig } = await import('../config/load.js');
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
      process.stderr.write(`sipha start: config error: ${err.message}\n`);
      return EXIT_USAGE;
    }
    throw err;
  }
}

export const startCommand: CliCommand = { spec, run: runStart };
