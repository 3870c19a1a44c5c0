// The registrar (RFC 3261 §10.3): validates a REGISTER and turns it into binding changes and a response.
// Pure apart from the location service it updates; the clock is a parameter.

import { createResponse } from '../sip/build.js';
import { parseUnsigned } from '../sip/grammar.js';
import type { SipRequest, SipResponse } from '../sip/message.js';
import { parseNameAddr } from '../sip/name-addr.js';
import { isReliable, type Source } from '../sip/transport/types.js';
import { SipUri } from '../sip/uri.js';
import { aorKey } from './aor.js';
import type { Binding, LocationService } from './location-service.js';
import type { Myself } from './myself.js';

export interface RegistrarPolicy {
  minExpires: number;
  maxExpires: number;
  defaultExpires: number;
  /** RFC 5626 §4.4.1 Flow-Timer (seconds) for outbound clients; 0 or absent: none. */
  flowTimerS?: number;
}

export interface RegisterOutcome {
  response: SipResponse;
  /** The AOR the request was about, when it could be read. */
  aor?: string;
  /** Whether the handling changed a binding (added, refreshed or removed one): its 200 confirms that change. */
  changed?: boolean;
}

/** Handles a REGISTER addressed to our domain. `now` is monotonic ms. */
export function handleRegister(
  request: SipRequest,
  source: Source,
  location: LocationService,
  myself: Myself,
  policy: RegistrarPolicy,
  now: number,
): RegisterOutcome {
  const reply = (status: number, reason?: string) => ({ response: createResponse(request, status, reason) });

  // Step 2: "the registrar MUST process the Require header field values as described for UASs" — we support path
  // (RFC 3327) and outbound (RFC 5626).
  const unsupported = request.headers
    .values('require')
    .filter((o) => !SUPPORTED_EXTENSIONS.has(o.toLowerCase()));
  if (unsupported.length > 0) {
    const r = reply(420, 'Bad Extension');
    r.response.headers.append('Unsupported', unsupported.join(', '));
    return r;
  }

  // Step 5: the address-of-record comes from the To header, canonicalised.
  const aor = aorKey(request.to?.uri, myself);
  if (aor === undefined) return reply(404, 'Not Found (Bad To URI)');
  if (!myself.isMyUri(request.to?.uri)) return { ...reply(403, 'Not Our Domain'), aor };

  const callId = request.callId!;
  const cseq = request.cseq!.seq;
  const contacts = request.headers.values('contact');
  const expiresHeader = request.headers.get('expires');
  let headerExpires: number | undefined;
  if (expiresHeader !== undefined) {
    headerExpires = parseUnsigned(expiresHeader.trim(), 10);
    if (headerExpires < 0) return { ...reply(400, 'Bad Expires Header'), aor };
  }

  // Step 6: "*" removes every binding, and only with Expires: 0 and no other Contact.
  if (contacts.some((c) => c === '*')) {
    if (contacts.length !== 1 || headerExpires !== 0)
      return { ...reply(400, 'Invalid Wildcard Contact'), aor };
    for (const b of location.lookup(aor, Number.NEGATIVE_INFINITY)) {
      // "If the Call-ID ... is the same and the CSeq ... is not higher, the update MUST be aborted".
      if (b.callId === callId && cseq <= b.cseq) return { ...reply(500, 'Out Of Order CSeq'), aor };
    }
    let changed = false;
    for (const b of location.lookup(aor, Number.NEGATIVE_INFINITY))
      if (location.remove(aor, b.contact)) changed = true;
    return { response: okWithBindings(request, location, aor, now), aor, changed };
  }

  // Parse every contact first so a bad one rejects the whole request (the update is atomic).
  const updates: Array<{
    contact: string;
    expires: number;
    q: number;
    flow?: { instance: string; regId: number };
  }> = [];
  const path = request.headers.values('path');
  const outbound = outboundApplies(request, source, path);
  for (const text of contacts) {
    const na = parseNameAddr(text);
    if (na === undefined || !(na.uri instanceof SipUri)) return { ...reply(400, 'Bad Contact Header'), aor };
    let expires = headerExpires ?? policy.defaultExpires;
    const param = na.params.get('expires');
    if (param !== undefined) {
      const n = param === null ? -1 : parseUnsigned(param, 10);
      if (n < 0) return { ...reply(400, 'Bad Contact Expires'), aor };
      expires = n;
    }
    // "If ... the expiration interval is shorter than the minimum ... the registrar MAY reject with 423".
    if (expires > 0 && expires < policy.minExpires) {
      const r = reply(423, 'Interval Too Brief');
      r.response.headers.append('Min-Expires', String(policy.minExpires));
      return { ...r, aor };
    }
    expires = Math.min(expires, policy.maxExpires);
    const qParam = na.params.get('q');
    let q = 1000;
    if (qParam !== undefined && qParam !== null) {
      if (!/^(0(\.[0-9]{0,3})?|1(\.0{0,3})?)$/.test(qParam))
        return { ...reply(400, 'Bad Contact q-value'), aor };
      q = Math.round(Number(qParam) * 1000);
    }
    const flow = outbound ? flowOf(na.params) : undefined;
    updates.push({ contact: na.uri.toString(), expires, q, ...(flow === undefined ? {} : { flow }) });
  }

  // Step 7: Call-ID / CSeq ordering per binding, checked for all before changing any.
  // The same Call-ID and CSeq again is the same request again: after a takeover its first copy may have been
  // applied by the old primary (and replicated) while the 200 was lost. Answer it as the first copy was answered
  // instead of failing it; only an older CSeq is out of order.
  let repeat = true;
  for (const u of updates) {
    const existing = location.find(aor, u.contact);
    if (existing !== undefined && existing.callId === callId && cseq < existing.cseq) {
      return { ...reply(500, 'Out Of Order CSeq'), aor };
    }
    if (existing === undefined ? u.expires !== 0 : existing.callId !== callId || existing.cseq !== cseq)
      repeat = false;
  }
  const usesOutbound = updates.some((u) => u.flow !== undefined);
  if (repeat && updates.length > 0 && !usesOutbound)
    return { response: okWithBindings(request, location, aor, now), aor };
  let changed = false;
  for (const u of updates) {
    // RFC 5626 §6: "the registrar MUST ... replace the old binding" of the same instance-id and reg-id, whatever
    // its Contact: the UA came back over a new flow (after a takeover, the new primary's connection).
    const old = u.flow === undefined ? undefined : location.findFlow(aor, u.flow.instance, u.flow.regId);
    if (old !== undefined && old.contact !== u.contact && location.remove(aor, old.contact)) changed = true;
    if (u.expires === 0) {
      if (location.remove(aor, u.contact)) changed = true;
      continue;
    }
    const binding: Binding = {
      aor,
      contact: u.contact,
      q: u.q,
      expiresAt: now + u.expires * 1000,
      callId,
      cseq,
      path,
      received: { transport: source.transport, address: source.address, port: source.port },
      updatedAt: now,
      ...(u.flow === undefined ? {} : { instance: u.flow.instance, regId: u.flow.regId }),
    };
    location.put(binding);
    changed = true;
  }
  const response = okWithBindings(request, location, aor, now);
  // RFC 3327 §5.3: the registrar echoes the Path it stored when the UA supports path.
  if (path.length > 0) for (const p of path) response.headers.append('Path', p);
  if (usesOutbound) {
    // §6: "the registrar MUST include the 'outbound' option-tag in a Require header field in its response";
    // §4.4.1: the Flow-Timer tells the UA how often to send its keep-alive (CRLF over a connection).
    response.headers.append('Require', 'outbound');
    if ((policy.flowTimerS ?? 0) > 0) response.headers.append('Flow-Timer', String(policy.flowTimerS));
  }
  return { response, aor, changed };
}

