// The TLS reconnect storm of a takeover: N phones hold TLS connections to server A and are registered; A stops and B
// (started beforehand, same certificate) takes its place; every phone reconnects to B offering its saved session
// ticket and registers again. Measured: wall time from A's SIGTERM until all N are registered on B, and how many
// handshakes resumed — once with B sharing A's ticket key file (resumption possible) and once with a different one
// (full handshakes), to show what the shared key buys. Run from main.ts, or alone with `--storm-only`.

import { parseMessage } from '../../src/sip/parser.js';
import { type CertFiles, makeTicketKey } from './certs.js';
import { type Connection, openConnection } from './connection.js';
import { freshPorts, type Running, startSipha } from './servers.js';
import * as text from './sip-text.js';

/** Phones, bounded: each is a file descriptor here and one in the server. */
const CLIENTS = Math.min(10_000, Math.max(1, Number(process.env.BENCH_STORM_CLIENTS ?? 2000)));
/** Handshakes in flight at once from the phones' side (many phones, each doing one; the server admits what it can). */
const IN_FLIGHT = 200;
/** Tries per phone (connect + REGISTER) before it counts as lost. */
const MAX_TRIES = 20;
/** The storm must be over by then (bounded wait). */
const STORM_DEADLINE_MS = 120_000;

export interface StormResult {
  ticketKey: 'shared' | 'different';
  clients: number;
  registeredOnA: number;
  reRegistered: number;
  lost: number;
  resumed: number;
  /** From A's SIGTERM until the last phone's 200 from B, ms. */
  wallMs: number;
  /** Connect or REGISTER tries that failed and were retried after a backoff, by cause. */
  retries: Record<string, number>;
  /** From A's SIGTERM until its process had exited, ms. */
  aExitMs: number;
  p50Ms: number;
  p99Ms: number;
}

/** A counting semaphore: at most `n` handshakes in flight. */
class Gate {
  private waiting: Array<() => void> = [];
  constructor(private free: number) {}
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((r) => this.waiting.push(r));
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next !== undefined) next();
      else this.free++;
    }
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** 100–500 ms: spreads the retries so refused phones do not come back in lockstep. */
const backoff = () => sleep(100 + Math.random() * 400);

class Phone {
  conn: Connection | undefined;
  session: Buffer | undefined;
  private waiter: ((status: number) => void) | undefined;
  constructor(readonly user: string) {}

  /** Connects (offering the saved session) and registers; resolves with whether it resumed. */
  async connectAndRegister(port: number, gate: Gate, onRetry: (why: string) => void): Promise<boolean> {
    for (let attempt = 1; attempt <= MAX_TRIES; attempt++) {
      try {
        const resumed = await gate.run(async () => {
          const conn = await openConnection('tls', port, {
            ...(this.session === undefined ? {} : { session: this.session }),
            timeoutMs: 8000,
          });
          this.attach(conn);
          const status = await this.register(conn);
          if (status !== 200) {
            conn.close();
            throw new Error(`REGISTER ${status}`);
          }
          return conn.reused();
        });
        return resumed;
      } catch (err) {
        if (attempt === MAX_TRIES) throw new Error('out of tries');
        onRetry(err instanceof Error ? ((err as NodeJS.ErrnoException).code ?? err.message) : String(err));
        await backoff();
      }
    }
    throw new Error('out of tries');
  }

  private attach(conn: Connection): void {
    this.conn = conn;
    conn.onMessage((bytes) => {
      if (this.conn !== conn) return; // an earlier connection's late answer
      const r = parseMessage(bytes, undefined, 'stream');
      if (r.ok && r.message.kind === 'response' && r.message.status >= 200) this.waiter?.(r.message.status);
    });
  }

