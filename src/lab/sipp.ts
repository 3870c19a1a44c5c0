// Runs SIPp (Debian sip-tester), the real peer of tests, demo and benchmarks, and reads its verdict: exit status
// and its statistics file. Command lines are built from a SippSpec (sippArgs), not assembled by hand; in the lab,
// clientSipp runs one on host C, through the VIP.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { formatHostPort } from '../net/address.js';
import type { Lab } from './lab.js';

/** SIPp scenarios shipped with sipha (test/sipp/ in the source tree). */
export const SCENARIOS = join(process.cwd(), 'test', 'sipp');
/** The sipp binary: from PATH unless BENCH_SIPP names one (a benchmark carried to a machine without SIPp). */
const SIPP = process.env.BENCH_SIPP ?? 'sipp';
/** OPTIONS then REGISTER, one call each: the steady load of the HA tests and the failover benchmark. */
export const OPTIONS_REGISTER = join(process.cwd(), 'test', 'ha', 'sipp', 'options-register.xml');

/** One SIPp run, option by option. */
export interface SippSpec {
  /** A scenario of SCENARIOS by file name ('register.xml'), or an absolute path. */
  scenario: string;
  /** The remote host:port of a UAC; none for a UAS. */
  to?: string;
  /** Local address (-i) and port (-p). */
  ip?: string;
  port?: number;
  /** The request URI's user (-s). */
  service?: string;
  /** Injection file (-inf), see writeInjection. */
  inf?: string;
  /** Calls in all (-m), calls per second (-r), calls at once (-l). */
  calls?: number;
  rate?: number;
  limit?: number;
  /** Pause of the scenario (-d), e.g. how long a call is held. */
  holdMs?: number;
  /** SIPp's global timeout (-timeout), in seconds. */
  timeoutS?: number;
  /** -max_non_invite_retrans: how many retransmissions before a non-INVITE transaction fails. */
  maxNonInviteRetrans?: number;
  /** Anything else, as it goes on the command line. */
  extra?: string[];
}

/** The command line (after `sipp`) of a spec. */
export function sippArgs(s: SippSpec): string[] {
  const scenario = isAbsolute(s.scenario) ? s.scenario : join(SCENARIOS, s.scenario);
  const opt = (flag: string, v: string | number | undefined) => (v === undefined ? [] : [flag, String(v)]);
  return [
    ...(s.to === undefined ? [] : [s.to]),
    ...['-sf', scenario],
    ...opt('-i', s.ip),
    ...opt('-p', s.port),
    ...opt('-s', s.service),
    ...opt('-inf', s.inf),
    ...opt('-m', s.calls),
    ...opt('-r', s.rate),
    ...opt('-l', s.limit),
    ...opt('-d', s.holdMs),
    ...opt('-timeout', s.timeoutS),
    ...opt('-max_non_invite_retrans', s.maxNonInviteRetrans),
    ...(s.extra ?? []),
  ];
}

/** Runs a spec (see sipp for the options). */
export function runSipp(s: SippSpec, opts: { timeoutMs?: number; wrap?: string[] } = {}): SippRun {
  return sipp(sippArgs(s), opts);
}

/**
 * Runs a spec on the lab's client host C, from its SIP address; a UAC goes to the VIP's SIP port unless the
 * spec says where. timeoutMs: when to kill it (default 60 s).
 */
export function clientSipp(lab: Lab, s: SippSpec & { uas?: boolean }, timeoutMs?: number): SippRun {
  const { uas, ...spec } = s;
  const to =
    uas === true ? undefined : (spec.to ?? formatHostPort({ host: lab.topology.vip.ipv4, port: 5060 }));
  return runSipp({ ...spec, to, ip: lab.nic('c').ipv4 }, { wrap: lab.wrap('c'), timeoutMs });
}

/** Writes a SIPp injection file (SEQUENTIAL, one `field;field` row per line) and returns its path. */
export function writeInjection(file: string, rows: readonly string[]): string {
  writeFileSync(file, `SEQUENTIAL\n${rows.join('\n')}\n`);
  return file;
}

export interface SippResult {
  exitCode: number | null;
  successful: number;
  failed: number;
  retransmissions: number;
  stderr: string;
  /** The start of SIPp's error log. */
  errors: string;
  /** Calls aborted, by cause: the status code of the unexpected response ('503'), or 'timeout'. */
  aborted: Record<string, number>;
}

export interface SippRun {
  result: Promise<SippResult>;
  kill(): void;
  /** The SIPp process (to read its CPU time from /proc while it runs). */
  pid: number | undefined;
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
  const argv = [...(opts.wrap ?? []), SIPP, ...full];
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
      let log = '';
      try {
        log = readFileSync(err, 'utf8');
      } catch {
        // no errors file: no errors
      }
      rmSync(dir, { recursive: true, force: true });
      resolve({ exitCode: code, ...stats, stderr, errors: log.slice(0, 4000), aborted: abortCauses(log) });
    });
  });
  return { result, kill: () => child.kill('SIGINT'), pid: child.pid };
}

/** Counts SIPp's "Aborting call" lines by cause: an unexpected response's status code, or a timeout. */
export function abortCauses(log: string): Record<string, number> {
  const causes: Record<string, number> = {};
  for (const m of log.matchAll(
    /Aborting call (?:on unexpected message.*?received 'SIP\/2\.0 (\d{3})|on (?:UDP )?retransmission timeout|.*?timeout)/g,
  )) {
    const cause = m[1] ?? 'timeout';
    causes[cause] = (causes[cause] ?? 0) + 1;
  }
  return causes;
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
