// The stateful proxy core (RFC 3261 §16) with the registrar, OPTIONS answering and digest authentication in front.
// Requests that match no transaction are handled here; responses and CANCELs that match nothing are forwarded
// statelessly (§16.7 step 2, §16.10) — that, with Route-based routing of in-dialog requests, carries calls across
// an HA takeover.
import { createResponse } from '../sip/build.js';
import type { SipRequest, SipResponse } from '../sip/message.js';
import type {
  ClientTransaction,
  ClientTransactionUser,
  ServerInviteTransaction,
  ServerNonInviteTransaction,
  ServerTransaction,
  TransactionCore,
} from '../sip/transaction/index.js';
import type { TransactionLayer } from '../sip/transaction/transaction-layer.js';
import type { Endpoint, MessageSender, Source } from '../sip/transport/types.js';
import { SipUri, TelUri } from '../sip/uri.js';
import { aorKey } from './aor.js';
import { bestResponseIndex, forwardableStatus } from './best-response.js';
import { forwardBranch, loopHash } from './branch.js';
import type { DialogStore } from './dialogs.js';
import type { DigestAuthenticator } from './digest-auth.js';
import type { Binding, LocationService } from './location-service.js';
import type { Myself } from './myself.js';
import { nextHop } from './next-hop.js';
import { handleRegister, type RegistrarPolicy } from './registrar.js';
import { checkRequest } from './request-checks.js';
import { type StaticRoute, staticRouteFor } from './static-routes.js';

export const ALLOW =
  'INVITE, ACK, CANCEL, OPTIONS, BYE, REGISTER, REFER, NOTIFY, SUBSCRIBE, MESSAGE, INFO, UPDATE, PRACK';
const DIALOG_CREATING = new Set(['INVITE', 'SUBSCRIBE', 'REFER']);
/** Timer C (§16.6 step 11): "MUST be set to a value greater than 3 minutes". */
const TIMER_C_MS = 181_000;

export interface AdvertisedAddress {
  /** Host as it goes into Via and Record-Route (IPv6 in brackets). */
  hostRef: string;
  port: number;
}

export interface ProxyOptions {
  myself: Myself;
  location: LocationService;
  dialogs: DialogStore;
  registrar: RegistrarPolicy;
  auth?: DigestAuthenticator;
  routes: StaticRoute[];
  /** Our own SIP address per transport (the VIP in HA mode) for Via and Record-Route. */
  advertise: Partial<Record<'udp' | 'tcp', AdvertisedAddress>>;
  /** Monotonic ms. */
  now: () => number;
}

export interface ProxyStats {
  responsesSentByStatus: Record<string, number>;
  forwarded: number;
  strayResponsesForwarded: number;
  strayResponsesDropped: number;
  statelessCancels: number;
  acksForwarded: number;
  loopsDetected: number;
  authFailures: number;
  registrations: number;
}

interface Target {
  uri: string;
  to: Endpoint;
  /** Route headers to add in front (Path of the binding, or a static route's hop). */
  routes: string[];
}

interface Branch {
  target: Target;
  request: SipRequest;
  tx: ClientTransaction | undefined;
  provisional: boolean;
  final: boolean;
  cancelPending: boolean;
}

interface ResponseContext {
  server: ServerTransaction;
  request: SipRequest;
  /** The request after route processing, before per-target changes: each branch is a copy of it. */
  fwd: SipRequest;
  /** Targets grouped by q-value, tried one group after the other (§16.6 sequential/parallel search). */
  groups: Target[][];
  branches: Branch[];
  finals: SipResponse[];
  answered: boolean;
  cancelled: boolean;
  done: boolean;
  timerC: NodeJS.Timeout | undefined;
}

export class ProxyCore implements TransactionCore {
  readonly stats: ProxyStats = {
    responsesSentByStatus: {},
    forwarded: 0,
    strayResponsesForwarded: 0,
    strayResponsesDropped: 0,
    statelessCancels: 0,
    acksForwarded: 0,
    loopsDetected: 0,
    authFailures: 0,
    registrations: 0,
  };
  /** Called for every request answered or forwarded (the HA node times "first SIP request served" with it). */
  onServed: (method: string) => void = () => {};
  private readonly contexts = new Map<ServerTransaction, ResponseContext>();
  private readonly branchOf = new Map<ClientTransaction, { ctx: ResponseContext; branch: Branch }>();
  private readonly knownAors = new Set<string>();
  private readonly clientTu: ClientTransactionUser;
  private readonly ignoreTu: ClientTransactionUser = {
    onResponse: () => {},
    onTimeout: () => {},
    onTransportError: () => {},
  };

