// Our own SIP load generator over udp, tls and wss: Debian's SIPp is built without OpenSSL and has no WebSocket, so it
// cannot drive the secure transports. One step = C connections, `rate` requests (or calls) per second for S seconds,
// bounded by count and by time; every transaction times out at 8 s. Runs in this process: its own CPU use is part of
// the machine's load (the report says so).
import { parseMessage } from '../../src/sip/parser.js';
import { type Connection, openConnection, type Transport } from './connection.js';
import * as text from './sip-text.js';

export type Workload = 'register' | 'call';

export interface StepSpec {
  transport: Transport;
  port: number;
  workload: Workload;
  /** Offered rate: REGISTERs or calls per second. */
  rate: number;
  seconds: number;
  connections: number;
}

export interface StepResult {
  transport: Transport;
  workload: Workload;
  rate: number;
  offered: number;
  succeeded: number;
  failed: number;
  failures: Record<string, number>;
  /** From the first send to the last success (at least the nominal step length). */
  seconds: number;
  achieved: number;
  /** Latency of each request to its final response (REGISTER; INVITE and BYE), ms. */
  p50Ms: number;
  p99Ms: number;
  /** The client could not send at the offered rate (its own event loop fell behind). */
  lagged: boolean;
  /**
   * The load client's own CPU over the step, in cores: near 1.0 it is the bottleneck (one Node thread), and the
   * step measures the client, not the server.
   */
  clientCpu: number;
  ok: boolean;
}

const TIMEOUT_MS = 8000;
/** RFC 3261 T1: over UDP a request is sent again after 0.5, 1, 2, 4 s until its final response (Timer E/A). */
const T1_MS = 500;

/** Fresh names for each REGISTER and each callee, across the whole run (a REGISTER is always a new AoR). */
let seq = 0;
const runTag = `${process.pid.toString(36)}${Date.now().toString(36)}`;
const next = () => `${runTag}x${(++seq).toString(36)}`;

interface Pending {
  sentAt: number;
  onFinal(status: number, msg: import('../../src/sip/message.js').SipResponse): void;
  onTimeout(): void;
  timer: NodeJS.Timeout;
  resend?: NodeJS.Timeout;
}

/** Client transactions, by Call-ID and CSeq method (unique per request in this load: one dialog per Call-ID). */
class Transactions {
  private readonly pending = new Map<string, Pending>();
  readonly latencies: number[] = [];

  send(
    conn: Connection,
    key: string,
    msg: string,
    onFinal: Pending['onFinal'],
    onTimeout: () => void,
    retransmit: boolean,
  ): void {
    const p: Pending = {
      sentAt: performance.now(),
      onFinal,
      onTimeout,
      timer: setTimeout(() => {
        this.clear(key);
        onTimeout();
      }, TIMEOUT_MS),
    };
    if (retransmit && conn.transport === 'udp') {
      let interval = T1_MS;
      const again = () => {
        conn.send(msg);
        interval *= 2;
        p.resend = setTimeout(again, interval);
      };
      p.resend = setTimeout(again, interval);
    }
    this.pending.set(key, p);
    conn.send(msg);
  }

  /** A provisional response stops an INVITE's retransmissions (Timer A) but not its timeout. */
  provisional(key: string): void {
    const p = this.pending.get(key);
    if (p?.resend !== undefined) clearTimeout(p.resend);
  }

  final(key: string, status: number, msg: import('../../src/sip/message.js').SipResponse): void {
    const p = this.pending.get(key);
    if (p === undefined) return; // a retransmission of a final response
    this.clear(key);
    this.latencies.push(performance.now() - p.sentAt);
    p.onFinal(status, msg);
  }

  get size(): number {
    return this.pending.size;
  }

  private clear(key: string): void {
    const p = this.pending.get(key);
    if (p === undefined) return;
    clearTimeout(p.timer);
    if (p.resend !== undefined) clearTimeout(p.resend);
    this.pending.delete(key);
  }

  /** Drops everything (end of a step that ran out of time). */
  abandon(): number {
    const n = this.pending.size;
    for (const key of [...this.pending.keys()]) this.clear(key);
    return n;
  }
}

/** Wires a connection: responses to the transactions, requests to the callee behaviour (answer INVITE and BYE). */
function attach(conn: Connection, tx: Transactions, onBadMessage: () => void): void {
  conn.onMessage((bytes) => {
    const r = parseMessage(bytes, undefined, conn.transport === 'udp' ? 'datagram' : 'stream');
    if (!r.ok) {
      onBadMessage();
      return;
    }
    const m = r.message;
    if (m.kind === 'response') {
      const key = `${m.callId} ${m.cseq?.method}`;
      if (m.status < 200) tx.provisional(key);
      else tx.final(key, m.status, m);
      return;
    }
    // The callee: ring and answer at once; ACK needs nothing; BYE and anything else get 200.
    const toTag = `t${m.callId?.length ?? 0}${(m.callId ?? '').slice(-8)}`;
    if (m.method === 'ACK') return;
    if (m.method === 'INVITE') {
      conn.send(text.answer(conn, m, 180, 'Ringing', toTag));
      conn.send(text.answer(conn, m, 200, 'OK', toTag));
      return;
    }
    conn.send(text.answer(conn, m, 200, 'OK', toTag));
  });
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
}

/** Opens `n` connections, at most 50 handshakes at a time. */
export async function openMany(transport: Transport, port: number, n: number): Promise<Connection[]> {
  const out: Connection[] = [];
  for (let i = 0; i < n; i += 50) {
    const batch = Array.from({ length: Math.min(50, n - i) }, () => openConnection(transport, port));
    out.push(...(await Promise.all(batch)));
  }
  return out;
}

