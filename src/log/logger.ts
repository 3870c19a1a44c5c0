// Structured JSON logs (pino) on stderr, so stdout stays free for command output.
import { type Logger, pino } from 'pino';

export function createLogger(level: string, name = 'sipha'): Logger {
  return pino({ name, level, base: { pid: process.pid } }, pino.destination({ fd: 2, sync: false }));
}