  constructor(
    private readonly sender: MessageSender,
    private readonly transactions: TransactionLayer,
    private readonly o: ProxyOptions,
  ) {
    this.clientTu = {
      onResponse: (res, tx) => this.onBranchResponse(res, tx),
      onTimeout: (tx) => this.onBranchFailure(tx, 408, 'Request Timeout'),
      onTransportError: (_err, tx) => this.onBranchFailure(tx, 503, 'Service Unavailable'),
      onTerminated: (tx) => this.branchOf.delete(tx),
    };
  }

  get activeContexts(): number {
    return this.contexts.size;
  }

  // ---------------------------------------------------------------- requests

  /** A new request in its server transaction (the transaction layer absorbed retransmissions already). */
  onRequest(server: ServerTransaction): void {
    this.route(server.request, server);
  }

  onCancel(server: ServerNonInviteTransaction, invite: ServerInviteTransaction | undefined): void {
    this.handleCancel(server, invite);
  }

  onAck(ack: SipRequest): void {
    this.forwardStateless(ack);
  }

  private route(request: SipRequest, server: ServerTransaction): void {
    const reply = (status: number, reason?: string, extra?: [string, string][]) => {
      const res = createResponse(request, status, reason);
      for (const [n, v] of extra ?? []) res.headers.append(n, v);
      this.respond(server, res);
    };

    const uri = request.requestUri;
    if (!(uri instanceof SipUri) && !(uri instanceof TelUri)) {
      reply(416, 'Unsupported URI Scheme');
      return;
    }
    // §16.4: work on a copy; our own Route (loose routing) is consumed, a strict-routed R-URI restored.
    const fwd = request.clone();
    this.consumeOwnRoute(fwd);
    const hasRoute = fwd.headers.has('route');
    const rUriIsUs = !hasRoute && this.o.myself.isMyUri(fwd.requestUri);
    const toServer = rUriIsUs && (fwd.requestUri as SipUri).user === undefined;

    const failed = checkRequest(request, toServer);
    if (failed !== undefined) {
      reply(failed.status, failed.reason, failed.header ? [failed.header] : undefined);
      return;
    }
    // §16.3 step 4: a Via of ours carrying this request's loop hash means it came back unchanged.
    const hash = loopHash(request);
    if (
      request
        .vias()
        .some((v) => v !== undefined && this.isOurVia(v.host, v.port) && v.branch?.endsWith(`.${hash}`))
    ) {
      this.stats.loopsDetected++;
      reply(482, 'Loop Detected');
      return;
    }

    if (hasRoute) {
      const hop = nextHop(fwd.nameAddrs('route')[0]?.uri);
      if (hop === undefined) {
        reply(404, 'No Route To Next Hop');
        return;
      }
      this.forward(request, fwd, server, [[{ uri: fwd.uri, to: hop, routes: [] }]]);
      return;
    }

    if (rUriIsUs) {
      if (request.method === 'REGISTER') {
        this.register(request, server);
        return;
      }
      if (toServer) {
        if (request.method === 'OPTIONS') {
          reply(200, 'OK', [
            ['Allow', ALLOW],
            ['Accept', 'application/sdp'],
            ['Supported', 'path'],
          ]);
        } else
          reply(
            request.method === 'INVITE' ? 404 : 405,
            request.method === 'INVITE' ? 'Not Found' : undefined,
            [['Allow', ALLOW]],
          );
        return;
      }
      if (!this.authorizeCall(request, server)) return;
      const aor = aorKey(fwd.requestUri, this.o.myself)!;
      const bindings = this.o.location.lookup(aor, this.o.now());
      if (bindings.length > 0) {
        const groups: Target[][] = [];
        let lastQ = -1;
        for (const b of bindings) {
          const to = bindingHop(b);
          if (to === undefined) continue;
          if (b.q !== lastQ) groups.push([]);
          lastQ = b.q;
          groups.at(-1)!.push({ uri: b.contact, to, routes: b.path });
        }
        if (groups.length > 0) {
          this.forward(request, fwd, server, groups);
          return;
        }
      }
      const gateway = staticRouteFor(this.o.routes, fwd.requestUri);
      if (gateway !== undefined) {
        this.forward(request, fwd, server, [[{ uri: fwd.uri, to: gateway, routes: [] }]]);
        return;
      }
      const known = this.knownAors.has(aor) || this.o.location.hasAor(aor) || this.isAuthUser(aor);
      reply(known ? 480 : 404, known ? 'Temporarily Unavailable' : 'Not Found');
      return;
    }

    // Leaving our domain: a static route to a gateway, else the Request-URI's own address.
    if (!this.authorizeCall(request, server)) return;
    const hop = staticRouteFor(this.o.routes, fwd.requestUri) ?? nextHop(fwd.requestUri);
    if (hop === undefined) {
      reply(404, 'Not Found');
      return;
    }
    this.forward(request, fwd, server, [[{ uri: fwd.uri, to: hop, routes: [] }]]);
  }

