// `sipha status --config FILE [--json] [--url URL]`: the node's role, term, peer and last switchover.
import { parseArgs } from 'node:util';
import type { HaStatus } from '../ha/node.js';
import { callApi, targetFromConfig } from '../mgmt/client.js';

const USAGE = 'usage: sipha status --config FILE [--json] [--url http://HOST:PORT]\n';

export async function runStatusCommand(args: string[]): Promise<number> {
  let values: { config?: string; json?: boolean; url?: string };
  try {
    ({ values } = parseArgs({
      args,
      options: { config: { type: 'string', short: 'c' }, json: { type: 'boolean' }, url: { type: 'string' } },
    }));
  } catch (err) {
    process.stderr.write(`sipha status: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.config === undefined) {
    process.stderr.write(`sipha status: --config FILE is required\n${USAGE}`);
    return 2;
  }
  const target = await targetFromConfig(values.config, values.url);
  const { status, body } = await callApi(target, 'GET', '/api/v1/status');
  if (status !== 200) {
    process.stderr.write(`sipha status: ${status} ${JSON.stringify(body)}\n`);
    return 1;
  }
  if (values.json === true) {
    process.stdout.write(`${JSON.stringify(body)}\n`);
    return 0;
  }
  const s = body as HaStatus;
  const paths = s.peer.link.paths.map((p) => `${p.peer} ${p.alive ? 'up' : 'down'}`).join(', ');
  const last = s.timelines.at(-1);
  process.stdout.write(
    [
      `node ${s.node.id}: ${s.role} in term ${s.term}${s.healthy ? '' : ` (${s.healthReason})`}`,
      `peer ${s.peer.id || '?'}: ${s.peer.status}${s.peer.role ? ` ${s.peer.role}` : ''} [${paths}]`,
      `witnesses: ${s.witnesses.state}`,
      `worker: ${s.worker.ready ? 'ready' : 'not ready'}, ${s.worker.restarts} restart(s)`,
      last === undefined
        ? 'no switchover yet'
        : `last switchover: ${last.kind} (${last.cause}) term ${last.oldTerm} → ${last.newTerm}, ${last.durationMs ?? '?'} ms`,
    ].join('\n') + '\n',
  );
  return 0;
}
