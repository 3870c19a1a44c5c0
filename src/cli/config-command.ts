// `sipha config check [-c FILE]`: every check `sipha start` makes before it binds anything (keepalived -t,
// kamailio -c). Prints each problem on a line of its own naming the key, and exits 2; or says what would start.
import { CONFIG_OPTION, type CommandSpec, configPath, EXIT_OK, EXIT_USAGE, type ParsedArgs } from './args.js';
import type { CliCommand } from './command.js';

export const spec: CommandSpec = {
  name: 'config',
  summary: 'check the config: every check start makes before binding, one error per line naming the key',
  options: [CONFIG_OPTION],
  args: [{ name: 'ACTION', choices: ['check'], description: 'check: validate the config file on this host' }],
  exitCodes: [
    [0, 'the config would start'],
    [2, 'a problem: each printed as FILE: KEY: PROBLEM'],
  ],
};

export async function runConfigCommand({ values }: ParsedArgs): Promise<number> {
  const file = configPath(values);
  const { ConfigError, loadConfig } = await import('../config/load.js');
  const { preflight } = await import('../app/preflight.js');
  let loaded: Awaited<ReturnType<typeof loadConfig>>;
  try {
    loaded = await loadConfig(file);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`sipha: config error: ${err.message}\n`);
    return EXIT_USAGE;
  }
  const problems = await preflight(loaded);
  for (const p of problems) process.stderr.write(`sipha: config error: ${p.message}\n`);
  if (problems.length > 0) return EXIT_USAGE;
  const c = loaded.config;
  const mode =
    c.ha === undefined ? 'a standalone SIP server' : `HA node ${c.node.id} (VIP ${c.vip?.address ?? '?'})`;
  process.stdout.write(`${file}: OK — would start ${mode}, SIP on ${c.sip.listen.join(', ')}\n`);
  return EXIT_OK;
}

export const configCommand: CliCommand = { spec, run: runConfigCommand };
