#!/usr/bin/env node
// sipha command-line entry: dispatches `sipha <command> [args]` to one module per command.
import { errorMessage } from '../net/errors.js';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, UsageError, usageErrorText } from './args.js';
import { allSpecs, commands } from './commands.js';
import { dispatch } from './dispatch.js';
import { packageVersion } from './version.js';

// The reader went away (`sipha events --follow | head -1`): nothing left to say and nobody to say it to. Exit 0
// quietly, as cat and grep do, instead of an unhandled 'error' with a stack trace.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(EXIT_OK);
  process.stderr.write(`sipha: stdout: ${err.message}\n`);
  process.exit(EXIT_FAILURE);
});

async function main(argv: string[]): Promise<number> {
  const action = dispatch(argv, allSpecs, () => packageVersion());
  if (action.kind === 'print') {
    (action.stream === 'stdout' ? process.stdout : process.stderr).write(action.text);
    return action.code;
  }
  const command = commands.find((c) => c.spec.name === action.name);
  if (command === undefined) throw new Error(`no module for command '${action.name}'`);
  try {
    return await command.run(action.args);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(usageErrorText(action.name, err.message));
      return EXIT_USAGE;
    }
    // Matched by name: importing ConfigError would load yaml and zod for every command, help included.
    if (err instanceof Error && err.name === 'ConfigError') {
      process.stderr.write(`sipha ${action.name}: config error: ${err.message}\n`);
      return EXIT_USAGE;
    }
    throw err;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    // A fatal error exits, never half-runs: sockets, timers and a worker already started would keep the
    // process alive with no API and a role machine that never started (seen with a node whose start failed).
    process.stderr.write(`sipha: ${errorMessage(err)}\n`);
    process.exit(EXIT_FAILURE);
  },
);
