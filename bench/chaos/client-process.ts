// The chaos run's SIP client, run inside host C (client.ts starts it): USERS users register through the VIP and
// calls are placed between them, so that the checker can tell whether the pair kept its promises (bindings kept,
// calls ended). One UDP socket is both the UAC and the UAS: every user's contact is this socket, so an INVITE to a
// user comes back here through the proxy, and this process answers it.
// Usage: node client-process.js TARGET_IP TARGET_PORT LOCAL_IP USERS CALL_INTERVAL_MS CALL_HOLD_MS
//   TARGET_IP TARGET_PORT  where every out-of-dialog request goes (the VIP, 5060)
//   LOCAL_IP               the address to bind (port 0: the kernel's choice), and the contacts' host
//   USERS                  how many users register: sip:c1@example.test .. sip:cUSERS@example.test
//   CALL_INTERVAL_MS       a call every this many ms, once a user is registered (0: no calls)
//   CALL_HOLD_MS           how long a confirmed call lasts before its BYE
// Prints one line per event (times are CLOCK_MONOTONIC ms, process.hrtime, like the parent's clock):
//   READY                                    once bound
//   G <aor> <contact> <monoMs> <expiresS>    a REGISTER answered 2xx, with the expiry granted for our contact
//   g <aor> <status|timeout> <monoMs>        a REGISTER failed (retried after 1 s)
//   C <callId> <monoMs>                      a call confirmed (the UAC got the 2xx and sent the ACK)
//   x <callId> <monoMs> <status|timeout>     an INVITE failed (not a call)
//   E <callId> <monoMs> <status>             a BYE got a final answer (200 expected; 481 is final too)
//   e <callId> <monoMs> <status|timeout>     a BYE try failed with 408, 503 or a timeout (retried after 1 s)
//   S <registered> <confirmed> <endedOk> <unended>   at exit: G lines, C lines, E lines with a 2xx, and confirmed
//                                                    calls with no E line at all
// Stops on SIGTERM, SIGINT or stdin EOF: no new calls or registrations; BYEs still owed get up to 5 s.
import { createSocket, type RemoteInfo } from 'node:dgram';
import type { SipRequest, SipResponse } from '../../src/sip/message.js';
import { parseMessage } from '../../src/sip/parser.js';

const [
  target = '',
  targetPortArg = '5060',
  local = '0.0.0.0',
  usersArg = '10',
  intervalArg = '0',
  holdArg = '1000',
] = process.argv.slice(2);
const targetPort = Number(targetPortArg);
const users = Number(usersArg);
const callInterval = Number(intervalArg);
const hold = Number(holdArg);
const DOMAIN = 'example.test';
/** RFC 3261 §17.1.1.1 defaults. */
const T1 = 500;
const T2 = 4000;
/** Timer B/F (64*T1): how long a client transaction waits for a final response. */
const TX_TIMEOUT = 64 * T1;
const RETRY_MS = 1000;
const STOP_GRACE_MS = 5000;

const mono = () => Number(process.hrtime.bigint()) / 1e6;
const ms = (t: number) => t.toFixed(3);
const tag = `${process.pid.toString(36)}${Date.now().toString(36)}`;
let seq = 0;
const unique = () => `${tag}x${++seq}`;
let out = '';
const print = (line: string) => {
  out += `${line}\n`;
};

const sock = createSocket('udp4');
let localPort = 0;
const send = (text: string, port: number, host: string) => sock.send(text, port, host, () => {});

interface Dest {
  host: string;
  port: number;
}

// --- client transactions (RFC 3261 §17.1) ---------------------------------------------------------------------
// Keyed by the branch of our Via. An INVITE is retransmitted on timer A (T1 doubling) until any response; any other
// request on timer E (T1 doubling up to T2) until a final one. Both give up after 64*T1 (timers B and F). Timer B
// strictly applies only before a provisional; here it runs from the start so that an INVITE whose proxy died after
// its 100 Trying is not waited on forever (our UAS answers at once, so 32 s is never a slow callee).
interface ClientTx {
  branch: string;
  method: string;
  text: string;
  dest: Dest;
  onFinal: (res: SipResponse | 'timeout') => void;
  retransmit?: NodeJS.Timeout;
  timeout: NodeJS.Timeout;
}

const txs = new Map<string, ClientTx>();

