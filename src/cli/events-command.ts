// `sipha events [-c FILE] [--url URL] [--follow] [--json] [--since ID]`: the node's event stream (role
// changes, alarms, switchover timelines, registrations, calls). Without --follow: the recent history, then exit.
// With --follow: the history, then live events until interrupted, resuming after a dropped connection.
import type { SseMessage } from '../mgmt/sse-client.js';
import { type CommandSpec, EXIT_FAILURE, EXIT_OK, flag, type ParsedArgs } from './args.js';
import type { CliCommand } from './command.js';
import { MGMT_OPTIONS, mgmtTarget } from './mgmt-args.js';

export const spec: CommandSpec = {
  name: 'events',
  summary: 'role changes, alarms, switchovers, registrations, calls (history, or --follow live)',
  options: [
    ...MGMT_OPTIONS,
    { name: 'follow', short: 'f', description: 'keep following live events until interrupted (Ctrl-C)' },
    { name: 'since', value: 'ID', description: 'start after this event id (default: the recent history)' },
  ],
  exitCodes: [
    [0, 'ok (also when the reader of the output went away, as with | head)'],
    [1, 'the node did not answer or refused the token'],
  ],
};

/** One readable line per event. */
export function eventLine(m: SseMessage): string {
  let d: Record<string, unknown>;
  try {
    d = JSON.parse(m.data) as Record<string, unknown>;
  } catch {
    return `${m.event} ${m.data}`;
  }
  const at = typeof d.at === 'number' ? new Date(d.at).toISOString().slice(11, 23) : '--:--:--.---';
  const s = (k: string) => String(d[k] ?? '?');
  let text: string;
  switch (m.event) {
    case 'role':
      text = `node ${s('node')}: ${s('from')} → ${s('to')} in term ${s('term')} (${s('cause')})`;
      break;
    case 'alarm':
      text = `node ${s('node')}: ALARM ${s('alarm')}: ${s('detail')}`;
      break;
    case 'timeline':
      text = `node ${s('node')}: ${s('kind')} (${s('cause')}) term ${s('oldTerm')} → ${s('newTerm')} in ${s('durationMs')} ms`;
      break;
    case 'switchover':
      text =
        d.phase === 'requested'
          ? `switchover requested on ${s('node')}`
          : `switchover ${d.ok === true ? `done: ${s('primary')} is primary in term ${s('term')}` : `refused: ${s('detail')}`}`;
      break;
    case 'registration':
      text = `registration ${s('change')}: ${s('aor')} → ${s('contact')}${d.reason ? ` (${s('reason')})` : ''}`;
      break;
    case 'call':
      text = `call ${s('event')}: ${s('caller')} → ${s('callee')} [${s('dialogId')}]`;
      break;
    default:
      text = m.data;
  }
  return `${at} ${m.id ?? ''} ${m.event.padEnd(12)} ${text}`;
}

export async function runEventsCommand({ values }: ParsedArgs): Promise<number> {
  const { followEvents } = await import('../mgmt/sse-client.js');
  // An event id (`<boot>-<n>`) resumes after it; '0' is before every event of the node's current run: the whole
  // history it holds.
  const since = typeof values.since === 'string' ? values.since : '0';
  const follow = flag(values, 'follow');
  const json = flag(values, 'json');
  const target = await mgmtTarget(values);
  const print = (m: SseMessage) =>
    process.stdout.write(
      json ? `${JSON.stringify({ id: m.id, event: m.event, ...JSON.parse(m.data) })}\n` : `${eventLine(m)}\n`,
    );
  return new Promise<number>((resolve) => {
    let quiet: NodeJS.Timeout | undefined;
    let failed = false;
    // Without --follow: print the history, and stop once it has been quiet for a moment.
    const settle = () => {
      if (follow) return;
      clearTimeout(quiet);
      quiet = setTimeout(() => {
        f.close();
        resolve(failed ? EXIT_FAILURE : EXIT_OK);
      }, 300);
    };
    const f = followEvents(target, {
      since,
      onMessage: (m) => {
        print(m);
        settle();
      },
      onError: (err) => {
        process.stderr.write(`sipha events: ${target.url}: ${err}\n`);
        if (!follow || err.startsWith('HTTP 401')) {
          failed = true;
          f.close();
          resolve(EXIT_FAILURE);
        }
      },
    });
    settle();
    process.once('SIGINT', () => {
      f.close();
      resolve(EXIT_OK);
    });
  });
}

export const eventsCommand: CliCommand = { spec, run: runEventsCommand };
