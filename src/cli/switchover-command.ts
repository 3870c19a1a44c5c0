// `sipha switchover --config FILE [--json] [--url URL] [--force]`: manual switchover through either node's
// management API. --force switches even to a backup whose replica is not synced (an emergency).
import { parseArgs } from 'node:util';
import type { SwitchoverReply } from '../ha/status.js';
import { callApi, targetFromConfig } from '../mgmt/client.js';
import { errorMessage } from '../net/errors.js';

const USAGE = 'usage: sipha switchover --config FILE [--json] [--url http://HOST:PORT] [--force]\n';

export async function runSwitchoverCommand(args: string[]): Promise<number> {
  let values: { config?: string; json?: boolean; url?: string; force?: boolean };
  try {
    ({ values } = parseArgs({
      args,
      options: {
        config: { type: 'string', short: 'c' },
        json: { type: 'boolean' },
        url: { type: 'string' },
        force: { type: 'boolean' },
      },
    }));
  } catch (err) {
    process.stderr.write(`sipha switchover: ${errorMessage(err)}\n${USAGE}`);
    return 2;
  }
  if (values.config === undefined) {
    process.stderr.write(`sipha switchover: --config FILE is required\n${USAGE}`);
    return 2;
  }
  const target = await targetFromConfig(values.config, values.url);
  const path = values.force === true ? '/api/v1/switchover?force=1' : '/api/v1/switchover';
  const { status, body } = await callApi(target, 'POST', path, 15_000);
  if (values.json === true) process.stdout.write(`${JSON.stringify(body)}\n`);
  if (status === 401) {
    process.stderr.write('sipha switchover: the node refused the token\n');
    return 1;
  }
  const reply = body as Partial<SwitchoverReply>;
  if (values.json !== true) {
    const t = reply.timeline;
    const took =
      t?.durationMs == null
        ? ''
        : ` (${t.durationMs} ms from decision to ${t.kind === 'promote' ? 'service' : 'release'})`;
    process.stdout.write(
      reply.ok === true
        ? `switchover done: ${reply.primary} is primary in term ${reply.term}${took}\n`
        : `switchover refused: ${reply.detail ?? JSON.stringify(body)}\n`,
    );
  }
  return reply.ok === true ? 0 : 1;
}
