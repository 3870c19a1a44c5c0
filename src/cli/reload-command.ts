// `sipha reload [-c FILE] [--url URL]`: the node re-reads its config file as on SIGHUP (`systemctl reload sipha`),
// through its management API. Each node reloads its own file: on a pair, run it for each node (--url).
import { type CommandSpec, EXIT_FAILURE, EXIT_OK, flag, type ParsedArgs } from './args.js';
import type { CliCommand } from './command.js';
import { httpProblem, MGMT_OPTIONS, mgmtTarget } from './mgmt-args.js';

export const spec: CommandSpec = {
  name: 'reload',
  summary:
    "re-read the node's config file and apply what can change live (users, routes, registrar, log level, TLS)",
  options: MGMT_OPTIONS,
  exitCodes: [
    [0, 'checked and applied'],
    [1, 'refused (a config error, or a change that needs a restart), or the node did not answer'],
  ],
};

export async function runReloadCommand({ values }: ParsedArgs): Promise<number> {
  const { callApi } = await import('../mgmt/client.js');
  const target = await mgmtTarget(values);
  const { status, body } = await callApi(target, 'POST', '/api/v1/reload', 10_000);
  if (flag(values, 'json')) process.stdout.write(`${JSON.stringify(body)}\n`);
  if (status === 200) {
    if (!flag(values, 'json')) process.stdout.write('config reloaded\n');
    return EXIT_OK;
  }
  const error = (body as { error?: unknown } | null)?.error;
  process.stderr.write(
    `sipha reload: ${status === 409 && typeof error === 'string' ? `refused: ${error}` : httpProblem(status, body)}\n`,
  );
  return EXIT_FAILURE;
}

export const reloadCommand: CliCommand = { spec, run: runReloadCommand };
