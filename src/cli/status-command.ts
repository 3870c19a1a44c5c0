// `sipha status [-c FILE] [--json] [--url URL]...`: both nodes side by side. With one address (the config's
// management.listen, or one --url) the second column is the peer as this node sees it; with two --url (the two
// management addresses) each node answers for itself. --json prints the node's status object (with two
// addresses: {"nodes": [...]}). Exits 1 when the pair is degraded, so that it serves as a health check.

import type { ManagementStatus } from '../mgmt/hub.js';
import type { NodeAnswer } from '../mgmt/status-table.js';
import { errorMessage } from '../net/errors.js';
import {
  type CommandSpec,
  configPath,
  EXIT_FAILURE,
  EXIT_OK,
  flag,
  listValue,
  type ParsedArgs,
  URL_OPTION,
} from './args.js';
import type { CliCommand } from './command.js';
import { httpProblem, MGMT_OPTIONS } from './mgmt-args.js';
import { degradedReasons } from './status-health.js';

export const spec: CommandSpec = {
  name: 'status',
  summary: 'both nodes side by side (role, VIP, health, sync, counters); exits 1 when the pair is degraded',
  options: MGMT_OPTIONS.map((o) =>
    o.name === 'url'
      ? {
          ...URL_OPTION,
          multiple: true,
          description: "a node's management API (http://HOST:PORT); give both to have each answer for itself",
        }
      : o,
  ),
  exitCodes: [
    [0, 'the pair is healthy'],
    [
      1,
      'degraded (peer not alive, a node unreachable, replication not synced, a critical alarm) or no answer',
    ],
  ],
};

export async function runStatusCommand({ values }: ParsedArgs): Promise<number> {
  const { callApi, targetFromConfig } = await import('../mgmt/client.js');
  const { formatTable, statusRows } = await import('../mgmt/status-table.js');
  const urls = listValue(values, 'url');
  // The config is read once, before any request: a missing file is a config error, not an unreachable node.
  const targets = await Promise.all(
    (urls.length === 0 ? [undefined] : urls).map((u) => targetFromConfig(configPath(values), u)),
  );
  const answers: NodeAnswer[] = await Promise.all(
    targets.map(async (target): Promise<NodeAnswer> => {
      try {
        const { status, body } = await callApi(target, 'GET', '/api/v1/status', 5000);
        if (status !== 200) return { url: target.url, status: null, error: httpProblem(status, body) };
        return { url: target.url, status: body as ManagementStatus, error: null };
      } catch (err) {
        return { url: target.url, status: null, error: errorMessage(err) };
      }
    }),
  );
  if (answers.every((a) => a.status === null)) {
    process.stderr.write(`sipha status: ${answers.map((a) => `${a.url}: ${a.error}`).join('; ')}\n`);
    return EXIT_FAILURE;
  }
  if (flag(values, 'json')) {
    const out = answers.length === 1 ? answers[0]?.status : { nodes: answers.map((a) => a.status) };
    process.stdout.write(`${JSON.stringify(out)}\n`);
  } else {
    process.stdout.write(formatTable(statusRows(answers)));
  }
  const reasons = degradedReasons(answers);
  if (reasons.length === 0) return EXIT_OK;
  process.stderr.write(`sipha status: degraded: ${reasons.join('; ')}\n`);
  return EXIT_FAILURE;
}

export const statusCommand: CliCommand = { spec, run: runStatusCommand };
