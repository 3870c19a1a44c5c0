// The SIP messages the load client writes, as plain text: a REGISTER, the caller's INVITE/ACK/BYE and the callee's
// answers. Kept apart from the pacing logic so the flows read like the RFC 3261 examples they follow.
import type { SipRequest } from '../../src/sip/message.js';
import type { Connection } from './connection.js';

export const DOMAIN = 'bench.test';

/** The Via a request leaves this connection with (rport: the servers answer where it came from, RFC 3581). */
function via(conn: Connection, branch: string): string {
  const proto = conn.transport === 'udp' ? 'UDP' : conn.transport === 'tls' ? 'TLS' : 'WSS';
  return `Via: SIP/2.0/${proto} ${conn.viaHost};branch=z9hG4bK${branch};rport`;
}

export function contactUri(conn: Connection, user: string): string {
  return `sip:${user}@${conn.contactHost}`;
}

function withBody(lines: string[], body = ''): string {
  if (body !== '') lines.push('Content-Type: application/sdp');
  lines.push(`Content-Length: ${Buffer.byteLength(body)}`, '', body);
  return lines.join('\r\n');
}

export function register(
  conn: Connection,
  user: string,
  callId: string,
  branch: string,
  expires = 300,
): string {
  return withBody([
    `REGISTER sip:${DOMAIN} SIP/2.0`,
    via(conn, branch),
    'Max-Forwards: 70',
    `From: <sip:${user}@${DOMAIN}>;tag=${branch}`,
    `To: <sip:${user}@${DOMAIN}>`,
    `Call-ID: ${callId}`,
    'CSeq: 1 REGISTER',
    `Contact: <${contactUri(conn, user)}>`,
    `Expires: ${expires}`,
  ]);
}

/** A minimal offer: one audio stream, PCMU; nobody sends media in this benchmark. */
function sdp(id: string): string {
  return `v=0\r\no=- ${id} 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n`;
}

export interface Dialog {
  callId: string;
  fromTag: string;
  caller: string;
  callee: string;
  /** The callee's tag, its Contact (remote target) and the route set, once the 200 arrived. */
  toTag?: string;
  target?: string;
  routes?: string[];
}

export function invite(conn: Connection, d: Dialog, branch: string): string {
  return withBody(
    [
      `INVITE sip:${d.callee}@${DOMAIN} SIP/2.0`,
      via(conn, branch),
      'Max-Forwards: 70',
      `From: <sip:${d.caller}@${DOMAIN}>;tag=${d.fromTag}`,
      `To: <sip:${d.callee}@${DOMAIN}>`,
      `Call-ID: ${d.callId}`,
      'CSeq: 1 INVITE',
      `Contact: <${contactUri(conn, d.caller)}>`,
    ],
    sdp(d.fromTag),
  );
}

/** A request within the dialog (ACK for the 2xx, BYE): to the remote target, through the route set (§12.2.1.1). */
export function inDialog(
  conn: Connection,
  d: Dialog,
  method: 'ACK' | 'BYE',
  seq: number,
  branch: string,
): string {
  return withBody([
    `${method} ${d.target} SIP/2.0`,
    via(conn, branch),
    ...(d.routes ?? []).map((r) => `Route: ${r}`),
    'Max-Forwards: 70',
    `From: <sip:${d.caller}@${DOMAIN}>;tag=${d.fromTag}`,
    `To: <sip:${d.callee}@${DOMAIN}>;tag=${d.toTag}`,
    `Call-ID: ${d.callId}`,
    `CSeq: ${seq} ${method}`,
  ]);
}

/** The ACK of a non-2xx final response: same branch as the INVITE, hop by hop (§17.1.1.3). */
export function ackNon2xx(conn: Connection, d: Dialog, branch: string, to: string): string {
  return withBody([
    `ACK sip:${d.callee}@${DOMAIN} SIP/2.0`,
    via(conn, branch),
    'Max-Forwards: 70',
    `From: <sip:${d.caller}@${DOMAIN}>;tag=${d.fromTag}`,
    `To: ${to}`,
    `Call-ID: ${d.callId}`,
    'CSeq: 1 ACK',
  ]);
}

/**
 * The callee's answer to a request: every Via, From, To (with our tag), Call-ID, CSeq as received (§8.2.6.2), and for
 * the INVITE the Record-Route echoed and our Contact, so the caller's ACK and BYE find their way back.
 */
export function answer(
  conn: Connection,
  req: SipRequest,
  status: number,
  reason: string,
  toTag: string,
): string {
  const h = req.headers;
  const to = h.get('to') ?? '';
  const lines = [`SIP/2.0 ${status} ${reason}`];
  for (const v of h.getFields('via')) lines.push(`Via: ${v}`);
  lines.push(
    `From: ${h.get('from') ?? ''}`,
    `To: ${/;\s*tag=/i.test(to) ? to : `${to};tag=${toTag}`}`,
    `Call-ID: ${h.get('call-id') ?? ''}`,
    `CSeq: ${h.get('cseq') ?? ''}`,
  );
  if (req.method === 'INVITE') {
    for (const rr of h.getFields('record-route')) lines.push(`Record-Route: ${rr}`);
    const user = /^sips?:([^@;>]+)@/.exec(req.uri)?.[1] ?? 'callee';
    lines.push(`Contact: <${contactUri(conn, user)}>`);
  }
  return withBody(lines, req.method === 'INVITE' && status === 200 ? sdp(toTag) : '');
}
