// The response context of a stateful proxy (RFC 3261 §16.6, §16.7, §16.8) and the CANCELs it sends (§16.10):
// "A stateful proxy must have a mechanism to maintain the target set as responses are received and associate the
// responses to each forwarded request with the original request. For the purposes of this model, this mechanism
// is a "response context" created by the proxy layer before forwarding the first request."
import { familyOf } from '../../net/address.js';
import { errorCode } from '../../net/errors.js';
import { createResponse } from '../../sip/build.js';
import { Headers } from '../../sip/headers.js';
import { SipRequest, type SipResponse } from '../../sip/message.js';
import type {
  ClientTransaction,
  ClientTransactionUser,
  ServerInviteTransaction,
  ServerTransaction,
} from '../../sip/transaction/index.js';
import type { Endpoint } from '../../sip/transport/types.js';
import { failsOver, withAttempt } from '../resolver/failover.js';
import { bestResponseIndex, forwardableStatus } from './best-response.js';
import type { ProxyEnv } from './env.js';
import type { Side } from './identity.js';
import { type Outgoing, prepareBranch } from './outbound.js';
import type { Target } from './target-selector.js';

/** Timer C (§16.6 step 11): "The timer MUST be larger than 3 minutes." */
const TIMER_C_MS = 181_000;

/**
 * For the CANCELs this proxy sends itself. §16.7 step 3: "If no Via header field values remain in the response,
 * the response was meant for this element and MUST NOT be forwarded. [...] This will happen, for instance, when
 * the element generates CANCEL requests".
 */
export const OWN_CANCEL_TU: ClientTransactionUser = {
  onResponse: () => {},
  onTimeout: () => {},
  onTransportError: () => {},
};

interface Branch {
  target: Target;
  request: SipRequest;
  /** Where `request` goes: the target, or the target over TCP for a large request (§18.1.1). */
  to: Endpoint;
  /** The request over UDP, while the TCP attempt it replaced may still fail (§18.1.1). */
  udpFallback: Outgoing | undefined;
  tx: ClientTransaction | undefined;
  provisional: boolean;
  final: boolean;
  cancelPending: boolean;
  /** How many of the target's alternates were tried (RFC 3263 §4.3). */
  attempt: number;
}

export interface ResponseContext {
  server: ServerTransaction;
  request: SipRequest;
  /** The request after route processing (§16.4): each branch is a copy of it. */
  fwd: SipRequest;
  /** Targets in q-groups, tried one group after the other (§16.6). */
  groups: Target[][];
  branches: Branch[];
  finals: SipResponse[];
  /** Our own 503s for branches whose next hop was unreachable (§16.9): their target, and the error code if any. */
  unreachable: Map<SipResponse, { target: Target; detail: string }>;
  /** While a group's branches are being started: no answer before all of them are. */
  starting: boolean;
  answered: boolean;
  cancelled: boolean;
  done: boolean;
  timerC: NodeJS.Timeout | undefined;
  /** To tags of the 2xx held until their dialog's confirmation is replicated (acknowledged means replicated). */
  held?: Set<string>;
}

export class ResponseContexts {
  private readonly contexts = new Map<ServerTransaction, ResponseContext>();
  private readonly branchOf = new Map<ClientTransaction, { ctx: ResponseContext; branch: Branch }>();
  private readonly clientTu: ClientTransactionUser;

  constructor(private readonly env: ProxyEnv) {
    this.clientTu = {
      onResponse: (res, tx) => this.onBranchResponse(res, tx),
      // §16.7: a client transaction that times out counts as a 408 from that target.
      onTimeout: (tx) => this.onBranchFailure(tx, 408, 'Request Timeout'),
      onTransportError: (err, tx) => {
        const entry = this.branchOf.get(tx);
        if (entry !== undefined) this.branchUnreachable(entry.ctx, entry.branch, err);
      },
      onTerminated: (tx) => this.branchOf.delete(tx),
    };
  }

  get size(): number {
    return this.contexts.size;
  }

