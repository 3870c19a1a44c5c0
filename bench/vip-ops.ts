// VIP operations on the switchover's critical path, one process per command vs the linux driver's ip coprocess
// and primed announcement sender: N enable/disable cycles and the delay from announce() to the first gratuitous
// ARP (RFC 5227) seen by a peer namespace, in a scratch pair of network namespaces. Needs root.
import { execFileSync, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { vipSchema } from '../src/vip/config.js';
import { createVipDriver } from '../src/vip/driver.js';
import { createScratchNetns } from '../test/helpers/netns.js';

const N = Number(process.env.BENCH_N ?? 50);
const VIP = '198.51.100.10';

// A listener in the peer: prints CLOCK_MONOTONIC (ms) for every ARP whose sender address is the VIP.
const LISTENER = `use strict; use warnings; use Socket qw(SOCK_DGRAM inet_ntoa);
use Time::HiRes qw(clock_gettime CLOCK_MONOTONIC);
my ($vip) = @ARGV; $| = 1;
socket(my $s, 17, SOCK_DGRAM, 0x0608) or die "AF_PACKET: $!\\n";
print "ready\\n";
while (defined recv($s, my $buf, 2048, 0)) {
  next if length($buf) < 28;
  printf("%.3f\\n", clock_gettime(CLOCK_MONOTONIC) * 1000) if inet_ntoa(substr($buf, 14, 4)) eq $vip;
}`;

const monoMs = (): number => Number(process.hrtime.bigint()) / 1e6;

function stats(xs: number[]): { p50: string; p95: string; max: string } {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number): number => s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)] ?? Number.NaN;
  return { p50: at(0.5).toFixed(2), p95: at(0.95).toFixed(2), max: at(1).toFixed(2) };
}

async function main(): Promise<number> {
  if (process.getuid?.() !== 0) {
    process.stderr.write('bench:vip needs root (it creates network namespaces); run it as root.\n');
    return 1;
  }
  const net = createScratchNetns('sipha-vb');
  const listener = spawn('ip', ['netns', 'exec', net.peer, 'perl', '-e', LISTENER, '--', VIP], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const lines = createInterface({ input: listener.stdout })[Symbol.asyncIterator]();
    const next = async (timeoutMs: number): Promise<string | undefined> => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<undefined>((r) => {
        timer = setTimeout(() => r(undefined), timeoutMs);
      });
      const line = await Promise.race([
        lines.next().then((r) => (r.done === true ? undefined : r.value)),
        timeout,
      ]);
      clearTimeout(timer);
      return line;
    };
    if ((await next(5000)) !== 'ready') throw new Error('the ARP listener did not start');
    const rows: { what: string; path: string; xs: number[] }[] = [];
    for (const coprocess of [false, true]) {
      const path = coprocess ? 'coprocess' : 'one-shot';
      const config = vipSchema.parse({
        address: `${VIP}/24`,
        interface: 'v0',
        announce: { count: 1, interval_ms: 1, repeat_after_ms: 0, refresh_s: 0 },
      });
      const d = createVipDriver(config, { wrap: net.wrap, coprocess });
      await d.prime();
      const enable: number[] = [];
      const disable: number[] = [];
      for (let i = 0; i < N; i++) {
        let t = performance.now();
        await d.enable();
        enable.push(performance.now() - t);
        t = performance.now();
        await d.disable();
        disable.push(performance.now() - t);
      }
      await d.enable();
      const first: number[] = [];
      for (let i = 0; i < N; i++) {
        const t = monoMs();
        const sent = d.announce();
        const seen = await next(2000);
        await sent;
        if (seen === undefined) throw new Error(`no ARP seen (${path}, burst ${i + 1})`);
        first.push(Number(seen) - t);
      }
      await d.disable();
      await d.close();
      rows.push({ what: 'enable', path, xs: enable });
      rows.push({ what: 'disable', path, xs: disable });
      rows.push({ what: 'announce → 1st ARP', path, xs: first });
    }
    const table = rows.map((r) => ({ operation: r.what, path: r.path, n: r.xs.length, ...stats(r.xs) }));
    const ipVersion = execFileSync('ip', ['-V'], { encoding: 'utf8' }).trim();
    process.stdout.write(`VIP operations, ms (${N} each, scratch netns; ${ipVersion})\n`);
    console.table(table);
    return 0;
  } finally {
    listener.kill('SIGKILL');
    net.remove();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench:vip failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