  /** §16.4: remove our own top Route; if the previous hop strict-routed to us, restore the Request-URI. */
  private consumeOwnRoute(fwd: SipRequest): void {
    const ru = fwd.requestUri;
    if (
      ru instanceof SipUri &&
      this.o.myself.isMyUri(ru) &&
      ru.params.has('lr') &&
      fwd.headers.has('route')
    ) {
      // "If the Request-URI contains a value this proxy previously placed into a Record-Route header field ... replace
      // the Request-URI in the request with the last value from the Route header field, and remove that value".
      const routes = fwd.headers.values('route');
      const last = fwd.nameAddrs('route').at(-1);
      if (last !== undefined) {
        fwd.uri = last.uri.toString();
        fwd.headers.remove('route');
        for (const r of routes.slice(0, -1)) fwd.headers.append('Route', r);
      }
    }
    // "If the first value in the Route header field indicates this proxy, the proxy MUST remove that value".
    for (;;) {
      const top = fwd.nameAddrs('route')[0];
      if (top === undefined || !this.o.myself.isMyUri(top.uri)) break;
      fwd.headers.removeFirst('route');
    }
  }

  private register(request: SipRequest, server: ServerTransaction): void {
    const auth = this.o.auth;
    const aor = aorKey(request.to?.uri, this.o.myself);
    if (auth !== undefined) {
      const result = auth.verify(request.headers.getFields('authorization'), request.method);
      if (!result.ok) {
        if (result.reason !== 'no-credentials') this.stats.authFailures++;
        const res = createResponse(request, 401, 'Unauthorized');
        for (const c of auth.challenges(result.reason === 'stale-nonce'))
          res.headers.append('WWW-Authenticate', c);
        this.respond(server, res);
        return;
      }
      // "credentials checked against the registered AOR": alice may only register alice.
      if (aor === undefined || aor.slice(0, aor.lastIndexOf('@')) !== result.username) {
        this.stats.authFailures++;
        this.respond(server, createResponse(request, 403, 'Forbidden (Credentials Do Not Match AOR)'));
        return;
      }
    }
    const source = server.source;
    const outcome = handleRegister(
      request,
      source,
      this.o.location,
      this.o.myself,
      this.o.registrar,
      this.o.now(),
    );
    if (outcome.aor !== undefined && outcome.response.status === 200) {
      this.knownAors.add(outcome.aor);
      this.stats.registrations++;
    }
    this.respond(server, outcome.response);
  }

  /** Out-of-dialog INVITEs from users of our domain must carry credentials (407 otherwise). */
  private authorizeCall(request: SipRequest, server: ServerTransaction): boolean {
    const auth = this.o.auth;
    if (auth === undefined || request.method !== 'INVITE' || request.to?.tag !== undefined) return true;
    if (!this.o.myself.isMyUri(request.from?.uri)) return true;
    const result = auth.verify(request.headers.getFields('proxy-authorization'), request.method);
    const fromUser = request.from?.uri instanceof SipUri ? request.from.uri.userText : undefined;
    if (result.ok && result.username === fromUser) return true;
    if (result.ok) {
      this.stats.authFailures++;
      this.respond(server, createResponse(request, 403, 'Forbidden (Credentials Do Not Match From)'));
      return false;
    }
    if (result.reason !== 'no-credentials') this.stats.authFailures++;
    const res = createResponse(request, 407, 'Proxy Authentication Required');
    for (const c of auth.challenges(result.reason === 'stale-nonce'))
      res.headers.append('Proxy-Authenticate', c);
    this.respond(server, res);
    return false;
  }

  private isAuthUser(aor: string): boolean {
    return this.o.auth?.hasUser(aor.slice(0, aor.lastIndexOf('@'))) ?? false;
  }

  // ---------------------------------------------------------------- forwarding (§16.6)

