// The chaos run's SIP client (bench/chaos/client-process.ts) against a real standalone sipha on loopback: its
// users register, its calls go through sipha to itself and end with a BYE through the record-route, and a BYE
// lost to a crashed and restarted server is retransmitted until it gets through. Also its line parser.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseClientLine } from '../../../src/lab/chaos/samples.js';
import { freePort } from '../../helpers/ports.js';
import { type SiphaProcess, startSipha } from '../../helpers/sipha-process.js';

/** In the crash case: the call's hold, and how long the server stays down (the first BYE is sent meanwhile). */
const HOLD_MS = 400;
const DOWN_MS = 800;
const CLIENT = join(process.cwd(), 'dist', 'bench', 'chaos', 'client-process.js');

/** A standalone registrar and proxy for example.test with no users file (no authentication), as in the lab. */
const config = (port: number) =>
  [
    'sip:',
    `  listen: [udp://127.0.0.1:${port}]`,
    '  domain: example.test',
    '  warm_up: false',
    'log: { level: info }',
  ].join('\n');

/** The client process, its lines as they come, and a wait for a line. */
class Client {
  readonly lines: string[] = [];
  private buf = '';
  private readonly exited: Promise<void>;

  constructor(port: number, users: number, intervalMs: number, holdMs: number) {
    this.child = spawn(
      process.execPath,
      [CLIENT, '127.0.0.1', String(port), '127.0.0.1', String(users), String(intervalMs), String(holdMs)],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    this.child.stdout?.on('data', (d: Buffer) => {
      this.buf += d.toString();
      const parts = this.buf.split('\n');
      this.buf = parts.pop() ?? '';
      this.lines.push(...parts);
    });
    this.exited = new Promise((res) => this.child.once('exit', () => res()));
  }

  readonly child: ChildProcess;

  async waitFor(pattern: RegExp, timeoutMs: number): Promise<string> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const hit = this.lines.find((l) => pattern.test(l));
      if (hit !== undefined) return hit;
      if (performance.now() > deadline || this.child.exitCode !== null)
        throw new Error(`no line ${pattern} in:\n${this.lines.join('\n')}`);
      await sleep(10);
    }
  }

  /** SIGTERM, then the lines once it exited. */
  async stop(): Promise<string[]> {
    if (this.child.exitCode === null) this.child.kill('SIGTERM');
    await this.exited;
    return this.lines;
  }

  kill(): void {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}

const words = (lines: string[], first: string) =>
  lines.filter((l) => l.startsWith(`${first} `)).map((l) => l.split(' '));