function request(
  method: string,
  uri: string,
  headers: string[],
  dest: Dest,
  onFinal: ClientTx['onFinal'],
  body = '',
): void {
  const branch = `z9hG4bK${unique()}`;
  const text = build(
    `${method} ${uri} SIP/2.0`,
    [`Via: SIP/2.0/UDP ${local}:${localPort};branch=${branch}`, 'Max-Forwards: 70', ...headers],
    body,
  );
  const tx: ClientTx = {
    branch,
    method,
    text,
    dest,
    onFinal,
    timeout: setTimeout(() => finish(tx, 'timeout'), TX_TIMEOUT),
  };
  txs.set(branch, tx);
  const again = (interval: number) => {
    tx.retransmit = setTimeout(() => {
      send(text, dest.port, dest.host);
      again(method === 'INVITE' ? interval * 2 : Math.min(interval * 2, T2));
    }, interval);
  };
  send(text, dest.port, dest.host);
  again(T1);
}

function finish(tx: ClientTx, res: SipResponse | 'timeout'): void {
  clearTimeout(tx.retransmit);
  clearTimeout(tx.timeout);
  txs.delete(tx.branch);
  tx.onFinal(res);
}

function onResponse(res: SipResponse): void {
  const branch = res.via?.branch;
  const tx = branch === undefined ? undefined : txs.get(branch);
  if (tx === undefined || res.cseq?.method !== tx.method) {
    // §13.2.2.4: a retransmitted 2xx to an INVITE (the UAS did not get our ACK) is the UAC core's, not the
    // transaction's (gone at the first 2xx): the ACK is sent again.
    if (res.cseq?.method === 'INVITE' && res.status >= 200 && res.status < 300) {
      const call = calls.get(res.callId ?? '');
      if (call?.ack !== undefined) send(call.ack.text, call.ack.dest.port, call.ack.dest.host);
    }
    return;
  }
  if (res.status < 200) {
    // §17.1.1.2: a provisional stops timer A; §17.1.2.2: a non-INVITE keeps retransmitting (at T2, simplified
    // here to keep timer E's pace).
    if (tx.method === 'INVITE') clearTimeout(tx.retransmit);
    return;
  }
  // §17.1.1.3: the ACK of a non-2xx final is the transaction's own: same branch, same destination.
  if (tx.method === 'INVITE' && res.status >= 300) send(ackForNon2xx(tx, res), tx.dest.port, tx.dest.host);
  finish(tx, res);
}

/** §17.1.1.3: Request-URI, Via (one, ours), From, Call-ID and CSeq number of the INVITE; To of the response. */
function ackForNon2xx(tx: ClientTx, res: SipResponse): string {
  const head = tx.text.slice(0, tx.text.indexOf('\r\n\r\n')).split('\r\n');
  const uri = (head[0] ?? '').split(' ')[1] ?? '';
  const keep = head.filter((h) => /^(Via|From|Call-ID|Max-Forwards):/i.test(h));
  return build(`ACK ${uri} SIP/2.0`, [
    ...keep,
    `To: ${res.headers.get('to') ?? ''}`,
    `CSeq: ${res.cseq?.seq ?? 1} ACK`,
  ]);
}

function build(start: string, headers: string[], body = ''): string {
  const type = body === '' ? [] : ['Content-Type: application/sdp'];
  return `${[start, ...headers, ...type, `Content-Length: ${Buffer.byteLength(body)}`].join('\r\n')}\r\n\r\n${body}`;
}

const statusOf = (res: SipResponse | 'timeout') => (res === 'timeout' ? 'timeout' : `${res.status}`);

// --- registrations (RFC 3261 §10.2) ---------------------------------------------------------------------------
interface User {
  aor: string;
  contact: string;
  /** §10.2.4: refreshes keep the Call-ID and raise the CSeq. */
  callId: string;
  cseq: number;
  timer?: NodeJS.Timeout;
  registered: boolean;
}

const accounts: User[] = [];
let granted = 0;
let stopping = false;

function register(u: User): void {
  if (stopping) return;
  request(
    'REGISTER',
    `sip:${DOMAIN}`,
    [
      `From: <${u.aor}>;tag=${unique()}`,
      `To: <${u.aor}>`,
      `Call-ID: ${u.callId}`,
      `CSeq: ${++u.cseq} REGISTER`,
      `Contact: <${u.contact}>`,
      'Expires: 120',
    ],
    { host: target, port: targetPort },
    (res) => {
      if (res !== 'timeout' && res.status >= 200 && res.status < 300) {
        const expires = grantedExpires(res, u.contact);
        granted++;
        u.registered = true;
        print(`G ${u.aor} ${u.contact} ${ms(mono())} ${expires}`);
        // At about half the expiry, spread over 40-60 % so that users registered together refresh apart.
        schedule(u, expires * 1000 * (0.4 + 0.2 * Math.random()));
      } else {
        print(`g ${u.aor} ${statusOf(res)} ${ms(mono())}`);
        schedule(u, RETRY_MS);
      }
    },
  );
}