  private forward(
    original: SipRequest,
    fwd: SipRequest,
    server: ServerTransaction,
    groups: Target[][],
  ): void {
    const ctx: ResponseContext = {
      server,
      request: original,
      fwd,
      groups,
      branches: [],
      finals: [],
      answered: false,
      cancelled: false,
      done: false,
      timerC: undefined,
    };
    this.contexts.set(server, ctx);
    if (original.method === 'BYE') this.o.dialogs.onBye(original);
    if (original.method === 'INVITE') {
      ctx.timerC = setTimeout(() => this.onTimerC(ctx), TIMER_C_MS);
      ctx.timerC.unref();
    }
    this.onServedRequest(original.method);
    this.startGroup(ctx);
  }

  private startGroup(ctx: ResponseContext): void {
    const group = ctx.groups.shift();
    if (group === undefined) return;
    ctx.branches = [];
    for (const target of group) {
      const out = ctx.fwd.clone();
      out.uri = target.uri;
      for (const r of [...target.routes].reverse()) out.headers.prepend('Route', r);
      // Step 3: Max-Forwards.
      const mf = out.maxForwards;
      out.headers.set('Max-Forwards', String(mf === undefined ? 70 : mf - 1));
      const adv = this.o.advertise[target.to.transport] ?? this.o.advertise.udp ?? this.o.advertise.tcp;
      if (adv === undefined) continue;
      // Step 4: Record-Route on dialog-creating requests, so in-dialog requests come back through us (the VIP).
      if (DIALOG_CREATING.has(out.method) && out.to?.tag === undefined) {
        const t = target.to.transport === 'tcp' ? ';transport=tcp' : '';
        out.headers.prepend('Record-Route', `<sip:${adv.hostRef}:${adv.port}${t};lr>`);
      }
      // Step 8: our Via, with a branch derived from the incoming transaction (see branch.ts).
      const branchId = forwardBranch(ctx.request, target.uri);
      out.headers.prepend(
        'Via',
        `SIP/2.0/${target.to.transport.toUpperCase()} ${adv.hostRef}:${adv.port};branch=${branchId};rport`,
      );
      const branch: Branch = {
        target,
        request: out,
        tx: undefined,
        provisional: false,
        final: false,
        cancelPending: false,
      };
      ctx.branches.push(branch);
      this.stats.forwarded++;
      const started = this.transactions.createClientTransaction(out, target.to, this.clientTu);
      if (started.kind === 'created') {
        branch.tx = started.transaction;
        this.branchOf.set(started.transaction, { ctx, branch });
      } else {
        // A duplicate branch (the same request forwarded twice to the same target) counts as a failed branch.
        branch.final = true;
        ctx.finals.push(createResponse(ctx.request, 500, 'Duplicate Branch'));
      }
    }
    if (ctx.branches.every((b) => b.final)) this.maybeFinish(ctx);
  }

  private onBranchResponse(res: SipResponse, tx: ClientTransaction): void {
    const entry = this.branchOf.get(tx);
    if (entry === undefined) return;
    const { ctx, branch } = entry;
    const status = res.status;
    if (status < 200) {
      branch.provisional = true;
      if (branch.cancelPending) this.sendCancel(branch);
      if (status === 100 || ctx.done) return; // §16.7 step 5: 100 is not forwarded
      this.forwardUp(ctx, res);
      return;
    }
    if (status < 300) {
      branch.final = true;
      ctx.answered = true;
      this.forwardUp(ctx, res);
      // §16.7 step 10: a 2xx to an INVITE cancels the other pending branches.
      if (ctx.request.method === 'INVITE')
        for (const b of ctx.branches) if (b !== branch) this.cancelBranch(b);
      this.finishContext(ctx);
      return;
    }
    if (branch.final) return;
    branch.final = true;
    ctx.finals.push(res);
    if (status >= 600 && ctx.request.method === 'INVITE') {
      ctx.cancelled = true;
      for (const b of ctx.branches) this.cancelBranch(b);
    }
    this.maybeFinish(ctx);
  }

  private onBranchFailure(tx: ClientTransaction, status: number, reason: string): void {
    const entry = this.branchOf.get(tx);
    if (entry === undefined) return;
    const { ctx, branch } = entry;
    if (branch.final) return;
    branch.final = true;
    // RFC 4320: no 408 for non-INVITE; we still record it so the context can end.
    ctx.finals.push(createResponse(ctx.request, status, reason));
    this.maybeFinish(ctx);
  }

