// `sipha config check [--config FILE]`: every check `sipha start` makes before it binds anything (keepalived -t,
// kamailio -c). Prints each problem on a line of its own naming the key, and exits 2; or says what would start, exit 0.

import { preflight } from '../app/preflight.js';
import { ConfigError, loadConfig } from '../config/load.js';

export async function runConfig(args: string[]): Promise<number> {
  const [action, ...rest] = args;
  if (action !== 'check') {
    process.stderr.write('usage: sipha config check [--config FILE]\n');
    return 2;
  }
  const file = configArg(rest) ?? process.env.SIPHA_CONFIG ?? '/etc/sipha/sipha.yaml';
  let loaded: Awaited<ReturnType<typeof loadConfig>>;
  try {
    loaded = await loadConfig(file);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`sipha: config error: ${err.message}\n`);
    return 2;
  }
  const problems = await preflight(loaded);
  for (const p of problems) process.stderr.write(`sipha: config error: ${p.message}\n`);
  if (problems.length > 0) return 2;
  const c = loaded.config;
  const mode =
    c.ha === undefined ? 'a standalone SIP server' : `HA node ${c.node.id} (VIP ${c.vip?.address ?? '?'})`;
  process.stdout.write(`${file}: OK — would start ${mode}, SIP on ${c.sip.listen.join(', ')}\n`);
  return 0;
}

/** -c FILE, --config FILE, --config=FILE. */
function configArg(args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '-c' || a === '--config') return args[i + 1];
    if (a.startsWith('--config=')) return a.slice('--config='.length);
  }
  return undefined;
}
