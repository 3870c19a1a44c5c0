// `sipha switchover --config FILE [--json] [--url URL] [--force]`: manual switchover through either node's
// management API. --force switches even to a backup whose replica is not synced (an emergency).
import type { SwitchoverReply } from '../ha/status.js';
import { callApi, targetFromConfig } from '../mgmt/client.js';
import { parseMgmtArgs } from './mgmt-args.js';

const USAGE = 'usage: sipha switchover --config FILE [--json] [--url http://HOST:PORT] [--force]\n';

export async function runSwitchoverCommand(args: string[]): Promise<number> {
  const parsed = parseMgmtArgs('switchover', USAGE, args, {
    url: { type: 'string' },
    force: { type: 'boolean' },
  });
  if (typeof parsed === 'number') return parsed;
  const values = parsed as { config: string; json?: boolean; url?: string; force?: boolean };
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
