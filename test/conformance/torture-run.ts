// Sends every torture message of the manifest (RFC 4475 §3.1, RFC 5118 §4) to a fresh standalone sipha over one
// transport and prints, as JSON, the status codes that came back for each. `torture.test.ts` runs it inside a network
// namespace with only loopback, so that requests the proxy forwards to the RFCs' example hosts go nowhere.
// Without arguments it does nothing (the test runner loads every file under test/).
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { StreamFramer } from '../../src/sip/transport/stream-framer.js';
import { parseVia } from '../../src/sip/via.js';
import { freePort } from '../helpers/ports.js';
import { startSipha } from '../helpers/sipha-process.js';

export type Transport = 'udp' | 'tcp';
export type Expectation = 'accept' | 'reject' | 'reject-or-accept' | 'silent' | 'reject-or-silent';

export interface TortureMessage {
  file: string;
  rfc: string;
  section: string;
  title: string;
  kind: string;
  expect: Expectation;
  statuses?: number[];
  tcp?: Expectation;
  note?: string;
}

export const CONFORMANCE_DIR = join(process.cwd(), 'test', 'conformance');

export function loadManifest(): TortureMessage[] {
  return JSON.parse(readFileSync(join(CONFORMANCE_DIR, 'manifest.json'), 'utf8')).messages;
}

/** How long to wait for a final response (a request the proxy routed may only get 100 Trying in that time). */
const WINDOW_MS = 1000;

/** The status of what came back (read from the status line: the rest may be as odd as the request); -1 if none. */
function statusOf(bytes: Buffer): number {
  const m = /^SIP\/2\.0 ([1-6][0-9]{2}) /.exec(bytes.toString('latin1', 0, 16));
  return m === null ? -1 : Number(m[1]);
}

/**
 * Call-ID and CSeq number as written, to tell a message's answers from the retransmitted final responses to an
 * earlier INVITE that was never acknowledged (several messages share the response port and some their Call-ID).
 */
function dialogKey(bytes: Buffer): string | undefined {
  const head = bytes.toString('latin1');
  const callId = /^(?:call-id|i)[ \t]*:\s*(\S+)/im.exec(head);
  const cseq = /^cseq[ \t]*:\s*([0-9]+)/im.exec(head);
  return callId === null || cseq === null ? undefined : `${callId[1]} ${Number(cseq[1])}`;
}

/**
 * Without rport a response goes to the source address and the port of the top Via's sent-by, 5060 by default
 * (RFC 3261 §18.2.2): the client listens there.
 */
function responsePort(bytes: Buffer): number {
  const top = /^(?:via|v)[ \t]*:([^\r\n]*)/im.exec(bytes.toString('latin1'));
  const via = top === null ? undefined : parseVia(top[1]!.split(',')[0]!);
  return via?.port ?? 5060;
}

async function settle(statuses: number[]): Promise<void> {
  const deadline = Date.now() + WINDOW_MS;
  while (Date.now() < deadline && !statuses.some((s) => s >= 200)) {
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * UDP sockets and TCP servers on the response ports (a Via may name TCP for a request that came over UDP), open for
 * the whole run: a port that closed between messages would answer the server's retransmissions with ICMP port
 * unreachable, and the server would then treat it as unreachable.
 */
const listeners = new Map<number, { udp: UdpSocket; tcp: Server }>();
let collect: (m: Buffer) => void = () => undefined;

function readFrames(socket: Socket): void {
  const framer = new StreamFramer(65_535);
  socket.on('data', (chunk) => {
    for (const e of framer.push(chunk)) if (e.kind === 'message') collect(e.bytes);
  });
  socket.on('error', () => undefined);
}

async function listener(port: number): Promise<UdpSocket> {
  let l = listeners.get(port);
  if (l === undefined) {
    const udp = createSocket('udp4');
    udp.on('message', (m) => collect(m));
    await new Promise<void>((r) => udp.bind(port, '127.0.0.1', () => r()));
    const tcp = createServer(readFrames);
    await new Promise<void>((r) => tcp.listen(port, '127.0.0.1', () => r()));
    l = { udp, tcp };
    listeners.set(port, l);
  }
  return l.udp;
}

/** Sends the message over `transport` and collects what comes back, over the connection and by UDP to the Via. */
async function exchange(transport: Transport, bytes: Buffer, port: number): Promise<number[]> {
  const statuses: number[] = [];
  const key = dialogKey(bytes);
  collect = (m: Buffer) => {
    const k = dialogKey(m);
    if (k === undefined || key === undefined || k === key) statuses.push(statusOf(m));
  };
  const udp = await listener(responsePort(bytes));
  if (transport === 'udp') {
    udp.send(bytes, port, '127.0.0.1');
    await settle(statuses);
    return statuses;
  }
  // Like a phone, the TCP client uses one port for UDP and TCP: with rport, a response to a request whose Via says
  // UDP goes by UDP to the connection's source port.
  const sibling = createSocket('udp4');
  sibling.on('message', (m) => collect(m));
  await new Promise<void>((r) => sibling.bind(0, '127.0.0.1', () => r()));
  const tcp = connect({
    host: '127.0.0.1',
    port,
    localAddress: '127.0.0.1',
    localPort: sibling.address().port,
  });
  readFrames(tcp);
  await new Promise<void>((r) => tcp.once('connect', () => r()));
  tcp.write(bytes);
  await settle(statuses);
  tcp.destroy();
  sibling.close();
  return statuses;
}

async function main(transport: Transport): Promise<void> {
  const port = await freePort();
  const server = await startSipha(
    [
      'sip:',
      `  listen: [udp://127.0.0.1:${port}, tcp://127.0.0.1:${port}]`,
      '  domain: example.test',
      'log: { level: info }',
    ].join('\n'),
  );
  const out: Record<string, number[]> = {};
  try {
    for (const m of loadManifest()) {
      const bytes = readFileSync(join(CONFORMANCE_DIR, m.file));
      out[m.file] = await exchange(transport, bytes, port);
    }
  } finally {
    await server.stop();
    for (const l of listeners.values()) {
      l.udp.close();
      l.tcp.close();
    }
  }
  process.stdout.write(JSON.stringify(out));
}

if (process.argv[1]?.endsWith('torture-run.js') && process.argv[2] === 'run') {
  const transport = process.argv[3];
  if (transport !== 'udp' && transport !== 'tcp') throw new Error('usage: torture-run.js run udp|tcp');
  await main(transport);
}