function schedule(u: User, after: number): void {
  clearTimeout(u.timer);
  u.timer = setTimeout(() => register(u), after);
}

/** §10.2.4: the expiry granted is our contact's expires parameter in the 2xx, else its Expires, else what we asked. */
function grantedExpires(res: SipResponse, contact: string): number {
  for (const na of res.nameAddrs('contact')) {
    const e = na?.params.get('expires');
    if (na?.uri.toString() === contact && e != null && Number.isFinite(Number(e))) return Number(e);
  }
  const e = Number(res.headers.get('expires'));
  return Number.isFinite(e) && res.headers.has('expires') ? e : 120;
}

// --- calls, the UAC side (RFC 3261 §13, §12.2.1, §15.1.1) ---------------------------------------------------------
interface Call {
  callId: string;
  fromTag: string;
  to: string;
  /** Set from the 2xx: the remote target, route set and To with its tag (§12.1.2). */
  remoteTarget?: string;
  routes?: string[];
  remoteTo?: string;
  ack?: { text: string; dest: Dest };
  cseq: number;
  confirmed: boolean;
  ended: boolean;
  byeInFlight: boolean;
  holdTimer?: NodeJS.Timeout;
}

const calls = new Map<string, Call>();
let confirmed = 0;
let endedOk = 0;
let inviting = 0;

function placeCall(): void {
  const ready = accounts.filter((u) => u.registered);
  const callee = ready[Math.floor(Math.random() * ready.length)];
  if (stopping || callee === undefined) return;
  const call: Call = {
    callId: `k${unique()}@${local}`,
    fromTag: unique(),
    to: callee.aor,
    cseq: 1,
    confirmed: false,
    ended: false,
    byeInFlight: false,
  };
  calls.set(call.callId, call);
  inviting++;
  const sdp = `v=0\r\no=- 1 1 IN IP4 ${local}\r\ns=-\r\nc=IN IP4 ${local}\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\n`;
  request(
    'INVITE',
    callee.aor,
    [
      `From: <sip:caller@${DOMAIN}>;tag=${call.fromTag}`,
      `To: <${callee.aor}>`,
      `Call-ID: ${call.callId}`,
      'CSeq: 1 INVITE',
      `Contact: <sip:caller@${local}:${localPort}>`,
    ],
    { host: target, port: targetPort },
    (res) => {
      inviting--;
      if (res === 'timeout' || res.status >= 300) {
        calls.delete(call.callId);
        print(`x ${call.callId} ${ms(mono())} ${statusOf(res)}`);
        return;
      }
      confirm(call, res);
    },
    sdp,
  );
}

/** The 2xx: the dialog's state from it (§12.1.2), the ACK through the route set (§13.2.2.4), then the hold. */
function confirm(call: Call, res: SipResponse): void {
  // §12.1.2: the UAC's route set is the Record-Route of the 2xx in reverse order; its remote target the Contact.
  call.routes = res.headers.values('record-route').reverse();
  call.remoteTarget = res.nameAddrs('contact')[0]?.uri.toString() ?? call.to;
  call.remoteTo = res.headers.get('to') ?? `<${call.to}>`;
  const { uri, route, dest } = routeOf(call);
  const branch = `z9hG4bK${unique()}`;
  // §13.2.2.4: the ACK of a 2xx is a new transaction (own branch), with the INVITE's CSeq number.
  const text = build(`ACK ${uri} SIP/2.0`, [
    `Via: SIP/2.0/UDP ${local}:${localPort};branch=${branch}`,
    'Max-Forwards: 70',
    ...route,
    ...dialogHeaders(call),
    'CSeq: 1 ACK',
  ]);
  call.ack = { text, dest };
  send(text, dest.port, dest.host);
  call.confirmed = true;
  confirmed++;
  print(`C ${call.callId} ${ms(mono())}`);
  call.holdTimer = setTimeout(() => bye(call), stopping ? 0 : hold);
}

const dialogHeaders = (call: Call) => [
  `From: <sip:caller@${DOMAIN}>;tag=${call.fromTag}`,
  `To: ${call.remoteTo}`,
  `Call-ID: ${call.callId}`,
];

