// Runs SIPp (Debian sip-tester), the real peer of tests, demo and benchmarks, and reads its verdict: exit status
// and its statistics file.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** SIPp scenarios shipped with sipha (test/sipp/ in the source tree). */
export const SCENARIOS = join(process.cwd(), 'test', 'sipp');

export interface SippResult {
  exitCode: number | null;
  successful: number;
  failed: number;
  retransmissions: number;
  stderr: string;
  errors: string;
}

export interface SippRun {
  result: Promise<SippResult>;
  kill(): void;
}

/** Starts sipp with `args` (plus stats and error files); resolves when it exits. */
export function sipp(args: string[], opts: { timeoutMs?: number; wrap?: string[] } = {}): SippRun {
  const dir = mkdtempSync(join(tmpdir(), 'sipha-sipp-'));
  const stat = join(dir, 'stat.csv');
  const err = join(dir, 'errors.log');
  const full = [
    ...args,
    '-trace_stat',
    '-stf',
    stat,
    '-fd',
    '1',
    '-trace_err',
    '-error_file',
    err,
    '-nostdin',
  ];
  const argv = [...(opts.wrap ?? []), 'sipp', ...full];
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
  const result = new Promise<SippResult>((resolve) => {
    child.on('close', (code) => {
      clearTimeout(timer);
      const stats = readStats(stat);
      let errors = '';
      try {
        errors = readFileSync(err, 'utf8').slice(0, 4000);
      } catch {
        // no errors file: no errors
      }
      rmSync(dir, { recursive: true, force: true });
      resolve({ exitCode: code, ...stats, stderr, errors });
    });
  });
  return { result, kill: () => child.kill('SIGINT') };
}

function readStats(file: string): { successful: number; failed: number; retransmissions: number } {
  try {
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    const header = lines[0]!.split(';');
    const last = lines.at(-1)!.split(';');
    const col = (name: string) => Number(last[header.indexOf(name)] ?? 0);
    return {
      successful: col('SuccessfulCall(C)'),
      failed: col('FailedCall(C)'),
      retransmissions: col('Retransmissions(C)'),
    };
  } catch {
    return { successful: 0, failed: 0, retransmissions: 0 };
  }
}
