// What a CLI command is: its declarative spec (options, arguments, help) and what it does with parsed arguments.
import type { CommandSpec, ParsedArgs } from './args.js';

export interface CliCommand {
  spec: CommandSpec;
  /** Returns the exit code; may throw a UsageError (exit 2) or a ConfigError (exit 2). */
  run(args: ParsedArgs): Promise<number>;
}