/** Registers each callee connection under a fresh AoR; resolves with the names (throws if one fails). */
async function registerCallees(conns: Connection[], tx: Transactions): Promise<string[]> {
  return Promise.all(
    conns.map(
      (conn) =>
        new Promise<string>((resolve, reject) => {
          const user = `c${next()}`;
          const callId = `r${next()}`;
          tx.send(
            conn,
            `${callId} REGISTER`,
            text.register(conn, user, callId, next()),
            (status) => (status === 200 ? resolve(user) : reject(new Error(`callee REGISTER: ${status}`))),
            () => reject(new Error('callee REGISTER timed out')),
            true,
          );
        }),
    ),
  );
}

export async function runStep(spec: StepSpec): Promise<StepResult> {
  const tx = new Transactions();
  const failures: Record<string, number> = {};
  let succeeded = 0;
  let failed = 0;
  let lastSuccess = 0;
  const fail = (why: string) => {
    failed++;
    failures[why] = (failures[why] ?? 0) + 1;
  };
  const conns = await openMany(spec.transport, spec.port, spec.connections);
  try {
    for (const c of conns) {
      attach(c, tx, () => fail('unparseable'));
      c.onClose(() => fail('connection closed'));
    }
    // Calls: the first half of the connections are callers, the second half the callees they dial.
    const half = Math.max(1, Math.floor(conns.length / 2));
    const callees = spec.workload === 'call' ? await registerCallees(conns.slice(half), tx) : [];
    tx.latencies.length = 0;

    const ok = () => {
      succeeded++;
      lastSuccess = performance.now();
    };
    const launchRegister = (i: number) => {
      const conn = conns[i % conns.length]!;
      const user = `u${next()}`;
      const callId = `r${next()}`;
      tx.send(
        conn,
        `${callId} REGISTER`,
        text.register(conn, user, callId, next()),
        (status) => (status === 200 ? ok() : fail(`REGISTER ${status}`)),
        () => fail('timeout'),
        true,
      );
    };
    const launchCall = (i: number) => {
      const k = i % callees.length;
      const conn = conns[k % half]!;
      const d: text.Dialog = { callId: `i${next()}`, fromTag: next(), caller: `a${k}`, callee: callees[k]! };
      const inviteBranch = next();
      tx.send(
        conn,
        `${d.callId} INVITE`,
        text.invite(conn, d, inviteBranch),
        (status, resp) => {
          if (status >= 300) {
            conn.send(text.ackNon2xx(conn, d, inviteBranch, resp.headers.get('to') ?? ''));
            fail(`INVITE ${status}`);
            return;
          }
          // The dialog (§12.1.2): remote target from Contact, route set = Record-Route reversed.
          d.toTag = /;\s*tag=([^;>\s]+)/i.exec(resp.headers.get('to') ?? '')?.[1];
          d.target = /<([^>]+)>/.exec(resp.headers.get('contact') ?? '')?.[1];
          d.routes = resp.headers.values('record-route').reverse();
          conn.send(text.inDialog(conn, d, 'ACK', 1, next()));
          tx.send(
            conn,
            `${d.callId} BYE`,
            text.inDialog(conn, d, 'BYE', 2, next()),
            (s) => (s < 300 ? ok() : fail(`BYE ${s}`)),
            () => fail('timeout (BYE)'),
            true,
          );
        },
        () => fail('timeout (INVITE)'),
        true,
      );
    };
    const launch = spec.workload === 'register' ? launchRegister : launchCall;

    // Paced sending: every 5 ms, catch up with rate × elapsed; bounded by count (total) and time (the deadline).
    const total = Math.round(spec.rate * spec.seconds);
    const start = performance.now();
    const cpu0 = process.cpuUsage();
    let sent = 0;
    await new Promise<void>((resolve) => {
      const tick = setInterval(() => {
        const due = Math.min(total, Math.floor((spec.rate * (performance.now() - start)) / 1000));
        while (sent < due) launch(sent++);
        if (sent >= total || performance.now() - start > spec.seconds * 2000 + 1000) {
          clearInterval(tick);
          resolve();
        }
      }, 5);
    });
    const sendSeconds = (performance.now() - start) / 1000;
    // Wait for what is in flight (each transaction ends by its own 8 s timeout at the latest).
    const deadline = performance.now() + TIMEOUT_MS * 2 + 2000;
    while (tx.size > 0 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (let n = tx.abandon(); n > 0; n--) fail('abandoned');
    if (sent < total) for (let n = sent; n < total; n++) fail('not sent (client behind)');

    const cpu = process.cpuUsage(cpu0);
    const clientCpu = (cpu.user + cpu.system) / 1e6 / ((performance.now() - start) / 1000);
    const seconds = Math.max(spec.seconds, (lastSuccess - start) / 1000);
    const lat = tx.latencies.sort((a, b) => a - b);
    const lagged = sendSeconds > spec.seconds * 1.2 + 1;
    return {
      transport: spec.transport,
      workload: spec.workload,
      rate: spec.rate,
      offered: total,
      succeeded,
      failed,
      failures,
      seconds,
      achieved: Math.round(succeeded / seconds),
      p50Ms: Math.round(percentile(lat, 50) * 10) / 10,
      p99Ms: Math.round(percentile(lat, 99) * 10) / 10,
      lagged,
      clientCpu: Math.round(clientCpu * 100) / 100,
      ok: !lagged && failed <= total * 0.01 && succeeded + failed >= total * 0.99,
    };
  } finally {
    for (const c of conns) c.close();
  }
}
