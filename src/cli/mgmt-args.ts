// The arguments every management command shares (`--config FILE` required, `--json`, `--url`), parsed one way,
// with one usage error: the command's name, the problem, its usage line, exit code 2.
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { errorMessage } from '../net/errors.js';

type Options = NonNullable<ParseArgsConfig['options']>;

const COMMON = {
  config: { type: 'string', short: 'c' },
  json: { type: 'boolean' },
} as const satisfies Options;

/** The parsed values with `config` present, or the exit code after the usage error was printed. */
export function parseMgmtArgs<O extends Options>(
  command: string,
  usage: string,
  args: string[],
  options: O,
): ({ config: string; json?: boolean } & Record<keyof O, unknown>) | number {
  let values: Record<string, unknown>;
  try {
    ({ values } = parseArgs({ args, options: { ...COMMON, ...options } }));
  } catch (err) {
    process.stderr.write(`sipha ${command}: ${errorMessage(err)}\n${usage}`);
    return 2;
  }
  if (typeof values.config !== 'string') {
    process.stderr.write(`sipha ${command}: --config FILE is required\n${usage}`);
    return 2;
  }
  return values as { config: string; json?: boolean } & Record<keyof O, unknown>;
}