  /** When every branch of the group has a final response: the next q-group, or the best response (§16.7 step 6). */
  private maybeFinish(ctx: ResponseContext): void {
    if (ctx.answered || ctx.done || !ctx.branches.every((b) => b.final)) return;
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
    const status = forwardableStatus(best.status);
    if (status !== best.status || best.via?.branch === ctx.request.via?.branch) {
      this.respond(ctx.server, createResponse(ctx.request, status));
    } else this.forwardUp(ctx, best);
    this.finishContext(ctx);
  }

  private forwardUp(ctx: ResponseContext, res: SipResponse): void {
    const up = res.clone();
    // §16.7 step 3 removes our Via; we go further and restore the request's own Via list, so a next hop that
    // mangled the Vias below ours (some do, on CANCELled calls) cannot misroute the response.
    up.headers.remove('via');
    for (const v of ctx.request.headers.getFields('via')) up.headers.append('Via', v);
    if (ctx.request.method === 'INVITE') this.o.dialogs.onInviteResponse(ctx.request, up);
    if (!ctx.server.terminated && ctx.server.respond(up)) {
      this.countResponse(up.status);
      return;
    }
    // The server transaction is gone (or no longer takes responses, e.g. a late 2xx): forward statelessly.
    this.sender.sendResponse(up, ctx.server.source);
    this.countResponse(up.status);
  }

  private finishContext(ctx: ResponseContext): void {
    if (ctx.done) return;
    ctx.done = true;
    if (ctx.timerC !== undefined) clearTimeout(ctx.timerC);
    // INVITE contexts stay until their server transaction terminates, to forward 2xx retransmissions.
    this.contexts.delete(ctx.server);
  }

  private onTimerC(ctx: ResponseContext): void {
    if (ctx.done) return;
    // "If timer C should fire, the proxy MUST either reset the timer ... or terminate the client transaction.
    // If the client transaction has received a provisional response, the proxy MUST generate a CANCEL".
    ctx.cancelled = true;
    for (const b of ctx.branches) this.cancelBranch(b);
    this.respond(ctx.server, createResponse(ctx.request, 408, 'Request Timeout'));
    this.finishContext(ctx);
  }

  // ---------------------------------------------------------------- CANCEL (§16.10) and stateless forwarding

  private handleCancel(
    server: ServerNonInviteTransaction,
    invite: ServerInviteTransaction | undefined,
  ): void {
    const cancel = server.request;
    const ctx = invite === undefined ? undefined : this.contexts.get(invite);
    if (ctx === undefined) {
      // "If a response context is not found, the element does not have any knowledge of the request to apply the
      // CANCEL to. It MUST statelessly forward the CANCEL request". After a takeover the INVITE's branches were
      // chosen by the other node; our derived branches are the same, so the CANCEL still matches downstream.
      this.stats.statelessCancels++;
      this.forwardCancelStatelessly(server);
      return;
    }
    this.respond(server, createResponse(cancel, 200));
    ctx.cancelled = true;
    for (const b of ctx.branches) this.cancelBranch(b);
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
    this.transactions.createClientTransaction(buildCancel(b.request), b.target.to, this.ignoreTu);
  }

  private forwardCancelStatelessly(server: ServerNonInviteTransaction): void {
    const cancel = server.request;
    const fwd = cancel.clone();
    this.consumeOwnRoute(fwd);
    const targets: Target[] = [];
    if (fwd.headers.has('route')) {
      const hop = nextHop(fwd.nameAddrs('route')[0]?.uri);
      if (hop !== undefined) targets.push({ uri: fwd.uri, to: hop, routes: [] });
    } else if (this.o.myself.isMyUri(fwd.requestUri)) {
      const aor = aorKey(fwd.requestUri, this.o.myself);
      for (const b of aor === undefined ? [] : this.o.location.lookup(aor, this.o.now())) {
        const to = bindingHop(b);
        if (to !== undefined) targets.push({ uri: b.contact, to, routes: b.path });
      }
      const gw = targets.length === 0 ? staticRouteFor(this.o.routes, fwd.requestUri) : undefined;
      if (gw !== undefined) targets.push({ uri: fwd.uri, to: gw, routes: [] });
    } else {
      const hop = staticRouteFor(this.o.routes, fwd.requestUri) ?? nextHop(fwd.requestUri);
      if (hop !== undefined) targets.push({ uri: fwd.uri, to: hop, routes: [] });
    }
    // Answer the CANCEL hop by hop ourselves (§9.2: 200 to the CANCEL), then pass it on.
    this.respond(server, createResponse(cancel, targets.length > 0 ? 200 : 481));
    for (const t of targets) {
      const out = fwd.clone();
      out.uri = t.uri;
      for (const r of [...t.routes].reverse()) out.headers.prepend('Route', r);
      const adv = this.o.advertise[t.to.transport] ?? this.o.advertise.udp;
      if (adv === undefined) continue;
      out.headers.set('Max-Forwards', String(Math.max(0, (out.maxForwards ?? 70) - 1)));
      out.headers.prepend(
        'Via',
        `SIP/2.0/${t.to.transport.toUpperCase()} ${adv.hostRef}:${adv.port};branch=${forwardBranch(cancel, t.uri)};rport`,
      );
      // A duplicate is a retransmitted CANCEL whose client transaction is already under way.
      this.transactions.createClientTransaction(out, t.to, this.ignoreTu);
    }
  }