describe('the chaos client against a standalone sipha', { timeout: 20_000 }, () => {
  const servers: SiphaProcess[] = [];
  const clients: Client[] = [];
  after(async () => {
    for (const c of clients) c.kill();
    for (const s of servers) await s.stop('SIGKILL');
  });

  it('registers every user, and every call it confirms ends with a 200 to its BYE', async () => {
    const port = await freePort();
    servers.push(await startSipha(config(port)));
    const client = new Client(port, 5, 300, 200);
    clients.push(client);
    await client.waitFor(/^READY$/, 5000);
    await sleep(2000);
    const lines = await client.stop();
    const text = lines.join('\n');

    const g = words(lines, 'G');
    for (let n = 1; n <= 5; n++) {
      const mine = g.filter((w) => w[1] === `sip:c${n}@example.test`);
      assert.ok(mine.length >= 1, `no G for c${n}:\n${text}`);
      assert.match(mine[0]?.[2] ?? '', new RegExp(`^sip:c${n}@127\\.0\\.0\\.1:\\d+$`));
      assert.equal(mine[0]?.[4], '120', text);
    }
    const confirmed = words(lines, 'C').map((w) => w[1]);
    assert.ok(confirmed.length >= 1, text);
    const ended = new Map(words(lines, 'E').map((w) => [w[1], w[3]]));
    for (const id of confirmed) assert.equal(ended.get(id), '200', `call ${id}:\n${text}`);
    assert.deepEqual(words(lines, 'x'), [], text);
    assert.deepEqual(words(lines, 'e'), [], text);
    assert.deepEqual(words(lines, 'g'), [], text);
    assert.equal(lines.at(-1), `S ${g.length} ${confirmed.length} ${confirmed.length} 0`);
  });

  it('retransmits a BYE lost to a crashed server until the restarted one forwards it', async () => {
    const port = await freePort();
    let server = await startSipha(config(port));
    servers.push(server);
    // One user; the first call at 700 ms, its BYE HOLD_MS after it is confirmed.
    const client = new Client(port, 1, 700, HOLD_MS);
    clients.push(client);
    const c = await client.waitFor(/^C /, 5000);
    const callId = c.split(' ')[1] ?? '';
    // A crash: the server's state (its bindings; it has no dialog state a BYE needs) is gone. The BYE is sent
    // while nothing listens, and retransmitted on timer E (500 ms, 1 s, 2 s, 4 s after it).
    await server.stop('SIGKILL');
    await sleep(DOWN_MS);
    server = await startSipha(config(port));
    servers.push(server);
    const restartedAt = Number(process.hrtime.bigint()) / 1e6;
    const e = await client.waitFor(new RegExp(`^[Ee] ${callId} `), 10_000);
    const lines = await client.stop();
    const text = lines.join('\n');
    // What sipha does: the BYE's Route is sipha itself (its Record-Route); with the route removed it forwards the
    // BYE by its Request-URI, the callee's contact, whether or not it still knows the dialog or the binding. So
    // the restarted server needs nothing it lost, and the retransmitted BYE gets the callee's 200 (no 481, no
    // failed try: it got through well within the transaction's 32 s).
    assert.match(e, new RegExp(`^E ${callId} [\\d.]+ 200$`), text);
    assert.ok(
      Number(e.split(' ')[2]) > restartedAt - 50,
      `the BYE was answered before the restart:\n${text}`,
    );
    // Calls placed after the restart fail: the crash lost the registration (standalone sipha keeps its bindings
    // in memory only), and the next refresh is a minute away: 404 (or a timeout for one sent while it was down).
    for (const w of words(lines, 'x')) assert.ok(w[3] === '404' || w[3] === 'timeout', text);
    assert.match(lines.at(-1) ?? '', /^S 1 \d+ \d+ 0$/, text);
  });
});

describe('parseClientLine', () => {
  it('turns G into a registration promised until t + expires', () => {
    assert.deepEqual(parseClientLine('G sip:c1@example.test sip:c1@10.0.0.3:40000 1000.5 120'), {
      t: 1000.5,
      kind: 'registered',
      aor: 'sip:c1@example.test',
      contact: 'sip:c1@10.0.0.3:40000',
      expiresAt: 121_000.5,
    });
  });

  it('turns C, E and e into call steps', () => {
    assert.deepEqual(parseClientLine('C k1@x 10'), {
      t: 10,
      kind: 'call',
      callId: 'k1@x',
      phase: 'confirmed',
    });
    assert.deepEqual(parseClientLine('E k1@x 20.25 200'), {
      t: 20.25,
      kind: 'call',
      callId: 'k1@x',
      phase: 'ended',
      status: 200,
    });
    assert.deepEqual(parseClientLine('E k1@x 20 481'), {
      t: 20,
      kind: 'call',
      callId: 'k1@x',
      phase: 'ended',
      status: 481,
    });
    assert.deepEqual(parseClientLine('e k1@x 30 timeout'), {
      t: 30,
      kind: 'call',
      callId: 'k1@x',
      phase: 'end-failed',
      status: 'timeout',
    });
    assert.deepEqual(parseClientLine('e k1@x 31 503'), {
      t: 31,
      kind: 'call',
      callId: 'k1@x',
      phase: 'end-failed',
      status: 503,
    });
  });

  it('gives nothing for lines that promise nothing, or malformed ones', () => {
    for (const line of [
      'READY',
      'S 5 3 3 0',
      'g sip:c1@example.test 503 10',
      'x k1@x 10 404',
      'G sip:c1@example.test sip:c1@10.0.0.3:4 10',
      'G sip:c1@example.test sip:c1@10.0.0.3:4 ten 120',
      'C k1@x',
      'E k1@x 10 timeout',
      'E k1@x 10',
      '',
    ])
      assert.equal(parseClientLine(line), undefined, line);
  });
});
