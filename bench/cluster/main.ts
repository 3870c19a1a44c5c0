// `npm run bench:cluster`: cluster mode's costs — etcd writes per REGISTER load, cross-pair call setup, directory
// convergence, and promotion with the etcd election vs without. BENCH_ONLY=writes,calls,converge,promotion picks
// parts; BENCH_TRIALS (default 5) sets the trials of parts 3b and 4. Prints a table, writes bench/results/cluster.json.
import { measureCalls } from './calls.js';
import { log, mono, wanted } from './common.js';
import { measureConvergence } from './converge.js';
import { measurePromotion } from './promotion.js';
import { print, type Results, save } from './report.js';
import { measureWrites } from './writes.js';

const PARTS: { key: keyof Results; run: () => Promise<NonNullable<Results[keyof Results]>> }[] = [
  { key: 'writes', run: measureWrites },
  { key: 'calls', run: measureCalls },
  { key: 'converge', run: measureConvergence },
  { key: 'promotion', run: measurePromotion },
];

const started = new Date();
const t0 = mono();
const results: Results = {};
let failed = false;
for (const part of PARTS) {
  if (!wanted(part.key)) continue;
  log(`== cluster: ${part.key}`);
  try {
    (results as Record<string, unknown>)[part.key] = await part.run();
  } catch (err) {
    failed = true;
    log(`  ${part.key} FAILED: ${String(err)}`);
    (results as Record<string, unknown>)[part.key] = { error: String(err).split('\n')[0] };
  }
}
const seconds = (mono() - t0) / 1000;
process.stdout.write(`\n${print(results, started, seconds)}\n`);
log(`\nresults: ${save(results, started, seconds)}`);
if (failed) process.exitCode = 1;
// Anything left open (an etcd client's reconnect timer) must not keep the benchmark alive.
setTimeout(() => process.exit(), 2000).unref();