  /** The context of an INVITE server transaction, for a CANCEL (§16.10). */
  find(invite: ServerInviteTransaction): ResponseContext | undefined {
    return this.contexts.get(invite);
  }

  /** Creates the context and starts the first q-group. */
  forward(request: SipRequest, fwd: SipRequest, server: ServerTransaction, groups: Target[][]): void {
    const ctx: ResponseContext = {
      server,
      request,
      fwd,
      groups,
      branches: [],
      finals: [],
      unreachable: new Map(),
      starting: false,
      answered: false,
      cancelled: false,
      done: false,
      timerC: undefined,
    };
    this.contexts.set(server, ctx);
    if (request.method === 'BYE') this.env.o.dialogs.onBye(request);
    if (request.method === 'INVITE') {
      // §16.6 step 11: "Timer C MUST be set for each client transaction when an INVITE request is proxied." One
      // timer for the whole context, not reset by provisional responses: it bounds the call attempt.
      ctx.timerC = setTimeout(() => this.onTimerC(ctx), TIMER_C_MS);
      ctx.timerC.unref();
    }
    this.env.onServed(request.method);
    this.startGroup(ctx);
  }

  /**
   * §16.10: "A proxy MUST cancel any pending client transactions associated with a response context when it
   * receives a matching CANCEL request."
   */
  cancel(ctx: ResponseContext): void {
    ctx.cancelled = true;
    for (const b of ctx.branches) this.cancelBranch(b);
  }

  /** §16.6: "It MAY start client transactions with every target in parallel." Within a q-group, we do. */
  private startGroup(ctx: ResponseContext): void {
    const group = ctx.groups.shift();
    if (group === undefined) return;
    ctx.branches = [];
    ctx.starting = true;
    for (const target of group) {
      const out = prepareBranch(ctx.fwd, target, ctx.request, this.env.identity, arrivedBy(ctx));
      if (out === undefined) continue;
      const branch: Branch = {
        target,
        request: out.request,
        to: out.to,
        udpFallback: out.udpFallback,
        tx: undefined,
        provisional: false,
        final: false,
        cancelPending: false,
        attempt: 0,
      };
      ctx.branches.push(branch);
      this.env.stats.forwarded++;
      this.startBranch(ctx, branch);
    }
    ctx.starting = false;
    if (ctx.branches.every((b) => b.final)) this.maybeFinish(ctx);
  }

  /** Step 10: "A stateful proxy MUST create a new client transaction for this request". */
  private startBranch(ctx: ResponseContext, branch: Branch): void {
    const started = this.env.transactions.createClientTransaction(branch.request, branch.to, this.clientTu);
    if (started.kind !== 'created') {
      // The same request forwarded twice to the same target: a failed branch.
      branch.final = true;
      ctx.finals.push(createResponse(ctx.request, 500, 'Duplicate Branch'));
      return;
    }
    const tx = started.transaction;
    // A sender that fails inside the send ended the transaction before we knew it.
    if (tx.terminated) {
      this.branchUnreachable(ctx, branch, new Error('send failed'));
      return;
    }
    branch.tx = tx;
    this.branchOf.set(tx, { ctx, branch });
  }

  private onBranchResponse(res: SipResponse, tx: ClientTransaction): void {
    // Step 1: "Find the appropriate response context".
    const entry = this.branchOf.get(tx);
    if (entry === undefined) return;
    const { ctx, branch } = entry;
    const status = res.status;
    if (status < 200) {
      branch.provisional = true;
      if (branch.cancelPending) this.sendCancel(branch);
      // Step 5: "Any provisional response other than 100 (Trying)" is forwarded at once.
      if (status === 100 || ctx.done) return;
      this.forwardUp(ctx, res);
      return;
    }
    if (status < 300) {
      // Step 5: "Any 2xx response" is forwarded at once, also "After a final response has been sent".
      branch.final = true;
      ctx.answered = true;
      this.forwardUp(ctx, res);
      // Step 10: "If the forwarded response was a final response, the proxy MUST generate a CANCEL request for
      // all pending client transactions associated with this response context."
      if (ctx.request.method === 'INVITE')
        for (const b of ctx.branches) if (b !== branch) this.cancelBranch(b);
      this.finishContext(ctx);
      return;
    }
    if (branch.final || (failsOver(status) && this.failOver(ctx, branch, status === 503))) return;
    // Step 4: "Final responses received are stored in the response context".
    branch.final = true;
    ctx.finals.push(res);
    // Step 5: "If a 6xx response is received, it is not immediately forwarded, but the stateful proxy SHOULD
    // cancel all client pending transactions as described in Section 10, and it MUST NOT create any new branches".
    if (status >= 600 && ctx.request.method === 'INVITE') this.cancel(ctx);
    this.maybeFinish(ctx);
  }