/**
 * §12.2.1.1: where an in-dialog request goes. With a loose router first (lr), the Request-URI is the remote target,
 * the route set goes in Route, and the request is sent to the first route (§8.1.2); a strict router first takes the
 * Request-URI itself, the rest of the route set and the remote target following in Route.
 */
function routeOf(call: Call): { uri: string; route: string[]; dest: Dest } {
  const routes = call.routes ?? [];
  const target = call.remoteTarget ?? call.to;
  const first = routes[0];
  if (first === undefined) return { uri: target, route: [], dest: destOf(target) };
  const firstUri = /<([^>]*)>/.exec(first)?.[1] ?? first;
  if (/;lr(=|;|$)/i.test(firstUri))
    return { uri: target, route: routes.map((r) => `Route: ${r}`), dest: destOf(firstUri) };
  return {
    uri: firstUri,
    route: [...routes.slice(1), `<${target}>`].map((r) => `Route: ${r}`),
    dest: destOf(firstUri),
  };
}

/** The address of a sip: URI (no DNS here: the lab's URIs hold IP addresses). */
function destOf(uri: string): Dest {
  const m = /^sips?:(?:[^@]*@)?([^;:>?]+)(?::(\d+))?/i.exec(uri);
  return { host: m?.[1] ?? target, port: m?.[2] === undefined ? 5060 : Number(m[2]) };
}

/**
 * §15.1.1: the BYE, through the route set. A timeout, 408 or 503 is a try lost to the outage: a new BYE transaction
 * (CSeq+1, §12.2.1.1) follows after 1 s. Any other final ends the call (481: the dialog is gone; not a success).
 */
function bye(call: Call): void {
  clearTimeout(call.holdTimer);
  if (call.ended || call.byeInFlight) return;
  call.byeInFlight = true;
  const { uri, route, dest } = routeOf(call);
  request('BYE', uri, [...route, ...dialogHeaders(call), `CSeq: ${++call.cseq} BYE`], dest, (res) => {
    call.byeInFlight = false;
    const status = statusOf(res);
    if (res === 'timeout' || res.status === 408 || res.status === 503) {
      print(`e ${call.callId} ${ms(mono())} ${status}`);
      call.holdTimer = setTimeout(() => bye(call), RETRY_MS);
      return;
    }
    call.ended = true;
    if (res.status < 300) endedOk++;
    print(`E ${call.callId} ${ms(mono())} ${status}`);
    maybeExit();
  });
}

// --- calls, the UAS side (RFC 3261 §13.3, §12.1.1, §15.1.2) -------------------------------------------------------
interface Answered {
  /** The 2xx, kept for retransmission until the ACK (§13.3.1.4). */
  ok: string;
  dest: Dest;
  acked: boolean;
  timer?: NodeJS.Timeout;
}

/**
 * Dialogs this UAS answered, by Call-ID, kept for the whole run: a BYE retried after its 200 was lost must get 200
 * again, not 481 (a run places a few thousand calls at most).
 */
const answered = new Map<string, Answered>();

function onRequest(req: SipRequest, from: RemoteInfo): void {
  const callId = req.callId;
  if (callId === undefined) return;
  if (req.method === 'ACK') {
    // §13.3.1.4: the ACK ends the 2xx's retransmissions.
    const a = answered.get(callId);
    if (a !== undefined) {
      a.acked = true;
      clearTimeout(a.timer);
    }
    return;
  }
  const dest = replyDest(req, from);
  if (req.method === 'INVITE') {
    const seen = answered.get(callId);
    if (seen !== undefined) {
      // A retransmitted INVITE (§17.2.1): the answer again.
      send(seen.ok, seen.dest.port, seen.dest.host);
      return;
    }
    const toTag = unique();
    // §12.1.1: a response that establishes a dialog copies the Record-Route; the UAS's Contact is its target.
    const rr = req.headers.getFields('record-route').map((v) => `Record-Route: ${v}`);
    const contact = `Contact: <${req.uri}>`;
    send(response(req, 180, 'Ringing', toTag, [...rr, contact]), dest.port, dest.host);
    const a: Answered = { ok: response(req, 200, 'OK', toTag, [...rr, contact]), dest, acked: false };
    answered.set(callId, a);
    send(a.ok, dest.port, dest.host);
    // §13.3.1.4: the 2xx is retransmitted at T1 doubling up to T2 until the ACK, for 64*T1.
    const started = mono();
    const again = (interval: number) => {
      a.timer = setTimeout(() => {
        if (a.acked || mono() - started >= TX_TIMEOUT) return;
        send(a.ok, a.dest.port, a.dest.host);
        again(Math.min(interval * 2, T2));
      }, interval);
    };
    again(T1);
    return;
  }
  if (req.method === 'BYE') {
    // §15.1.2: a BYE for a dialog we do not know is answered 481.
    const a = answered.get(callId);
    if (a !== undefined) {
      // A BYE also shows the caller has the 2xx (its ACK may have been lost to the outage).
      a.acked = true;
      clearTimeout(a.timer);
    }
    send(
      a === undefined ? response(req, 481, 'Call/Transaction Does Not Exist') : response(req, 200, 'OK'),
      dest.port,
      dest.host,
    );
    return;
  }
  if (req.method === 'OPTIONS') send(response(req, 200, 'OK'), dest.port, dest.host);
}

