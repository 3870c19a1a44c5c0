// The chaos command: hundreds of random, seeded faults at a loaded pair in the lab, the invariants checked all
// along (bench/chaos/run.ts says what is observed; src/lab/chaos/invariants.ts what is checked).
//   sudo npm run chaos -- --faults N [--seed S] [--duration-s T]   a new schedule (T: no inject after T s)
//   sudo npm run chaos -- --replay FILE                             a schedule written by an earlier run
//   … --etcd                         the pair in cluster mode (a three-member etcd in the lab as witness and
//                                    fence); the VIP check is strict: never two holders, not even at a takeover
//   sudo npm run chaos -- --self-test                               the checker against nodes broken on purpose
//   sudo npm run chaos -- --regressions                             every named seed that once found a bug
//   npm run chaos -- --check bench/results/chaos/seed-S/samples.jsonl   the checker again on a saved history
// Artefacts in bench/results/chaos/seed-S/: schedule.json and report.txt always; with a violation also the
// samples, both node logs and the client's capture. Exit status 1 when a violation was found (or, with
// --self-test, when one was missed).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { check, formatReport } from '../../src/lab/chaos/invariants.js';
import { parseSeed } from '../../src/lab/chaos/random.js';
import type { Sample } from '../../src/lab/chaos/samples.js';
import { parseSchedule, planSchedule, type Schedule } from '../../src/lab/chaos/schedule.js';
import { log } from '../failover/common.js';
import { runChaos } from './run.js';
import { REGRESSION_SEEDS } from './seeds.js';
import { SELF_TESTS } from './self-test.js';

const OUT = join(process.cwd(), 'bench', 'results', 'chaos');

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? undefined : process.argv[i + 1];
}

function schedule(): Schedule {
  const replay = arg('replay');
  if (replay !== undefined) return parseSchedule(readFileSync(replay, 'utf8'));
  const seed = parseSeed(arg('seed') ?? String(Math.floor(Math.random() * 2 ** 32)));
  const faults = Number(arg('faults') ?? 20);
  const plan = planSchedule({ seed, faults, gapMs: [1000, 3000], overlapChance: 0.2 });
  const duration = arg('duration-s');
  if (duration === undefined) return plan;
  const until = Number(duration) * 1000;
  return { ...plan, steps: plan.steps.filter((s) => s.atMs <= until) };
}

async function selfTest(): Promise<number> {
  let missed = 0;
  for (const t of SELF_TESTS) {
    log(`self-test ${t.name}: SIPHA_TEST_BREAK=${t.break}, expecting ${t.expect}`);
    const r = await runChaos({ ...t.options(OUT), say: log });
    const found = r.report.violations.some((v) => v.invariant === t.expect);
    console.log(`${r.text}\nself-test ${t.name}: ${found ? 'the checker reported' : 'MISSED'} ${t.expect}`);
    if (!found) missed++;
  }
  return missed > 0 ? 1 : 0;
}

async function regressions(): Promise<number> {
  let failed = 0;
  for (const r of REGRESSION_SEEDS) {
    log(`regression ${r.name}: seed ${r.seed}, ${r.faults} faults (found: ${r.found})`);
    const file = join(process.cwd(), 'bench', 'chaos', 'regressions', `${r.name}.json`);
    const plan = parseSchedule(readFileSync(file, 'utf8'));
    const run = await runChaos({ schedule: plan, out: OUT, say: log });
    const ok = run.report.violations.length === 0;
    console.log(`${run.text}\nregression ${r.name}: ${ok ? 'passes' : 'FAILS'} (fix tested in ${r.test})`);
    if (!ok) failed++;
  }
  return failed > 0 ? 1 : 0;
}

/** The checker on a history saved by an earlier run (a new rule, or a fixed one, judged on old evidence). */
function recheck(file: string): number {
  const samples = readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Sample);
  const report = check(samples);
  console.log(formatReport(report));
  return report.violations.length > 0 ? 1 : 0;
}

async function main(): Promise<number> {
  const saved = arg('check');
  if (saved !== undefined) return recheck(saved);
  if (process.getuid?.() !== 0) {
    log('chaos needs root (network namespaces): sudo npm run chaos');
    return 1;
  }
  if (process.argv.includes('--self-test')) return selfTest();
  if (process.argv.includes('--regressions')) return regressions();
  const etcd = process.argv.includes('--etcd');
  const r = await runChaos({ schedule: schedule(), out: OUT, say: log, ...(etcd ? { etcd } : {}) });
  console.log(r.text);
  console.log(`artefacts: ${r.dir}`);
  return r.report.violations.length > 0 ? 1 : 0;
}

main()
  .then((code) => {
    process.exitCode = code;
  })
  .catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
