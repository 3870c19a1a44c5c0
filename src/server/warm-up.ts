// JIT warm-up of the SIP hot path before the server opens its sockets. A fresh process runs the parser, transaction
// layer, proxy core and serializer in V8's interpreter until they get hot enough to be compiled; at a full call
// rate that first second or two costs about twice the CPU of the steady state, and the UDP socket drops what the
// worker cannot read in time. Synthetic calls and registrations through a throwaway copy of the real stack get the
// same code optimized first: real parser on bytes, real transaction layer on virtual time, real proxy core with
// its own location service and dialog store (so no replication, journal or API event hears of them), real
// serializer, and UAs on documentation addresses (RFC 5737) that parse what the proxy sends and answer it.

import { DEFAULT_LIMITS, type ParseLimits } from '../sip/limits.js';
import type { SipRequest } from '../sip/message.js';
import { parseMessage } from '../sip/parser.js';
import { TransactionLayer } from '../sip/transaction/transaction-layer.js';
import type { Source } from '../sip/transport/types.js';
import { stampRequest } from '../sip/transport/via-stamp.js';
import { FakeClock } from '../time/clock.js';
import { DialogStore } from './dialogs.js';
import { LocationService } from './location-service.js';
import { Myself } from './myself.js';
import { ProxyCore } from './proxy/proxy-core.js';
import { WarmUpWire } from './warm-up-wire.js';

export interface WarmUpOptions {
  /** At most this many calls. */
  maxCalls?: number;
  /** And at most this long, ms of real time. */
  budgetMs?: number;
  /** The server's parser limits, so that the parser runs as it will. */
  limits?: Readonly<ParseLimits>;
  /** Called after every batch of calls, with the time since the start (to measure the warm-up itself). */
  onBatch?: (calls: number, elapsedMs: number) => void;
}

export interface WarmUpResult {
  calls: number;
  /** Calls that got their 200 for the INVITE and for the BYE. */
  completed: number;
  registrations: number;
  options: number;
  /** Proxy contexts still open when every transaction had ended: each would hold a real Timer C. 0 if all went well. */
  unfinished: number;
  ms: number;
}

/**
 * Measured on a busy 2-core VM: the first 2,000 calls took 1.3-1.9 s, the next 2,000 0.6-0.8 s, and the cost per
 * call stopped falling after about 3,000. The budget caps what a slow or loaded host spends at start.
 */
export const WARM_UP_CALLS = 3000;
export const WARM_UP_BUDGET_MS = 1500;

/** Calls between yields to the event loop: a worker keeps answering its supervisor's pings meanwhile. */
const BATCH = 100;
/** Virtual time per call: transactions end (Timers J, K, L, M) while the warm-up runs, as they would live. */
const STEP_MS = 50;
const DOMAIN = 'example.test';
const PROXY = { address: '198.51.100.10', port: 5060 };
const CALLERS = 32;
const CALLEES = 8;

const callerAt = (i: number) => ({ address: `198.51.100.${20 + (i % CALLERS)}`, port: 5060 + (i % 7) });
const calleeAt = (i: number) => ({ address: `203.0.113.${20 + (i % CALLEES)}`, port: 5060 });
const isCallee = (address: string) => address.startsWith('203.0.113.');

function sourceOf(peer: { address: string; port: number }): Source {
  return { transport: 'udp', ...peer, localAddress: PROXY.address, localPort: PROXY.port };
}

const SDP = [
  'v=0',
  'o=- 1 1 IN IP4 198.51.100.20',
  's=-',
  'c=IN IP4 198.51.100.20',
  't=0 0',
  'm=audio 6000 RTP/AVP 0 8 101',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:101 telephone-event/8000',
  '',
].join('\r\n');

