// Registered means callable through every worker: with sip.workers N, a REGISTER handled by one worker (its Call-ID's
// home) is followed at once — the moment its 200 arrives — by an INVITE whose Call-ID is homed at another worker; the
// callee must get it. Measures what that guarantee costs: REGISTER → 200 time at 1 worker and at N. Sequential (one
// request outstanding), so the figures are latency, not capacity.
//   npm run bench:visibility        (BENCH_VISIBILITY_USERS, default 400; BENCH_VISIBILITY_WORKERS, default 2)
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { homeOfCallId } from '../../src/workers/steering.js';
import { startSipha } from '../local-servers.js';

const USERS = Number(process.env.BENCH_VISIBILITY_USERS ?? 400);
const WORKERS = Number(process.env.BENCH_VISIBILITY_WORKERS ?? 2);

function callIdAt(home: number, count: number): string {
  for (;;) {
    const id = `${randomBytes(9).toString('base64url')}@198.51.100.9`;
    if (homeOfCallId(id, count) === home) return id;
  }
}

class Peer {
  private waiting: { match: (t: string) => boolean; resolve: (t: string | undefined) => void } | undefined;
  private constructor(readonly socket: Socket) {
    socket.on('message', (b) => {
      const t = b.toString('latin1');
      if (this.waiting?.match(t) === true) {
        const w = this.waiting;
        this.waiting = undefined;
        w.resolve(t);
      }
    });
  }
  static async open(): Promise<Peer> {
    const s = createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
    return new Peer(s);
  }
  get port(): number {
    return this.socket.address().port;
  }
  send(text: string, port: number): void {
    this.socket.send(text, port, '127.0.0.1');
  }
  next(match: (t: string) => boolean, ms: number): Promise<string | undefined> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiting = undefined;
        resolve(undefined);
      }, ms);
      this.waiting = {
        match,
        resolve: (t) => {
          clearTimeout(timer);
          resolve(t);
        },
      };
    });
  }
  close(): void {
    this.socket.close();
  }
}

const head = (method: string, uri: string, from: Peer, callId: string, user: string) => [
  `${method} ${uri} SIP/2.0`,
  `Via: SIP/2.0/UDP 127.0.0.1:${from.port};branch=z9hG4bK-${randomBytes(6).toString('hex')};rport`,
  'Max-Forwards: 70',
  `From: <sip:${method === 'REGISTER' ? user : 'caller'}@example.test>;tag=${randomBytes(4).toString('hex')}`,
  `To: <sip:${user}@example.test>`,
  `Call-ID: ${callId}`,
  `CSeq: 1 ${method}`,
];

function reply486(invite: string): string {
  const keep = invite
    .split('\r\n')
    .filter((l) => /^(via|from|to|call-id|cseq|record-route):/i.test(l))
    .map((l) => (/^to:/i.test(l) ? `${l};tag=busy` : l));
  return ['SIP/2.0 486 Busy Here', ...keep, 'Content-Length: 0', '', ''].join('\r\n');
}

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;

async function run(workers: number, port: number, dir: string) {
  const server = await startSipha(dir, port, { workers });
  const phone = await Peer.open();
  const caller = await Peer.open();
  const times: number[] = [];
  let reached = 0;
  try {
    for (let i = 0; i < USERS; i++) {
      const user = `vis${workers}-${i}`;
      const regId = callIdAt(i % workers, workers);
      const reg = [
        ...head('REGISTER', 'sip:example.test', phone, regId, user),
        `Contact: <sip:${user}@127.0.0.1:${phone.port}>`,
        'Expires: 600',
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n');
      const t0 = performance.now();
      const ok = phone.next((t) => t.startsWith('SIP/2.0 200') && t.includes(regId), 2000);
      phone.send(reg, port);
      if ((await ok) === undefined) continue;
      times.push(performance.now() - t0);
      // At once: an INVITE homed at another worker than the one that registered the user.
      const callId = callIdAt((i + 1) % workers, workers);
      const arrived = phone.next((t) => t.startsWith('INVITE ') && t.includes(callId), 1000);
      caller.send(
        [
          ...head('INVITE', `sip:${user}@example.test`, caller, callId, user),
          'Content-Length: 0',
          '',
          '',
        ].join('\r\n'),
        port,
      );
      const invite = await arrived;
      if (invite !== undefined) {
        reached++;
        phone.send(reply486(invite), port);
      }
    }
  } finally {
    phone.close();
    caller.close();
    await server.stop();
  }
  const sorted = times.sort((a, b) => a - b);
  return { workers, registered: times.length, reached, p50: pct(sorted, 0.5), p99: pct(sorted, 0.99) };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sipha-visibility-'));
  try {
    const rows = [];
    for (const [k, w] of [1, WORKERS].entries()) rows.push(await run(w, 15460 + k, dir));
    console.log(
      '| workers | registered | INVITE at once through another worker reached the callee | REGISTER → 200 p50 / p99 |',
    );
    console.log('|---:|---:|---:|---:|');
    for (const r of rows)
      console.log(
        `| ${r.workers} | ${r.registered}/${USERS} | ${r.reached}/${r.registered} | ${r.p50.toFixed(2)} / ${r.p99.toFixed(2)} ms |`,
      );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
