#!/usr/bin/env node
import { errorMessage } from '../net/errors.js';
// sipha command-line entry: dispatches `sipha <command> [args]` to one module per command.
import { commands } from './commands.js';

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return name === undefined ? 2 : 0;
  }
  const command = commands[name];
  if (command === undefined) {
    process.stderr.write(`sipha: unknown command '${name}'\n\n${usage()}`);
    return 2;
  }
  return command.run(rest);
}

function usage(): string {
  const lines = Object.entries(commands).map(([n, c]) => `  ${n.padEnd(12)} ${c.summary}`);
  return `usage: sipha <command> [options]\n\ncommands:\n${lines.join('\n')}\n`;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    // A fatal error exits, never half-runs: sockets, timers and a worker already started would keep the
    // process alive with no API and a role machine that never started (seen with a node whose start failed).
    process.stderr.write(`sipha: ${errorMessage(err)}\n`);
    process.exit(1);
  },
);