const SUPPORTED_EXTENSIONS = new Set(['path', 'outbound']);

/**
 * Whether this REGISTER sets up outbound flows (RFC 5626 §6): the UA supports outbound, it reached us over a
 * connection (our keep-alive is CRLF over connections; we answer no STUN, so over UDP we leave outbound off and the
 * UA keeps its ordinary registration), and we are its first hop — or the Path to it begins with an edge proxy that
 * does outbound ("If the first Path URI lacks the 'ob' parameter, the registrar MUST ignore the reg-id").
 */
function outboundApplies(request: SipRequest, source: Source, path: readonly string[]): boolean {
  if (!isReliable(source.transport)) return false;
  const supported = request.headers.values('supported').some((o) => o.toLowerCase() === 'outbound');
  if (!supported) return false;
  const first = path[0];
  if (first === undefined) return true;
  const uri = parseNameAddr(first)?.uri;
  return uri instanceof SipUri && uri.params.has('ob');
}

/** The instance-id and reg-id of a Contact, when it has both (§4.1, §4.2). */
function flowOf(params: ReadonlyMap<string, string | null>): { instance: string; regId: number } | undefined {
  const instance = params.get('+sip.instance');
  const regId = params.get('reg-id');
  if (instance === undefined || instance === null || regId === undefined || regId === null) return undefined;
  const n = parseUnsigned(regId, 10);
  if (n < 1) return undefined;
  return { instance: instance.replace(/^"|"$/g, ''), regId: n };
}

/** "The registrar returns a 200 (OK) ... The response SHOULD contain Contact header field values enumerating all
 * current bindings", each with its remaining expiry. */
function okWithBindings(
  request: SipRequest,
  location: LocationService,
  aor: string,
  now: number,
): SipResponse {
  const response = createResponse(request, 200);
  for (const b of location.lookup(aor, now)) {
    const remaining = Math.max(0, Math.ceil((b.expiresAt - now) / 1000));
    const q = b.q === 1000 ? '' : `;q=${(b.q / 1000).toFixed(3).replace(/0+$/, '').replace(/\.$/, '')}`;
    response.headers.append('Contact', `<${b.contact}>;expires=${remaining}${q}`);
  }
  response.headers.append('Date', new Date().toUTCString());
  return response;
}