  private register(conn: Connection): Promise<number> {
    return new Promise((resolve) => {
      let finished = false;
      const t = setTimeout(() => done(0), 8000);
      // Once only: the close of this connection may come long after (e.g. during a later try's REGISTER).
      const done = (status: number) => {
        if (finished) return;
        finished = true;
        clearTimeout(t);
        if (this.waiter === done) this.waiter = undefined;
        resolve(status);
      };
      this.waiter = done;
      conn.onClose(() => done(0));
      const id = `${this.user}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
      conn.send(text.register(conn, this.user, id, id));
    });
  }

  /** The ticket to offer on the next connection (TLS 1.3 sends it after the handshake). */
  saveSession(): void {
    this.session = this.conn?.session() ?? this.session;
  }
}

/** Starts one server of the pair with TLS on ports.tls and the given ticket key file (sipha; swappable for testing). */
export type StartServer = (keyFile: string) => Promise<Running>;

async function stormOnce(dir: string, start: StartServer, shared: boolean): Promise<StormResult> {
  const keyA = makeTicketKey(dir, `ticket-a-${shared}.key`);
  const keyB = shared ? keyA : makeTicketKey(dir, `ticket-b-${shared}.key`);
  let a: Running | undefined;
  let b: Running | undefined;
  const phones = Array.from({ length: CLIENTS }, (_, i) => new Phone(`s${shared ? 'a' : 'b'}${i}`));
  try {
    a = await start(keyA);
    b = await start(keyB);
    const gate = new Gate(IN_FLIGHT);
    let retries: Record<string, number> = {};
    const onRetry = (why: string) => {
      retries[why] = (retries[why] ?? 0) + 1;
    };
    const first = await Promise.allSettled(
      phones.map((p) => p.connectAndRegister(a!.ports.tls, gate, onRetry)),
    );
    const registeredOnA = first.filter((r) => r.status === 'fulfilled').length;
    await sleep(500); // the session tickets of the last handshakes
    for (const p of phones) p.saveSession();
    retries = {};

    // The takeover: each phone reconnects as soon as its connection to A closes.
    const latencies: number[] = [];
    let resumed = 0;
    let last = 0;
    const t0 = performance.now();
    const all = phones.map(
      (p) =>
        new Promise<void>((resolve) => {
          if (p.conn === undefined) {
            resolve(); // never registered on A: counted as lost
            return;
          }
          p.conn.onClose(() => {
            p.connectAndRegister(b!.ports.tls, gate, onRetry).then(
              (r) => {
                if (r) resumed++;
                last = performance.now();
                latencies.push(last - t0);
                resolve();
              },
              () => {
                resolve(); // out of tries: counted as lost
              },
            );
          });
        }),
    );
    let aExitMs = 0;
    const stopping = a.stop().then(() => {
      aExitMs = Math.round(performance.now() - t0);
    });
    await Promise.race([Promise.all(all), sleep(STORM_DEADLINE_MS)]);
    await stopping;
    a = undefined;
    latencies.sort((x, y) => x - y);
    const pct = (q: number) =>
      latencies.length === 0
        ? 0
        : Math.round(latencies[Math.min(latencies.length - 1, Math.floor((latencies.length * q) / 100))]!);
    return {
      ticketKey: shared ? 'shared' : 'different',
      clients: CLIENTS,
      registeredOnA,
      reRegistered: latencies.length,
      lost: CLIENTS - latencies.length,
      resumed,
      wallMs: Math.round(last - t0),
      retries,
      aExitMs,
      p50Ms: pct(50),
      p99Ms: pct(99),
    };
  } finally {
    for (const p of phones) p.conn?.close();
    await a?.stop();
    await b?.stop();
  }
}

export async function reconnectStorm(
  dir: string,
  cert: CertFiles,
  start: StartServer = (keyFile) =>
    startSipha(dir, freshPorts(), cert, { ticketKeyFile: keyFile, transports: ['tls'] }),
): Promise<StormResult[]> {
  const out: StormResult[] = [];
  for (const shared of [true, false]) {
    process.stderr.write(
      `reconnect storm — ${CLIENTS} TLS phones, ${shared ? 'shared' : 'different'} ticket key\n`,
    );
    const r = await stormOnce(dir, start, shared);
    process.stderr.write(`    ${JSON.stringify(r)}\n`);
    out.push(r);
  }
  return out;
}

function retries(r: StormResult): string {
  const causes = Object.entries(r.retries).sort((x, y) => y[1] - x[1]);
  return causes.length === 0 ? '0' : causes.map(([why, n]) => `${n} ${why}`).join(', ');
}

export function stormTable(rows: StormResult[]): string[] {
  const out = [
    'TLS reconnect storm: A stopped (SIGTERM), every phone reconnects to B and registers again',
    "| B's ticket key | phones | re-registered | lost | resumed | all re-registered after | p50 / p99 per phone | A exited after | retries |",
    '|---|---:|---:|---:|---:|---:|---:|---:|---|',
  ];
  for (const r of rows) {
    out.push(
      `| ${r.ticketKey === 'shared' ? "same as A's" : 'different'} | ${r.clients} | ${r.reRegistered} | ${r.lost} | ${r.resumed} | ${(r.wallMs / 1000).toFixed(2)} s | ${r.p50Ms} / ${r.p99Ms} ms | ${r.aExitMs} ms | ${retries(r)} |`,
    );
  }
  return out;
}