  private onBranchFailure(tx: ClientTransaction, status: number, reason: string): void {
    const entry = this.branchOf.get(tx);
    if (entry === undefined) return;
    const { ctx, branch } = entry;
    if (branch.final || this.failOver(ctx, branch)) return;
    branch.final = true;
    // RFC 4320: no 408 for non-INVITE; we still record it so the context can end.
    ctx.finals.push(createResponse(ctx.request, status, reason));
    this.maybeFinish(ctx);
  }

  /**
   * The transport could not reach the branch's next hop (§18.4, §17.1.4): a large request moved to TCP tries UDP
   * instead (§18.1.1); otherwise §16.9: "the proxy MUST behave as if the forwarded request received a 503 (Service
   * Unavailable) response." Its reason phrase says so, with the system's error code, for whoever reads the trace.
   */
  private branchUnreachable(ctx: ResponseContext, branch: Branch, err: Error): void {
    if (branch.final) return;
    const fallback = branch.udpFallback;
    if (fallback !== undefined && !branch.provisional && !ctx.done && !ctx.cancelled) {
      branch.udpFallback = undefined;
      branch.request = fallback.request;
      branch.to = fallback.to;
      branch.tx = undefined;
      this.startBranch(ctx, branch);
      return;
    }
    if (this.failOver(ctx, branch)) return;
    branch.final = true;
    const code = errorCode(err);
    const detail = code === undefined ? '' : ` (${code})`;
    const response = createResponse(ctx.request, 503, `Next Hop Unreachable${detail}`);
    ctx.unreachable.set(response, { target: branch.target, detail });
    ctx.finals.push(response);
    this.maybeFinish(ctx);
  }

  /**
   * RFC 3263 §4.3: the branch's next hop was given by name and failed — a 503 (after a 100 Trying too: a gateway
   * answers so), or a timeout or transport error before any provisional response: the same request, with a new
   * branch ID, goes to the name's next address, if any is left and the context still wants answers. The old
   * transaction is no longer the branch's.
   */
  private failOver(ctx: ResponseContext, branch: Branch, got503 = false): boolean {
    if ((branch.provisional && !got503) || ctx.done || ctx.cancelled) return false;
    const alternates = branch.target.alternates ?? [];
    let target: Target | undefined;
    let out: Outgoing | undefined;
    // An address we have no address of our own for is passed over.
    while (out === undefined && branch.attempt < alternates.length) {
      target = { ...branch.target, to: alternates[branch.attempt++]! };
      out = prepareBranch(ctx.fwd, target, ctx.request, this.env.identity, arrivedBy(ctx));
    }
    if (out === undefined || target === undefined) return false;
    if (branch.tx !== undefined) this.branchOf.delete(branch.tx);
    branch.target = target;
    branch.request = withAttempt(out.request, branch.attempt);
    branch.to = out.to;
    if (out.udpFallback !== undefined) withAttempt(out.udpFallback.request, branch.attempt);
    branch.udpFallback = out.udpFallback;
    branch.tx = undefined;
    branch.provisional = false;
    this.env.stats.forwarded++;
    this.startBranch(ctx, branch);
    return true;
  }

