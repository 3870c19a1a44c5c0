// `sipha events --config FILE [--url URL] [--follow] [--json] [--since ID]`: the node's event stream (role
// changes, alarms, switchover timelines, registrations, calls). Without --follow: the recent history, then exit.
// With --follow: the history, then live events until interrupted, resuming after a dropped connection.
import { targetFromConfig } from '../mgmt/client.js';
import { followEvents, type SseMessage } from '../mgmt/sse-client.js';
import { parseMgmtArgs } from './mgmt-args.js';

const USAGE = 'usage: sipha events --config FILE [--url http://HOST:PORT] [--follow] [--json] [--since ID]\n';

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

export async function runEventsCommand(args: string[]): Promise<number> {
  const parsed = parseMgmtArgs('events', USAGE, args, {
    url: { type: 'string' },
    follow: { type: 'boolean', short: 'f' },
    since: { type: 'string' },
  });
  if (typeof parsed === 'number') return parsed;
  const values = parsed as { config: string; json?: boolean; url?: string; follow?: boolean; since?: string };
  const target = await targetFromConfig(values.config, values.url);
  // '0' is before every event of the node's current run: the whole history it holds.
  const since = values.since ?? '0';
  const print = (m: SseMessage) =>
    process.stdout.write(
      values.json === true
        ? `${JSON.stringify({ id: m.id, event: m.event, ...JSON.parse(m.data) })}\n`
        : `${eventLine(m)}\n`,
    );
  return new Promise<number>((resolve) => {
    let quiet: NodeJS.Timeout | undefined;
    let failed = false;
    // Without --follow: print the history, and stop once it has been quiet for a moment.
    const settle = () => {
      if (values.follow === true) return;
      clearTimeout(quiet);
      quiet = setTimeout(() => {
        f.close();
        resolve(failed ? 1 : 0);
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
        if (values.follow !== true || err.startsWith('HTTP 401')) {
          failed = true;
          f.close();
          resolve(1);
        }
      },
    });
    settle();
    process.once('SIGINT', () => {
      f.close();
      resolve(0);
    });
  });
}