  /** ACKs for 2xx (end to end) and anything else no transaction wants: routed like an in-dialog request, no state. */
  private forwardStateless(request: SipRequest): void {
    const fwd = request.clone();
    this.consumeOwnRoute(fwd);
    let hop: Endpoint | undefined;
    if (fwd.headers.has('route')) hop = nextHop(fwd.nameAddrs('route')[0]?.uri);
    else if (this.o.myself.isMyUri(fwd.requestUri)) {
      const aor = aorKey(fwd.requestUri, this.o.myself);
      const b = aor === undefined ? undefined : this.o.location.lookup(aor, this.o.now())[0];
      if (b !== undefined) {
        fwd.uri = b.contact;
        hop = nextHop(b.contact) ?? b.received;
      }
    } else hop = staticRouteFor(this.o.routes, fwd.requestUri) ?? nextHop(fwd.requestUri);
    if (hop === undefined || (fwd.maxForwards ?? 70) === 0) return;
    const adv = this.o.advertise[hop.transport] ?? this.o.advertise.udp;
    if (adv === undefined) return;
    fwd.headers.set('Max-Forwards', String((fwd.maxForwards ?? 70) - 1));
    fwd.headers.prepend(
      'Via',
      `SIP/2.0/${hop.transport.toUpperCase()} ${adv.hostRef}:${adv.port};branch=${forwardBranch(request, fwd.uri)}`,
    );
    this.stats.acksForwarded++;
    this.onServedRequest(request.method);
    this.sender.sendRequest(fwd, hop);
  }

  // ---------------------------------------------------------------- responses with no transaction

  onStrayResponse(response: SipResponse, source: Source): void {
    // §16.7 step 2 / §18.1.2: a response for a transaction we no longer (or never) had is forwarded statelessly,
    // provided the top Via is ours — after a takeover that is the other node's Via on the shared VIP.
    const via = response.via;
    if (via === undefined || !this.isOurVia(via.host, via.port)) {
      this.stats.strayResponsesDropped++;
      return;
    }
    const up = response.clone();
    up.headers.removeFirst('via');
    if (up.via === undefined) {
      this.stats.strayResponsesDropped++;
      return;
    }
    this.stats.strayResponsesForwarded++;
    this.countResponse(up.status);
    this.sender.sendResponse(up, { ...source, connectionId: undefined });
  }

  // ---------------------------------------------------------------- helpers

  private respond(server: ServerTransaction, res: SipResponse): void {
    if (server.respond(res)) {
      this.countResponse(res.status);
      if (res.status >= 200) this.onServedRequest(server.request.method);
    }
  }

  private countResponse(status: number): void {
    const k = String(status);
    this.stats.responsesSentByStatus[k] = (this.stats.responsesSentByStatus[k] ?? 0) + 1;
  }

  private onServedRequest(method: string): void {
    this.onServed(method);
  }

  private isOurVia(host: string, port: number | undefined): boolean {
    const h = host.toLowerCase();
    for (const a of Object.values(this.o.advertise)) {
      if (a === undefined) continue;
      const ah = a.hostRef.replace(/^\[|\]$/g, '').toLowerCase();
      if (ah === h && (port ?? 5060) === a.port) return true;
    }
    return this.o.myself.isMyHost(host, port);
  }
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

/** Where a request for a binding goes: its first Path hop (RFC 3327), else its contact, else where it registered from. */
function bindingHop(b: Binding): Endpoint | undefined {
  return b.path.length > 0 ? nextHop(pathUri(b.path[0]!)) : (nextHop(b.contact) ?? b.received);
}

function pathUri(path: string): string {
  const m = /<([^>]+)>/.exec(path);
  return m?.[1] ?? path;
}
