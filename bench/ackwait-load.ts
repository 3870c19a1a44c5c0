// The SIP load of the acknowledged-means-replicated comparison (bench/replication.ts, BENCH_ONLY=ackwait), without
// SIPp: REGISTERs and INVITEs from one UDP socket with a fixed number outstanding, timing each request to its final
// response, and a callee socket that answers every INVITE 200 at once. Loopback only.

import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';

export interface LoadResult {
  done: number;
  failed: number;
  seconds: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
}

const BRANCH = /branch=([^;\r\n]+)/;

function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}

async function open(): Promise<Socket> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  return s;
}

/** Sends `count` requests built by `make(i, branch, port)`, `window` at a time; a final response ends each. */
export async function runLoad(
  sipPort: number,
  count: number,
  window: number,
  make: (i: number, branch: string, port: number) => string,
  timeoutMs = 2000,
): Promise<LoadResult> {
  const socket = await open();
  const port = socket.address().port;
  const open_ = new Map<string, { start: number; timer: NodeJS.Timeout; next: () => void }>();
  const latencies: number[] = [];
  let failed = 0;
  let sent = 0;
  let finished = 0;
  const started = performance.now();
  await new Promise<void>((resolve) => {
    const finish = (branch: string, ok: boolean) => {
      const o = open_.get(branch);
      if (o === undefined) return;
      open_.delete(branch);
      clearTimeout(o.timer);
      if (ok) latencies.push(performance.now() - o.start);
      else failed++;
      finished++;
      o.next();
    };
    const sendOne = () => {
      if (sent >= count) {
        if (finished >= count) resolve();
        return;
      }
      const i = sent++;
      const branch = `z9hG4bK${randomBytes(6).toString('hex')}`;
      const timer = setTimeout(() => finish(branch, false), timeoutMs);
      open_.set(branch, { start: performance.now(), timer, next: sendOne });
      socket.send(Buffer.from(make(i, branch, port), 'latin1'), sipPort, '127.0.0.1');
    };
    socket.on('message', (m) => {
      const text = m.toString('latin1');
      if (!text.startsWith('SIP/2.0 ')) return;
      const status = Number(text.slice(8, 11));
      if (status < 200) return;
      const branch = BRANCH.exec(text)?.[1];
      if (branch !== undefined) finish(branch, status < 300);
    });
    for (let k = 0; k < window; k++) sendOne();
  });
  const seconds = (performance.now() - started) / 1000;
  socket.close();
  latencies.sort((a, b) => a - b);
  return {
    done: latencies.length,
    failed,
    seconds,
    perSecond: latencies.length / seconds,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
  };
}

/** A REGISTER for user `i % users` (each one a binding change: added or refreshed). */
export function registerRequest(users: number) {
  let cseq = 0;
  return (i: number, branch: string, port: number): string =>
    [
      'REGISTER sip:example.test SIP/2.0',
      `Via: SIP/2.0/UDP 127.0.0.1:${port};branch=${branch}`,
      'Max-Forwards: 70',
      `From: <sip:u${i % users}@example.test>;tag=r${i % users}`,
      `To: <sip:u${i % users}@example.test>`,
      `Call-ID: bench-reg-${i % users}`,
      `CSeq: ${++cseq} REGISTER`,
      `Contact: <sip:u${i % users}@127.0.0.1:${port}>`,
      'Expires: 600',
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n');
}

/** An INVITE to `callee@example.test`, a new call each time. */
export function inviteRequest(callee: string, run: string) {
  return (i: number, branch: string, port: number): string =>
    [
      `INVITE sip:${callee}@example.test SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.1:${port};branch=${branch}`,
      'Max-Forwards: 70',
      'From: <sip:caller@example.test>;tag=c',
      `To: <sip:${callee}@example.test>`,
      `Call-ID: bench-call-${run}-${i}`,
      'CSeq: 1 INVITE',
      `Contact: <sip:caller@127.0.0.1:${port}>`,
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n');
}

/** A UAS that answers every INVITE with a 200 carrying a new To tag; it registers itself as `user` first. */
export class AutoAnswer {
  private constructor(private readonly socket: Socket) {}

  static async start(sipPort: number, user: string): Promise<AutoAnswer> {
    const socket = await open();
    socket.on('message', (m, rinfo) => {
      const text = m.toString('latin1');
      if (!text.startsWith('INVITE ')) return;
      const head = text.slice(0, text.indexOf('\r\n\r\n')).split('\r\n');
      const keep = head.filter((l) => /^(via|from|call-id|cseq):/i.test(l));
      const to = head.find((l) => /^to:/i.test(l)) ?? 'To: <sip:x@example.test>';
      const ok = [
        'SIP/2.0 200 OK',
        ...keep,
        `${to};tag=${randomBytes(4).toString('hex')}`,
        `Contact: <sip:${user}@127.0.0.1:${socket.address().port}>`,
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n');
      socket.send(Buffer.from(ok, 'latin1'), rinfo.port, rinfo.address);
    });
    const a = new AutoAnswer(socket);
    // Registered from the load socket (the 200 comes back there), with the callee's socket as the Contact.
    const contact = `<sip:${user}@127.0.0.1:${socket.address().port}>`;
    const reg = await runLoad(sipPort, 1, 1, (_i, branch, port) =>
      registerRequest(1)(0, branch, port)
        .replaceAll('u0@', `${user}@`)
        .replace(/Contact: <[^>]*>/, `Contact: ${contact}`),
    );
    if (reg.done !== 1) throw new Error('the callee could not register');
    return a;
  }

  stop(): void {
    this.socket.close();
  }
}
