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
};