/** §8.2.6.2: Via, From, To (with our tag when given), Call-ID and CSeq copied from the request. */
function response(
  req: SipRequest,
  status: number,
  reason: string,
  toTag?: string,
  extra: string[] = [],
): string {
  const to = req.headers.get('to') ?? '';
  const vias = req.headers.getFields('via').map((v) => `Via: ${v}`);
  return build(`SIP/2.0 ${status} ${reason}`, [
    ...vias,
    `From: ${req.headers.get('from') ?? ''}`,
    `To: ${toTag === undefined || /;\s*tag=/i.test(to) ? to : `${to};tag=${toTag}`}`,
    `Call-ID: ${req.callId ?? ''}`,
    `CSeq: ${req.headers.get('cseq') ?? ''}`,
    ...extra,
  ]);
}

/** §18.2.2: a response goes to the top Via's received (or sent-by) address and rport (or sent-by port). */
function replyDest(req: SipRequest, from: RemoteInfo): Dest {
  const via = req.via;
  if (via === undefined) return { host: from.address, port: from.port };
  const received = via.params.get('received');
  const rport = via.rport;
  return {
    host: received ?? via.host,
    port: typeof rport === 'number' ? rport : (via.port ?? 5060),
  };
}

// --- the process ----------------------------------------------------------------------------------------------
sock.on('message', (bytes, from) => {
  try {
    const r = parseMessage(bytes);
    if (!r.ok) return;
    if (r.message.kind === 'response') onResponse(r.message);
    else onRequest(r.message, from);
  } catch {
    // Stray or malformed input is ignored: the client must outlive anything the faults do to the wire.
  }
});
sock.on('error', () => {});

function flush(): void {
  if (out !== '') {
    process.stdout.write(out);
    out = '';
  }
}

let caller: NodeJS.Timeout | undefined;
let flusher: NodeJS.Timeout;
let exitTimer: NodeJS.Timeout | undefined;

function stop(): void {
  if (stopping) return;
  stopping = true;
  clearInterval(caller);
  for (const u of accounts) clearTimeout(u.timer);
  // Calls on hold end now; BYEs retried after a failure keep their 1 s pace.
  for (const c of calls.values()) if (c.confirmed && !c.ended) bye(c);
  exitTimer = setTimeout(exit, STOP_GRACE_MS);
  maybeExit();
}

/** Once stopping: exit as soon as no call is owed a BYE and no INVITE is waiting (it may still confirm). */
function maybeExit(): void {
  if (!stopping || inviting > 0) return;
  for (const c of calls.values()) if (c.confirmed && !c.ended) return;
  exit();
}

let exiting = false;
function exit(): void {
  if (exiting) return;
  exiting = true;
  clearTimeout(exitTimer);
  clearInterval(flusher);
  let unended = 0;
  for (const c of calls.values()) if (c.confirmed && !c.ended) unended++;
  flush();
  process.stdout.write(`S ${granted} ${confirmed} ${endedOk} ${unended}\n`, () => process.exit(0));
}

sock.bind(0, local, () => {
  localPort = sock.address().port;
  for (let n = 1; n <= users; n++) {
    const u: User = {
      aor: `sip:c${n}@${DOMAIN}`,
      contact: `sip:c${n}@${local}:${localPort}`,
      callId: `r${unique()}@${local}`,
      cseq: 0,
      registered: false,
    };
    accounts.push(u);
    // The first registrations spread over 2 s rather than arriving as one burst.
    schedule(u, ((n - 1) * 2000) / users);
  }
  if (callInterval > 0) caller = setInterval(placeCall, callInterval);
  flusher = setInterval(flush, 50);
  process.stdout.write('READY\n');
});
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdin.on('end', stop);
process.stdin.resume();
