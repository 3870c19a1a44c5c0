// Replays the cases of a crash file (bench/results/fuzz-crash-<seed>.json) against a fresh standalone sipha, in
// order, and says whether the server is still up and answering afterwards.
import { readFileSync } from 'node:fs';
import { TcpSender, type Transport, UdpSender } from './senders.js';
import { freePort, Prober, startServer } from './server.js';

export interface ReplayCase {
  transport: Transport;
  bytes: Buffer;
}

export function readCrashFile(path: string): ReplayCase[] {
  const data = JSON.parse(readFileSync(path, 'utf8')) as {
    cases: Array<{ transport: Transport; bytes: string }>;
  };
  return data.cases.map((c) => ({ transport: c.transport, bytes: Buffer.from(c.bytes, 'base64') }));
}

/** Sends the cases (TCP ones on one connection, as a stream) and probes; undefined when the server survived. */
export async function replay(cases: readonly ReplayCase[]): Promise<string | undefined> {
  const server = await startServer(await freePort());
  const prober = new Prober(server.port);
  const udp = new UdpSender(server.port);
  const tcp = new TcpSender(server.port);
  await Promise.all([prober.open(), udp.open()]);
  try {
    for (const c of cases) {
      if (c.transport === 'udp') await udp.send(c.bytes);
      else await tcp.send(c.bytes);
    }
    await new Promise((r) => setTimeout(r, 500));
    if (server.exited()) return `exited (code ${server.exitCode()}, signal ${server.signal()})`;
    if (!(await prober.probe())) return 'no answer to OPTIONS in 3 × 2 s';
    return server.errorLines().length > 0 ? `error logged: ${server.errorLines()[0]}` : undefined;
  } finally {
    udp.close();
    tcp.close();
    prober.close();
    await server.stop();
  }
}
