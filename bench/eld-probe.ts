// Preloaded into the sipha process under test (`node --import dist/bench/eld-probe.js …`) by the throughput
// benchmark: Node's own event-loop delay histogram, written to $SIPHA_ELD_FILE and reset on each SIGUSR2, so every
// load step gets its own p99. Benchmark-only; sipha itself never loads it.
import { writeFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';

const file = process.env.SIPHA_ELD_FILE;
if (file !== undefined) {
  const h = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
  process.on('SIGUSR2', () => {
    const ms = (ns: number) => Math.round(ns / 1e5) / 10;
    writeFileSync(file, JSON.stringify({ p99: ms(h.percentile(99)), max: ms(h.max), mean: ms(h.mean) }));
    h.reset();
  });
}