  /**
   * When every branch of the group has a final response: the next q-group, or step 6: "A stateful proxy MUST send
   * a final response to a response context's server transaction if no final responses have been immediately
   * forwarded by the above rules and all client transactions in this response context have been terminated."
   */
  private maybeFinish(ctx: ResponseContext): void {
    if (ctx.starting || ctx.answered || ctx.done || !ctx.branches.every((b) => b.final)) return;
    const has6xx = ctx.finals.some((r) => r.status >= 600);
    if (!has6xx && !ctx.cancelled && ctx.groups.length > 0) {
      this.startGroup(ctx);
      return;
    }
    const best = ctx.finals[bestResponseIndex(ctx.finals.map((r) => r.status))];
    if (best === undefined) return;
    if (ctx.request.method !== 'INVITE' && best.status === 408 && ctx.finals.every((r) => r.status === 408)) {
      // RFC 4320 §4.1: "A transaction-stateful SIP element MUST NOT send a response with Status-Code of 408 to a
      // non-INVITE request." The client has timed out too; end quietly.
      ctx.server.terminate();
      this.finishContext(ctx);
      return;
    }
    if (best.via?.branch === ctx.request.via?.branch) this.env.respond(ctx.server, this.ownAnswer(ctx, best));
    else if (forwardableStatus(best.status) !== best.status)
      this.env.respond(ctx.server, createResponse(ctx.request, forwardableStatus(best.status)));
    else this.forwardUp(ctx, best);
    this.finishContext(ctx);
  }

  /**
   * Our own best response (a timeout, an unreachable next hop) as the caller gets it. Step 6 has "If the selected
   * response is a 503 (Service Unavailable), the proxy MUST convert it to a 500 (Server Internal Error) response":
   * a 503 received says that its sender is overloaded, which is no news for the caller. Ours says that the next hop
   * could not be reached, and a 500 would hide that, so it stays a 503 — except for a registered contact of the
   * callee: §16.5's answer for a user with nowhere to go, "which SHOULD be the 480 (Temporarily Unavailable)
   * response", says it better, and a phone retries no other server for it as it may for a 503 (§21.5.4).
   */
  private ownAnswer(ctx: ResponseContext, best: SipResponse): SipResponse {
    const unreachable = ctx.unreachable.get(best);
    if (unreachable?.target.registered !== true) return best;
    return createResponse(ctx.request, 480, `Contact Unreachable${unreachable.detail}`);
  }

  /** Steps 3 and 9: our Via off, then "The proxy MUST pass the response to the server transaction". */
  private forwardUp(ctx: ResponseContext, res: SipResponse): void {
    const up = res.clone();
    // Step 3 removes our Via; we go further and restore the request's own Via list, so a next hop that mangled
    // the Vias below ours (some do, on CANCELled calls) cannot misroute the response.
    up.headers.remove('via');
    for (const v of ctx.request.headers.getFields('via')) up.headers.append('Via', v);
    if (ctx.request.method === 'INVITE') {
      const tag = up.to?.tag ?? '';
      const ok = up.status >= 200 && up.status < 300;
      // A retransmission of a 2xx that is being held: the held copy goes when the hold ends, this one not at all.
      if (ok && ctx.held?.has(tag) === true) return;
      // Acknowledged means replicated: the 2xx that confirms a dialog goes up once the backup has the dialog
      // (bounded). The server transaction stays in Proceeding meanwhile, answering INVITE retransmissions with the
      // last provisional response (§17.2.1).
      const wait = this.env.o.dialogs.onInviteResponse(ctx.request, up)
        ? this.env.commitGate?.afterChange()
        : undefined;
      if (wait !== undefined) {
        const held = ctx.held ?? new Set<string>();
        ctx.held = held;
        held.add(tag);
        this.env.whenCommitted(wait, () => {
          held.delete(tag);
          this.sendUp(ctx, up);
        });
        return;
      }
    }
    this.sendUp(ctx, up);
  }