function message(lines: string[], body = ''): Buffer {
  return Buffer.from(
    `${lines.join('\r\n')}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    'latin1',
  );
}

/** Drives synthetic traffic through a throwaway proxy stack; never throws for a call that goes wrong. */
export async function warmUp(o: WarmUpOptions = {}): Promise<WarmUpResult> {
  const maxCalls = o.maxCalls ?? WARM_UP_CALLS;
  const budgetMs = o.budgetMs ?? WARM_UP_BUDGET_MS;
  const limits = o.limits ?? DEFAULT_LIMITS;
  const started = performance.now();
  const clock = new FakeClock();
  const wire = new WarmUpWire();
  const layer = new TransactionLayer({ sender: wire, clock });
  const proxy = new ProxyCore(wire, layer, {
    myself: new Myself(DOMAIN, [PROXY]),
    location: new LocationService(),
    dialogs: new DialogStore(),
    registrar: { minExpires: 60, maxExpires: 3600, defaultExpires: 3600 },
    relay: { inbound: 'allow', trusted: [] },
    nat: 'auto',
    routes: [],
    advertise: { udp: { host: PROXY.address, port: PROXY.port } },
    now: () => clock.now(),
  });
  layer.core = proxy;
  const result: WarmUpResult = { calls: 0, completed: 0, registrations: 0, options: 0, unfinished: 0, ms: 0 };
  /** What reached the caller side, parsed; the callee side answers as it goes. */
  let toCaller: SipRequest[] = [];
  let callerResponses: { status: number; method: string; rr: string[]; contact: string; toTag: string }[] =
    [];

  // The transport's receive path: parse, stamp the top Via (§18.2.1), hand to the transaction layer.
  const receive = (bytes: Buffer, from: Source) => {
    const parsed = parseMessage(bytes, limits);
    if (!parsed.ok) return;
    const m = parsed.message;
    if (m.kind === 'request') {
      stampRequest(m, from.address, from.port);
      layer.receiveRequest(m, from);
    } else layer.receiveResponse(m, from);
  };

  // A UAS: 100, 180 and 200 with SDP for an INVITE, 200 for anything else but an ACK.
  const answer = (req: SipRequest, from: Source) => {
    if (req.method === 'ACK') return;
    const h = req.headers;
    const head = (status: string, tag: boolean) => [
      `SIP/2.0 ${status}`,
      ...h.getFields('via').map((v) => `Via: ${v}`),
      ...h.getFields('record-route').map((v) => `Record-Route: ${v}`),
      `From: ${h.get('from')}`,
      `To: ${h.get('to')}${tag && req.method === 'INVITE' ? ';tag=uas' : ''}`,
      `Call-ID: ${h.get('call-id')}`,
      `CSeq: ${h.get('cseq')}`,
    ];
    const contact = `Contact: <sip:${from.address}:${from.port}>`;
    if (req.method === 'INVITE') {
      receive(message(head('100 Trying', false)), from);
      receive(message([...head('180 Ringing', true), contact]), from);
      receive(message([...head('200 OK', true), contact, 'Content-Type: application/sdp'], SDP), from);
    } else receive(message(head('200 OK', false)), from);
  };

  // Delivers what the proxy sent until nothing moves: callees answer, the caller side collects.
  const pump = () => {
    for (let packets = wire.take(); packets.length > 0; packets = wire.take())
      for (const p of packets) {
        const parsed = parseMessage(p.bytes, limits);
        if (!parsed.ok) continue;
        const m = parsed.message;
        if (isCallee(p.to.address)) {
          if (m.kind === 'request') answer(m, sourceOf(p.to));
        } else if (m.kind === 'request') toCaller.push(m);
        else {
          const h = m.headers;
          const to = h.get('to') ?? '';
          callerResponses.push({
            status: m.status,
            method: m.cseq?.method ?? '',
            rr: h.values('record-route'),
            contact: h.first('contact') ?? '',
            toTag: to.slice(to.indexOf(';tag=') + 5),
          });
        }
      }
  };

  const register = (i: number) => {
    const callee = calleeAt(i);
    const user = `bob${i % CALLEES}`;
    receive(
      message([
        `REGISTER sip:${DOMAIN} SIP/2.0`,
        `Via: SIP/2.0/UDP ${callee.address}:${callee.port};branch=z9hG4bKwr${i};rport`,
        'Max-Forwards: 70',
        `From: <sip:${user}@${DOMAIN}>;tag=r${i}`,
        `To: <sip:${user}@${DOMAIN}>`,
        `Call-ID: reg-${user}@${callee.address}`,
        `CSeq: ${i + 1} REGISTER`,
        `Contact: <sip:${user}@${callee.address}:${callee.port}>;expires=3600`,
        'User-Agent: sipha-warm-up',
      ]),
      sourceOf(callee),
    );
    pump();
    result.registrations++;
  };

  const options = (i: number) => {
    const caller = callerAt(i);
    receive(
      message([
        `OPTIONS sip:${PROXY.address}:${PROXY.port} SIP/2.0`,
        `Via: SIP/2.0/UDP ${caller.address}:${caller.port};branch=z9hG4bKwo${i};rport`,
        'Max-Forwards: 70',
        `From: <sip:alice@${DOMAIN}>;tag=o${i}`,
        `To: <sip:${PROXY.address}:${PROXY.port}>`,
        `Call-ID: opt-${i}@${caller.address}`,
        'CSeq: 1 OPTIONS',
        'Accept: application/sdp',
      ]),
      sourceOf(caller),
    );
    pump();
    result.options++;
  };

  const call = (i: number) => {
    const caller = callerAt(i);
    const src = sourceOf(caller);
    const callee = `bob${i % CALLEES}`;
    const from = `"Alice" <sip:alice${i % CALLERS}@${DOMAIN}>;tag=c${i}`;
    const to = `<sip:${callee}@${DOMAIN}>`;
    const callId = `warm-${i}@${caller.address}`;
    const via = (b: string) =>
      `Via: SIP/2.0/UDP ${caller.address}:${caller.port};branch=z9hG4bK${b}${i};rport`;
    toCaller = [];
    callerResponses = [];
    receive(
      message(
        [
          `INVITE sip:${callee}@${DOMAIN} SIP/2.0`,
          via('wi'),
          'Max-Forwards: 70',
          `From: ${from}`,
          `To: ${to}`,
          `Call-ID: ${callId}`,
          'CSeq: 1 INVITE',
          `Contact: <sip:alice@${caller.address}:${caller.port}>`,
          'Allow: INVITE, ACK, CANCEL, OPTIONS, BYE',
          'Content-Type: application/sdp',
        ],
        SDP,
      ),
      src,
    );
    pump();
    const ok = callerResponses.find((r) => r.method === 'INVITE' && r.status === 200);
    result.calls++;
    if (ok === undefined) return;
    // The caller's dialog: route set from the Record-Route reversed, remote target from the Contact (§12.1.2).
    const target = ok.contact.slice(ok.contact.indexOf('<') + 1, ok.contact.indexOf('>'));
    const routes = [...ok.rr].reverse().map((r) => `Route: ${r}`);
    const inDialog = (method: string, cseq: number, b: string) =>
      message([
        `${method} ${target} SIP/2.0`,
        via(b),
        'Max-Forwards: 70',
        ...routes,
        `From: ${from}`,
        `To: ${to};tag=${ok.toTag}`,
        `Call-ID: ${callId}`,
        `CSeq: ${cseq} ${method}`,
      ]);
    receive(inDialog('ACK', 1, 'wa'), src);
    pump();
    receive(inDialog('BYE', 2, 'wb'), src);
    pump();
    if (callerResponses.some((r) => r.method === 'BYE' && r.status === 200)) result.completed++;
  };

  try {
    for (let i = 0; i < CALLEES; i++) register(i);
    for (let i = 0; i < maxCalls; i++) {
      call(i);
      if (i % 4 === 0) register(i);
      if (i % 4 === 2) options(i);
      clock.advance(STEP_MS);
      if ((i + 1) % BATCH === 0) {
        const elapsed = performance.now() - started;
        o.onBatch?.(i + 1, elapsed);
        if (elapsed >= budgetMs) break;
        await new Promise<void>((r) => setImmediate(r));
      }
    }
  } finally {
    // Let every transaction end on virtual time, then drop whatever is left (a call that went wrong).
    while (clock.runNext()) pump();
    result.unfinished = proxy.activeContexts;
    layer.close();
  }
  result.ms = performance.now() - started;
  return result;
}
