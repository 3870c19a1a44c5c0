// Runs `sipha start` as a real child process with a generated config, and waits until it listens.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const CLI = join(process.cwd(), 'dist', 'src', 'cli', 'main.js');

export interface SiphaProcess {
  child: ChildProcess;
  dir: string;
  log: () => string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export async function startSipha(yaml: string, files: Record<string, string> = {}): Promise<SiphaProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'sipha-test-'));
  writeFileSync(join(dir, 'sipha.yaml'), yaml);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const child = spawn(process.execPath, [CLI, 'start', '--config', join(dir, 'sipha.yaml')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stderr!.on('data', (d: Buffer) => {
    log += d.toString();
  });
  child.stdout!.on('data', (d: Buffer) => {
    log += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const deadline = setTimeout(() => reject(new Error(`sipha did not start:\n${log}`)), 10_000);
    const check = () => {
      if (log.includes('SIP server listening')) {
        clearTimeout(deadline);
        resolve();
      } else if (child.exitCode !== null) {
        clearTimeout(deadline);
        reject(new Error(`sipha exited with ${child.exitCode}:\n${log}`));
      } else setTimeout(check, 20);
    };
    check();
  });
  return {
    child,
    dir,
    log: () => log,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null) child.kill(signal);
      const code = await exited;
      rmSync(dir, { recursive: true, force: true });
      return code;
    },
  };
}
