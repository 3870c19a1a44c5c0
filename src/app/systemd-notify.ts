// Readiness for systemd (Type=notify): Node has no sd_notify, so the `systemd-notify` helper says READY=1 for our
// pid (the unit allows it: NotifyAccess=all). Outside systemd (no NOTIFY_SOCKET) nothing happens; a missing helper
// is only a log line: the unit then times out, which is what it should do without readiness.
import { spawn } from 'node:child_process';

export function notifyReady(onError: (err: Error) => void = () => {}): void {
  if (process.env.NOTIFY_SOCKET === undefined) return;
  const child = spawn('systemd-notify', ['--ready', `--pid=${process.pid}`], { stdio: 'ignore' });
  child.once('error', onError);
}