  private sendUp(ctx: ResponseContext, up: SipResponse): void {
    // "If the server transaction is no longer available to handle the transmission, the element MUST forward
    // the response statelessly by sending it to the server transport." (A late 2xx, for instance.)
    if (ctx.server.terminated || !ctx.server.respond(up)) this.env.sender.sendResponse(up, ctx.server.source);
    this.env.countResponse(up.status);
  }

  private finishContext(ctx: ResponseContext): void {
    if (ctx.done) return;
    ctx.done = true;
    if (ctx.timerC !== undefined) clearTimeout(ctx.timerC);
    this.contexts.delete(ctx.server);
    shrink(ctx);
  }

  private onTimerC(ctx: ResponseContext): void {
    if (ctx.done) return;
    // §16.8: "If timer C should fire, the proxy MUST either reset the timer with any value it chooses, or
    // terminate the client transaction. If the client transaction has received a provisional response, the proxy
    // MUST generate a CANCEL request matching that transaction."
    this.cancel(ctx);
    this.env.respond(ctx.server, createResponse(ctx.request, 408, 'Request Timeout'));
    this.finishContext(ctx);
  }

  private cancelBranch(b: Branch): void {
    if (b.final || b.tx === undefined || b.request.method !== 'INVITE') return;
    // §9.1: "If no provisional response has been received, the CANCEL request MUST NOT be sent; rather, the client
    // MUST wait for the arrival of a provisional response before sending the request."
    if (!b.provisional) {
      b.cancelPending = true;
      return;
    }
    this.sendCancel(b);
  }

  private sendCancel(b: Branch): void {
    b.cancelPending = false;
    // A duplicate means this branch is being cancelled already.
    this.env.transactions.createClientTransaction(buildCancel(b.request), b.to, OWN_CANCEL_TU);
  }
}

/** What a finished context needs of the request: the Vias to restore (step 3) and the fields of a response (§8.2.6.2). */
const UPSTREAM_FIELDS = new Set(['via', 'from', 'to', 'call-id', 'cseq']);

/**
 * A finished context lives on while its client transactions do — 32 s of Timer M after a 2xx — only to forward
 * retransmitted 2xx up (step 5) and to CANCEL branches that have not answered yet (step 10). It keeps what those
 * need and lets the rest go: at a few thousand calls a second, every call's messages held for 32 s were most of the
 * heap. No branch starts once the context is done (startGroup and failOver check), so `fwd` is not needed either.
 */
function shrink(ctx: ResponseContext): void {
  const request = ctx.request;
  const fields = request.headers.fields.filter((f) => UPSTREAM_FIELDS.has(f.key)).map((f) => ({ ...f }));
  ctx.request = new SipRequest(request.method, request.uri, new Headers(fields));
  ctx.fwd = ctx.request;
  ctx.groups = [];
  ctx.finals = [];
  ctx.unreachable.clear();
  for (const b of ctx.branches) {
    b.udpFallback = undefined;
    // A branch with its final response sends nothing more (cancelBranch checks); a pending one keeps its request
    // for the CANCEL.
    if (b.final) b.request = ctx.request;
  }
}

/** The side the request came in by (RFC 5658, see identity.ts). */
function arrivedBy(ctx: ResponseContext): Side {
  const source = ctx.server.source;
  return { transport: source.transport, family: familyOf(source.address) };
}

/** §9.1: the CANCEL for a forwarded INVITE — same Request-URI, Call-ID, To, From, CSeq number, top Via and Route. */
function buildCancel(invite: SipRequest): SipRequest {
  const cancel = invite.clone();
  cancel.method = 'CANCEL';
  const keep = new Set(['via', 'route', 'from', 'to', 'call-id', 'max-forwards']);
  const top = invite.headers.first('via');
  cancel.headers.fields.splice(
    0,
    cancel.headers.fields.length,
    ...invite.headers.fields.filter((f) => keep.has(f.key) && f.key !== 'via').map((f) => ({ ...f })),
  );
  if (top !== undefined) cancel.headers.prepend('Via', top);
  cancel.headers.append('CSeq', `${invite.cseq?.seq ?? 1} CANCEL`);
  cancel.body = Buffer.alloc(0);
  return cancel;
}
