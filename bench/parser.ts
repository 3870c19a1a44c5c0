// Parser benchmark: parse and parse+serialise messages/s for a typical INVITE and REGISTER on one core.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { parseMessage } from '../src/sip/parser.js';
import { serializeMessage } from '../src/sip/serializer.js';
import { TYPICAL_INVITE, TYPICAL_REGISTER } from './messages.js';

const DURATION_MS = Number(process.env.BENCH_MS ?? 2000);

/**
 * Operations per second of CPU time spent by this process (user + system), not of wall time: on a shared machine the
 * other processes then change the figure little, and "on one core" is what it means.
 */
function rate(fn: () => void): number {
  for (let i = 0; i < 20_000; i++) fn(); // warm up the JIT
  let n = 0;
  const wallStart = performance.now();
  const cpuStart = process.cpuUsage();
  while (performance.now() - wallStart < DURATION_MS) {
    for (let i = 0; i < 1000; i++) fn();
    n += 1000;
  }
  const cpu = process.cpuUsage(cpuStart);
  return Math.round(n / ((cpu.user + cpu.system) / 1e6));
}

/** The median of three measurements: this shared VM's speed wanders from one second to the next. */
function median3(fn: () => void): number {
  const runs = [rate(fn), rate(fn), rate(fn)].sort((a, b) => a - b);
  return runs[1]!;
}

const rows: Array<{ message: string; bytes: number; parse_per_s: number; parse_serialize_per_s: number }> =
  [];
for (const [name, text] of [
  ['INVITE', TYPICAL_INVITE],
  ['REGISTER', TYPICAL_REGISTER],
] as const) {
  const bytes = Buffer.from(text, 'latin1');
  const parse = median3(() => {
    const r = parseMessage(bytes);
    if (!r.ok) throw new Error(r.error.reason);
  });
  const both = median3(() => {
    const r = parseMessage(bytes);
    if (!r.ok) throw new Error(r.error.reason);
    // Touch what a proxy touches, then serialise.
    r.message.headers.prepend('Via', 'SIP/2.0/UDP 198.51.100.10;branch=z9hG4bKbench');
    serializeMessage(r.message);
  });
  rows.push({ message: name, bytes: bytes.length, parse_per_s: parse, parse_serialize_per_s: both });
}

const cpu = cpus()[0]?.model ?? 'unknown CPU';
console.log(`Parser benchmark (messages per CPU-second on one core, ${cpu}, node ${process.version})`);
console.log('| message  | bytes | parse/s | parse+serialise/s |');
console.log('|----------|------:|--------:|------------------:|');
for (const r of rows) {
  console.log(
    `| ${r.message.padEnd(8)} | ${String(r.bytes).padStart(5)} | ${r.parse_per_s.toLocaleString('en-US').padStart(7)} | ${r.parse_serialize_per_s.toLocaleString('en-US').padStart(17)} |`,
  );
}
mkdirSync('bench/results', { recursive: true });
writeFileSync(
  'bench/results/parser.json',
  JSON.stringify({ date: new Date().toISOString(), cpu, node: process.version, rows }, null, 2),
);
