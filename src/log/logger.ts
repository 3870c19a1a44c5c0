// Structured JSON logs (pino) on stderr, so stdout stays free for command output. Under systemd, when stderr is the
// journal (JOURNAL_STREAM names it), each line starts with its syslog priority (`<4>` for a warning, sd-daemon(3)),
// so that `journalctl -p warning` shows warnings and worse and nothing else.
import { fstatSync } from 'node:fs';
import { type Logger, pino } from 'pino';

/** pino's levels → syslog priorities (RFC 5424): fatal → crit, error → err, warn → warning, info, debug, trace. */
const PRIORITY: Record<number, number> = { 60: 2, 50: 3, 40: 4, 30: 6, 20: 7, 10: 7 };

export function createLogger(level: string, name = 'sipha'): Logger {
  const destination = pino.destination({ fd: 2, sync: false });
  return pino(
    {
      name,
      level,
      base: { pid: process.pid },
      ...(stderrIsJournal() ? { hooks: { streamWrite: withPriority } } : {}),
    },
    destination,
  );
}

/** `{"level":40,...}` → `<4>{"level":40,...}`. */
export function withPriority(line: string): string {
  const m = /"level":(\d+)/.exec(line);
  const p = m === null ? undefined : PRIORITY[Number(m[1])];
  return p === undefined ? line : `<${p}>${line}`;
}

/** sd-daemon(3): JOURNAL_STREAM is "DEVICE:INODE" of the stream the journal reads; stderr must be that one. */
function stderrIsJournal(): boolean {
  const js = process.env.JOURNAL_STREAM;
  if (js === undefined) return false;
  try {
    const st = fstatSync(2);
    return js === `${st.dev}:${st.ino}`;
  } catch {
    return false;
  }
}
