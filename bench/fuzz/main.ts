// `npm run fuzz -- --count N --seconds S --seed S [--check-every N] [--transport udp|tcp|both] [--corpus DIR]…
// [--settle S] [--server-heap-mib N]`: seconds to wait before a last RSS reading (default 35; not part of the time
// bound), and a cap on the server's old space (0, the default: Node's own).
// Fuzzes a standalone sipha on loopback and prints what it saw; exits 1 on a crash, after saving the last cases
// to bench/results/fuzz-crash-<seed>.json, which `npm run fuzz -- --replay FILE` sends again.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { readCrashFile, replay } from './replay.js';
import { DEFAULTS, type FuzzReport, runFuzz } from './run.js';
import type { Transport } from './senders.js';

/** The end RSS may exceed the middle one by this much and still count as flat. */
export const FLAT_BOUND_KIB = 32 * 1024;

/**
 * Flat: the end RSS is within FLAT_BOUND_KIB of the middle one, or, when the heap saws up and down with the
 * collector, no higher than the highest reading of the first half plus that bound: no new high, so no climb.
 */
export function isFlat(r: FuzzReport, boundKiB = FLAT_BOUND_KIB): boolean {
  const { mid, end } = r.rssKiB;
  if (mid === undefined || end === undefined) return false;
  const firstHalf = r.rssSeries.slice(0, Math.ceil(r.rssSeries.length / 2));
  return end - mid <= boundKiB || end <= Math.max(mid, ...firstHalf) + boundKiB;
}

const mib = (kib: number | undefined) => (kib === undefined ? 'n/a' : `${(kib / 1024).toFixed(1)} MiB`);

export function formatReport(r: FuzzReport): string {
  const rows: Array<[string, string]> = [
    ['seed', String(r.seed)],
    ['corpus messages', String(r.corpusSize)],
    ['sent UDP / TCP', `${r.sent.udp} / ${r.sent.tcp}`],
    ['seconds', r.elapsedS.toFixed(1)],
    ['messages/s', ((r.sent.udp + r.sent.tcp) / r.elapsedS).toFixed(0)],
  ];
  for (const t of ['udp', 'tcp'] as Transport[]) {
    const c = r.responses[t];
    const keys = Object.keys(c).sort();
    rows.push([
      `responses ${t.toUpperCase()}`,
      keys.length === 0 ? '0' : keys.map((k) => `${k} ${c[k]}`).join(', '),
    ]);
  }
  rows.push(
    ['TCP connections (closed by server)', `${r.tcp.connections} (${r.tcp.serverClosed})`],
    ['health OPTIONS answered', `${r.probes.answered} / ${r.probes.sent}`],
    ['crashes', r.crash === undefined ? '0' : `1 (${r.crash})`],
    ['error log lines', String(r.errorLogs.length)],
    ['RSS start / mid / end', `${mib(r.rssKiB.start)} / ${mib(r.rssKiB.mid)} / ${mib(r.rssKiB.end)}`],
    ...(r.rssKiB.settled === undefined
      ? []
      : [['RSS after the settle wait', mib(r.rssKiB.settled)] as [string, string]]),
    ['RSS each tenth (MiB)', r.rssSeries.map((k) => (k / 1024).toFixed(0)).join(' ')],
    [`RSS flat (end ≤ mid or first-half peak + ${mib(FLAT_BOUND_KIB)})`, isFlat(r) ? 'yes' : 'NO'],
    [
      'mutations',
      Object.entries(r.kinds)
        .sort((a, b) => b[1] - a[1])
        .map(([k, v]) => `${k} ${v}`)
        .join(', '),
    ],
  );
  const width = Math.max(...rows.map(([k]) => k.length));
  return ['| measure | value |', '|---|---|', ...rows.map(([k, v]) => `| ${k.padEnd(width)} | ${v} |`)].join(
    '\n',
  );
}

/** The crash file: the seed and the last cases, bytes as latin1 text and as base64 for an exact replay. */
export function saveCrash(r: FuzzReport, dir = join('bench', 'results')): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `fuzz-crash-${r.seed}.json`);
  const cases = r.lastCases.map((c) => ({
    ...c,
    text: c.bytes.toString('latin1'),
    bytes: c.bytes.toString('base64'),
  }));
  writeFileSync(
    path,
    JSON.stringify({ seed: r.seed, crash: r.crash, cases, errorLogs: r.errorLogs, log: r.logTail }, null, 1),
  );
  return path;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      count: { type: 'string', default: String(DEFAULTS.count) },
      seconds: { type: 'string', default: String(DEFAULTS.seconds) },
      seed: { type: 'string', default: String(DEFAULTS.seed) },
      'check-every': { type: 'string', default: String(DEFAULTS.checkEvery) },
      transport: { type: 'string', default: 'both' },
      corpus: { type: 'string', multiple: true, default: [] },
      replay: { type: 'string' },
      settle: { type: 'string', default: '35' },
      'server-heap-mib': { type: 'string', default: '0' },
    },
  });
  if (values.replay !== undefined) {
    const cases = readCrashFile(values.replay);
    const failure = await replay(cases);
    console.log(`replayed ${cases.length} cases from ${values.replay}: ${failure ?? 'server survived'}`);
    if (failure !== undefined) process.exitCode = 1;
    return;
  }
  const num = (name: string, v: string | undefined): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new Error(`--${name}: must be a whole number, got ${v}`);
    return n;
  };
  const t = values.transport;
  if (t !== 'udp' && t !== 'tcp' && t !== 'both') throw new Error(`--transport: udp, tcp or both, got ${t}`);
  const r = await runFuzz({
    count: num('count', values.count),
    seconds: num('seconds', values.seconds),
    seed: num('seed', values.seed),
    checkEvery: Math.max(1, num('check-every', values['check-every'])),
    transports: t === 'both' ? ['udp', 'tcp'] : [t],
    corpusDirs: values.corpus ?? [],
    settleSeconds: num('settle', values.settle),
    serverHeapMiB: num('server-heap-mib', values['server-heap-mib']),
    progress: (sent, s) => {
      if (sent % 50_000 === 0) process.stderr.write(`fuzz: ${sent} sent, ${s.toFixed(0)} s\n`);
    },
  });
  console.log(formatReport(r));
  for (const odd of r.oddReplies) console.log(`not a response: ${JSON.stringify(odd)}`);
  for (const line of r.errorLogs.slice(0, 5)) console.log(`error log: ${line.slice(0, 400)}`);
  if (r.crash !== undefined) {
    const path = saveCrash(r);
    console.log(`\nCRASH: ${r.crash}; seed ${r.seed}. Last cases (saved to ${path}):`);
    for (const c of r.lastCases.slice(-5)) {
      console.log(
        `#${c.n} ${c.transport} base ${c.base} [${c.kinds.join(', ')}]: ${JSON.stringify(c.bytes.toString('latin1').slice(0, 300))}`,
      );
    }
    process.exitCode = 1;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 2;
  });
}
