// `npm run bench`: every benchmark in turn, each printing its table and writing bench/results/<name>.json.
// The failover benchmark (root, SIPp and keepalived) runs last, with a 60 s soak unless BENCH_SOAK_S says otherwise.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const here = import.meta.dirname;
const BENCHES = ['parser', 'throughput', 'transports', 'replication', 'cluster', 'failover'];
/** Where a benchmark's entry point is, when it is not <name>.js. */
const ENTRY: Record<string, string> = {
  failover: join('failover', 'main.js'),
  transports: join('transports', 'main.js'),
  cluster: join('cluster', 'main.js'),
};
const only = process.env.BENCH_RUN?.split(',');
let failed: string[] = [];
for (const name of BENCHES) {
  if (only !== undefined && !only.includes(name)) continue;
  const file = join(here, ENTRY[name] ?? `${name}.js`);
  if (!existsSync(file)) {
    process.stderr.write(`\n== ${name}: not present, skipped\n`);
    continue;
  }
  process.stderr.write(`\n== ${name}\n`);
  const env = { ...process.env };
  if (name === 'failover') env.BENCH_SOAK_S ??= '60';
  const r = spawnSync(process.execPath, [file], { stdio: 'inherit', env });
  if (r.status !== 0) failed = [...failed, name];
}
if (failed.length > 0) {
  process.stderr.write(`\nbenchmarks that failed: ${failed.join(', ')}\n`);
  process.exitCode = 1;
}
