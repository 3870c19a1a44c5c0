// Seed messages for the fuzzer: the shapes of the parser corpus (test/sip/parser-corpus.test.ts), the SIPp scenarios
// (test/sipp/*.xml) and bench/messages.ts, rewritten so that nothing they make the server send leaves loopback: Via
// sent-by is 127.0.0.1:9 with rport (responses go to the source, RFC 3581), Request-URIs name our domain or a host
// name (no DNS lookups in sipha), and numbers go to the static route, a closed loopback port.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { TYPICAL_INVITE, TYPICAL_REGISTER } from '../messages.js';

/** Replaced per message (so each is a new transaction): the branch suffix and the Call-ID. */
export const BRANCH = '{branch}';
export const CALL_ID = '{callid}';

const VIA = `Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK${BRANCH};rport`;
const FROM = 'From: "Alice" <sip:alice@example.test>;tag=fz1';
const TO = 'To: <sip:bob@example.test>';
const CID = `Call-ID: ${CALL_ID}@fuzz`;

const SDP = [
  'v=0',
  'o=alice 2890844526 2890844526 IN IP4 127.0.0.1',
  's=-',
  'c=IN IP4 127.0.0.1',
  't=0 0',
  'm=audio 49170 RTP/AVP 0',
  'a=rtpmap:0 PCMU/8000',
  '',
].join('\r\n');

/** A message from its start line and headers, with a correct Content-Length (§20.14). */
function message(lines: string[], body = ''): string {
  return `${[...lines, `Content-Length: ${Buffer.byteLength(body, 'latin1')}`].join('\r\n')}\r\n\r\n${body}`;
}

function request(method: string, uri: string, extra: string[] = [], body = ''): string {
  const cseq = method === 'ACK' || method === 'CANCEL' ? 'INVITE' : method;
  const m = method === 'ACK' || method === 'CANCEL' ? method : cseq;
  return message(
    [`${method} ${uri} SIP/2.0`, VIA, 'Max-Forwards: 70', FROM, TO, CID, `CSeq: 1 ${m}`, ...extra],
    body,
  );
}

function response(status: string, method: string): string {
  return message([`SIP/2.0 ${status}`, VIA, FROM, `${TO};tag=fz2`, CID, `CSeq: 1 ${method}`]);
}

/** bench/messages.ts with our Via, per-message identifiers and a loopback Contact (the SDP body is left alone). */
function fromBench(text: string): string {
  const end = text.indexOf('\r\n\r\n');
  const head = text
    .slice(0, end)
    .replace(/^Via: [^\r]*/m, VIA)
    .replace(/^Call-ID: [^\r]*/m, CID)
    .replace(/198\.51\.100\.100:5060/g, '127.0.0.1:9')
    .replace(/198\.51\.100\.100/g, '127.0.0.1');
  return head + text.slice(end);
}

/** The built-in corpus (latin1 text with {branch}/{callid} placeholders). */
export function builtinCorpus(): string[] {
  return [
    fromBench(TYPICAL_INVITE),
    fromBench(TYPICAL_REGISTER).replace('expires=3600', 'expires=30'),
    request('OPTIONS', 'sip:example.test'),
    request('OPTIONS', 'sip:bob@example.test', ['Accept: application/sdp', 'Supported: path, gruu']),
    request('INVITE', 'sip:+15551234567@example.test', ['Contact: <sip:alice@127.0.0.1:9>'], SDP),
    request(
      'INVITE',
      'sip:carol@remote.invalid',
      ['Contact: <sip:alice@127.0.0.1:9>', 'Content-Type: application/sdp'],
      SDP,
    ),
    request('INVITE', 'tel:+1-201-555-0123;phone-context=example.test', ['Contact: <sip:alice@127.0.0.1:9>']),
    request('REGISTER', 'sip:example.test', [
      'Contact: <sip:bob@127.0.0.1:9;transport=tcp>;q=0.7;expires=30',
      'Contact: <sip:bob@127.0.0.1:9>;q=0.3',
      'Expires: 30',
      'Path: <sip:edge.invalid;lr>',
    ]),
    request('REGISTER', 'sip:example.test', ['Contact: *', 'Expires: 0']),
    request('BYE', 'sip:bob@example.test', ['Route: <sip:edge.invalid;lr>']),
    request('CANCEL', 'sip:bob@example.test'),
    request('ACK', 'sip:bob@example.test'),
    request('MESSAGE', 'sip:bob@example.test', ['Content-Type: text/plain'], 'hello'),
    request('SUBSCRIBE', 'sip:bob@example.test', ['Event: presence', 'Expires: 60']),
    request('OPTIONS', 'sip:%61lice%20smith@example.test?subject=project%20x&priority=urgent'),
    request('OPTIONS', 'sip:bob@[::1]:9;transport=tcp'),
    request('OPTIONS', 'sip:bob@example.test', [
      'Subject: I know you are there,',
      '   pick up the phone',
      '\tand talk to me!',
    ]),
    request('OPTIONS', 'sip:bob@example.test', [
      'Subject: caf\xe9 \xff',
      'Proxy-Require: foo',
      'Require: bar',
    ]),
    message([
      'OPTIONS sip:bob@example.test SIP/2.0',
      `v: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK${BRANCH};rport`,
      'f: <sip:alice@example.test>;tag=9',
      't: sip:bob@example.test',
      `i: ${CALL_ID}@fuzz`,
      'CSEQ: 7 OPTIONS',
      'm: <sip:alice@127.0.0.1:9>',
      'k: path, gruu',
    ]),
    response('200 OK', 'INVITE'),
    response('183 Session Progress (early media)', 'INVITE'),
    response('486 Busy Here', 'INVITE'),
    response('200 OK', 'BYE'),
  ];
}

/**
 * The corpus: the built-in messages plus every file (one message each, read as latin1) under the extra
 * directories, recursively — e.g. an RFC 4475 / RFC 5118 torture-test corpus. Unreadable entries are skipped.
 */
export function loadCorpus(extraDirs: readonly string[] = []): string[] {
  const out = builtinCorpus();
  for (const dir of extraDirs) out.push(...readDir(dir));
  return out;
}

function readDir(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    const st = statSync(path);
    if (st.isDirectory()) out.push(...readDir(path));
    else if (st.isFile() && st.size > 0 && st.size <= 65_535) out.push(readFileSync(path).toString('latin1'));
  }
  return out;
}

/** One corpus entry made concrete for message number `n`: unique branch and Call-ID, Via naming the transport. */
export function instantiate(template: string, n: number, transport: 'udp' | 'tcp' = 'udp'): string {
  const id = n.toString(36);
  const text = template.replaceAll(BRANCH, `f${id}`).replaceAll(CALL_ID, `fz${id}`);
  return transport === 'tcp' ? text.replaceAll('SIP/2.0/UDP 127.0.0.1:9', 'SIP/2.0/TCP 127.0.0.1:9') : text;
}
