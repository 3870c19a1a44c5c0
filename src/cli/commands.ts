// The table of CLI commands: each lives in its own module with its spec; the modules load their heavy
// dependencies (config, HTTP client, VIP driver, lab) only when they run, so help and --version stay instant.
import type { CommandSpec } from './args.js';
import type { CliCommand } from './command.js';
import { configCommand } from './config-command.js';
import { eventsCommand } from './events-command.js';
import { labCommand } from './lab-command.js';
import { callsCommand, registrationsCommand } from './list-commands.js';
import { reloadCommand } from './reload-command.js';
import { startCommand } from './start-command.js';
import { statusCommand } from './status-command.js';
import { switchoverCommand } from './switchover-command.js';
import { vipCommand } from './vip-command.js';

export type { CliCommand } from './command.js';

export const commands: readonly CliCommand[] = [
  startCommand,
  configCommand,
  statusCommand,
  switchoverCommand,
  reloadCommand,
  eventsCommand,
  registrationsCommand,
  callsCommand,
  vipCommand,
  labCommand,
];

/** Commands main answers itself (no module to run). */
export const builtins: readonly CommandSpec[] = [
  { name: 'version', summary: 'print the version (also: sipha --version, sipha -V)', options: [] },
  {
    name: 'help',
    summary: 'this list, or one command with all its options',
    options: [],
    args: [{ name: 'CMD', optional: true, description: 'the command to describe' }],
  },
  {
    name: 'completion',
    summary: 'print the shell completion script (sipha completion bash > /etc/bash_completion.d/sipha)',
    options: [],
    args: [{ name: 'SHELL', choices: ['bash'], description: 'the shell' }],
  },
];

export const allSpecs: readonly CommandSpec[] = [...commands.map((c) => c.spec), ...builtins];
