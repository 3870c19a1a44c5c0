// One bounded fuzz run against a fresh standalone sipha: seeded cases alternate between UDP and TCP, a valid OPTIONS
// every `checkEvery` cases must be answered (it also paces the sender: UDP is FIFO, so its answer means the server
// has read what came before), and the server's RSS is read at the start, the middle and the end.
import { instantiate, loadCorpus } from './corpus.js';
import { type FuzzCase, fuzzCase, type MutationKind, prng } from './mutate.js';
import { type ClassCounts, oddReplies, TcpSender, type Transport, UdpSender } from './senders.js';
import { freePort, Prober, startServer } from './server.js';

export interface FuzzOptions {
  count: number;
  seconds: number;
  seed: number;
  /** A health probe after this many cases. */
  checkEvery: number;
  transports: readonly Transport[];
  /** More corpus directories (one message per file). */
  corpusDirs: readonly string[];
  /** How many of the last cases to keep for a crash report. */
  keepLast: number;
  /**
   * Seconds to wait after the last case before one more RSS reading, so that finished transactions (Timer J and H,
   * 32 s, §17.2) are gone: what is left then is what the server keeps.
   */
  settleSeconds: number;
  /** The server's old-space cap in MiB (0: Node's default). */
  serverHeapMiB: number;
  /** Called after each probe. */
  progress?: (sent: number, elapsedS: number) => void;
}

export const DEFAULTS: FuzzOptions = {
  count: 10_000,
  seconds: 600,
  seed: 1,
  checkEvery: 200,
  transports: ['udp', 'tcp'],
  corpusDirs: [],
  keepLast: 50,
  settleSeconds: 0,
  serverHeapMiB: 0,
};

export interface SentCase {
  /** Sequence number in the run (with the seed, enough to regenerate it). */
  n: number;
  transport: Transport;
  base: number;
  kinds: MutationKind[];
  bytes: Buffer;
}

export interface FuzzReport {
  seed: number;
  corpusSize: number;
  sent: Record<Transport, number>;
  responses: Record<Transport, ClassCounts>;
  tcp: { connections: number; serverClosed: number; connectFailures: number };
  kinds: Record<string, number>;
  probes: { sent: number; answered: number };
  elapsedS: number;
  /** Why the server is considered crashed, if it is: it exited, or it stopped answering OPTIONS. */
  crash: string | undefined;
  /** Log lines of level error/fatal: an exception caught by the transport counts here, not as a crash. */
  errorLogs: string[];
  rssKiB: { start: number | undefined; mid: number | undefined; end: number | undefined; settled?: number };
  /** RSS after each tenth of the count (KiB), to tell a plateau from a climb. */
  rssSeries: number[];
  /** The first messages that came back and were not responses. */
  oddReplies: string[];
  lastCases: SentCase[];
  logTail: string;
}

export async function runFuzz(partial: Partial<FuzzOptions>): Promise<FuzzReport> {
  const o: FuzzOptions = { ...DEFAULTS, ...partial };
  const corpus = loadCorpus(o.corpusDirs);
  const rand = prng(o.seed);
  const deadPort = await freePort();
  const server = await startServer(deadPort, o.serverHeapMiB);
  const prober = new Prober(server.port);
  const udp = new UdpSender(server.port);
  // Connections carry 1–30 messages each (their own stream, so the cases stay those of the seed).
  const perConnection = prng(o.seed ^ 0x5eed);
  const tcp = new TcpSender(server.port, () => 1 + Math.floor(perConnection() * 30));
  await Promise.all([prober.open(), udp.open()]);
  const kinds: Record<string, number> = {};
  const last: SentCase[] = [];
  const probes = { sent: 0, answered: 0 };
  let crash: string | undefined;
  const rss: FuzzReport['rssKiB'] = { start: undefined, mid: undefined, end: undefined };
  const series: number[] = [];
  const started = performance.now();
  const elapsed = () => (performance.now() - started) / 1000;

  const health = async (): Promise<boolean> => {
    probes.sent++;
    const ok = !server.exited() && (await prober.probe());
    if (ok) probes.answered++;
    else if (server.exited()) crash = `exited (code ${server.exitCode()}, signal ${server.signal()})`;
    else crash = 'no answer to OPTIONS in 3 × 2 s';
    return ok;
  };

  try {
    if (!(await health())) throw new Error(`server not answering at start: ${crash}`);
    rss.start = server.rssKiB();
    let n = 0;
    for (; n < o.count && elapsed() < o.seconds; n++) {
      const transport = o.transports[n % o.transports.length]!;
      const c: FuzzCase = fuzzCase(corpus, rand, (t) => instantiate(t, n, transport));
      for (const k of c.kinds) kinds[k] = (kinds[k] ?? 0) + 1;
      if (c.kinds.length === 0) kinds.none = (kinds.none ?? 0) + 1;
      last.push({ n, transport, base: c.base, kinds: c.kinds, bytes: c.bytes });
      if (last.length > o.keepLast) last.shift();
      if (transport === 'udp') await udp.send(c.bytes);
      else if (!(await tcp.send(c.bytes))) {
        if (!(await health())) break;
      }
      if ((n + 1) % Math.max(1, Math.floor(o.count / 10)) === 0) series.push(server.rssKiB() ?? 0);
      if (rss.mid === undefined && (n + 1 >= o.count / 2 || elapsed() >= o.seconds / 2))
        rss.mid = server.rssKiB();
      if ((n + 1) % o.checkEvery === 0) {
        if (!(await health())) break;
        o.progress?.(n + 1, elapsed());
      }
    }
    if (crash === undefined) await health();
    rss.end = server.rssKiB();
    if (crash === undefined) {
      // The TCP side must answer too: a valid OPTIONS on a fresh connection.
      const check = new TcpSender(server.port);
      const probe = Buffer.from(
        [
          `OPTIONS sip:127.0.0.1:${server.port} SIP/2.0`,
          'Via: SIP/2.0/TCP 127.0.0.1:9;branch=z9hG4bKtcpprobe',
          'Max-Forwards: 70',
          'From: <sip:probe@example.test>;tag=t',
          `To: <sip:127.0.0.1:${server.port}>`,
          'Call-ID: tcp-probe',
          'CSeq: 1 OPTIONS',
          'Content-Length: 0',
          '',
          '',
        ].join('\r\n'),
      );
      await check.send(probe);
      const until = Date.now() + 3000;
      while ((check.responses['2xx'] ?? 0) === 0 && Date.now() < until)
        await new Promise((r) => setTimeout(r, 20));
      check.close();
      if ((check.responses['2xx'] ?? 0) === 0) crash = 'no answer to OPTIONS over TCP at the end';
    }
    if (crash === undefined && o.settleSeconds > 0) {
      await new Promise((r) => setTimeout(r, o.settleSeconds * 1000));
      if (await health()) rss.settled = server.rssKiB();
    }
  } finally {
    udp.close();
    tcp.close();
    prober.close();
  }
  const report: FuzzReport = {
    seed: o.seed,
    corpusSize: corpus.length,
    sent: { udp: udp.sent, tcp: tcp.sent },
    responses: { udp: udp.responses, tcp: tcp.responses },
    tcp: {
      connections: tcp.connections,
      serverClosed: tcp.serverClosed,
      connectFailures: tcp.connectFailures,
    },
    kinds,
    probes,
    elapsedS: elapsed(),
    crash,
    errorLogs: [...server.errorLines()],
    rssKiB: rss,
    rssSeries: series,
    oddReplies: [...oddReplies],
    lastCases: last,
    logTail: server.logTail(),
  };
  await server.stop();
  return report;
}
