// `sipha switchover [-c FILE] [--json] [--url URL] [--force]`: manual switchover through either node's
// management API. --force switches even to a backup whose replica is not synced (an emergency).
import type { SwitchoverReply, Timeline } from '../ha/status.js';
import { type CommandSpec, EXIT_FAILURE, EXIT_OK, flag, type ParsedArgs } from './args.js';
import type { CliCommand } from './command.js';
import { httpProblem, MGMT_OPTIONS, mgmtTarget } from './mgmt-args.js';

export const spec: CommandSpec = {
  name: 'switchover',
  summary: 'hand the VIP to the other node (on either node); prints the time to service',
  options: [
    ...MGMT_OPTIONS,
    { name: 'force', description: 'switch even to a backup whose replica is not synced (an emergency)' },
  ],
  exitCodes: [
    [0, 'the other node is primary'],
    [1, 'refused, not settled in time, or the node did not answer'],
  ],
};

/**
 * What the reply's timeline says about the time to service. The timeline is the answering node's own: a promotion
 * when asked on the backup (detection → first request served), a demotion when asked on the primary (it only knows
 * when it let go of the VIP; the new primary's promotion is in its events).
 */
export function serviceText(reply: Partial<SwitchoverReply>): string {
  const t: Timeline | undefined = reply.timeline;
  // A timeline from an earlier change of primary says nothing about this one.
  if (t === undefined || (typeof reply.term === 'number' && t.newTerm < reply.term))
    return 'time to service not in the reply';
  if (t.kind === 'promote') {
    if (t.firstServedAt !== null)
      return `service back after ${t.durationMs ?? t.firstServedAt - t.detectedAt} ms`;
    if (t.vipAddedAt !== null)
      return `VIP up after ${t.vipAddedAt - t.detectedAt} ms (no request served yet; time to service not known)`;
    return 'time to service not known yet';
  }
  const released =
    t.vipRemovedAt === null ? '' : ` (${t.node} released the VIP after ${t.vipRemovedAt - t.detectedAt} ms)`;
  return `time to service not in the reply${released}: see sipha events on the new primary`;
}

export async function runSwitchoverCommand({ values }: ParsedArgs): Promise<number> {
  const { callApi } = await import('../mgmt/client.js');
  const target = await mgmtTarget(values);
  const path = flag(values, 'force') ? '/api/v1/switchover?force=1' : '/api/v1/switchover';
  const { status, body } = await callApi(target, 'POST', path, 15_000);
  if (flag(values, 'json')) process.stdout.write(`${JSON.stringify(body)}\n`);
  if (status === 401) {
    process.stderr.write(`sipha switchover: ${httpProblem(status, body)}\n`);
    return EXIT_FAILURE;
  }
  const reply = body as Partial<SwitchoverReply>;
  if (!flag(values, 'json'))
    process.stdout.write(
      reply.ok === true
        ? `switchover done: ${reply.primary} is primary in term ${reply.term}; ${serviceText(reply)}\n`
        : `switchover refused: ${reply.detail ?? JSON.stringify(body)}\n`,
    );
  return reply.ok === true ? EXIT_OK : EXIT_FAILURE;
}

export const switchoverCommand: CliCommand = { spec, run: runSwitchoverCommand };
