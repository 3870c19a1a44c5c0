// `sipha status --config FILE [--json] [--url URL]... `: both nodes side by side. With one address (the
// config's management.listen, or one --url) the second column is the peer as this node sees it; with two --url
// (the two management addresses) each node answers for itself. --json prints the node's status object (with
// two addresses: {"nodes": [...]}).

import { callApi, targetFromConfig } from '../mgmt/client.js';
import type { ManagementStatus } from '../mgmt/hub.js';
import { formatTable, type NodeAnswer, statusRows } from '../mgmt/status-table.js';
import { errorMessage } from '../net/errors.js';
import { parseMgmtArgs } from './mgmt-args.js';

const USAGE = 'usage: sipha status --config FILE [--json] [--url http://HOST:PORT]...\n';

export async function runStatusCommand(args: string[]): Promise<number> {
  const parsed = parseMgmtArgs('status', USAGE, args, {
    url: { type: 'string', multiple: true },
  });
  if (typeof parsed === 'number') return parsed;
  const values = parsed as { config: string; json?: boolean; url?: string[] };
  const config = values.config;
  const urls = values.url === undefined || values.url.length === 0 ? [undefined] : values.url;
  const answers: NodeAnswer[] = await Promise.all(
    urls.map(async (u): Promise<NodeAnswer> => {
      const target = await targetFromConfig(config, u);
      try {
        const { status, body } = await callApi(target, 'GET', '/api/v1/status', 5000);
        if (status !== 200) return { url: target.url, status: null, error: `HTTP ${status}` };
        return { url: target.url, status: body as ManagementStatus, error: null };
      } catch (err) {
        return { url: target.url, status: null, error: errorMessage(err) };
      }
    }),
  );
  if (answers.every((a) => a.status === null)) {
    process.stderr.write(`sipha status: ${answers.map((a) => `${a.url}: ${a.error}`).join('; ')}\n`);
    return 1;
  }
  if (values.json === true) {
    const out = answers.length === 1 ? answers[0]?.status : { nodes: answers.map((a) => a.status) };
    process.stdout.write(`${JSON.stringify(out)}\n`);
    return 0;
  }
  process.stdout.write(formatTable(statusRows(answers)));
  return answers.some((a) => a.status === null) ? 1 : 0;
}
