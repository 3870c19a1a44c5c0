// The table of CLI commands. Each command lives in its own module and returns an exit code.
export interface CliCommand {
  summary: string;
  run(args: string[]): Promise<number>;
}

export const commands: Record<string, CliCommand> = {
  version: {
    summary: 'print the version',
    async run() {
      process.stdout.write('sipha 0.1.0\n');
      return 0;
    },
  },
  start: {
    summary:
      '--config FILE: run the SIP server (standalone, or an HA node when the config has an ha section)',
    async run(args) {
      return (await import('./start-command.js')).runStart(args);
    },
  },
  config: {
    summary:
      'check [--config FILE]: every check start makes before binding; one error per line naming the key',
    run: async (a) => (await import('./config-command.js')).runConfig(a),
  },
  vip: {
    summary: 'status|release --config FILE: show or remove the Virtual IP on this host',
    async run(args) {
      return (await import('./vip-command.js')).runVipCommand(args);
    },
  },
  status: {
    summary:
      '--config FILE [--json] [--url URL]...: both nodes side by side (role, VIP, health, sync, counters)',
    run: async (a) => (await import('./status-command.js')).runStatusCommand(a),
  },
  switchover: {
    summary: '--config FILE [--json]: hand the VIP to the other node (on either node)',
    run: async (a) => (await import('./switchover-command.js')).runSwitchoverCommand(a),
  },
  events: {
    summary: '--config FILE [--follow] [--json]: role changes, alarms, switchovers, calls',
    run: async (a) => (await import('./events-command.js')).runEventsCommand(a),
  },
  lab: {
    summary: 'up|down: the network-namespace lab (hosts A, B, client C, gateway G)',
    async run(args) {
      return (await import('./lab-command.js')).runLabCommand(args);
    },
  },
};
