// The stateful proxy core (RFC 3261 §16.2): "For all new requests, including any with unknown methods, an element
// intending to proxy the request MUST: 1. Validate the request (Section 16.3) 2. Preprocess routing information
// (Section 16.4) 3. Determine target(s) for the request (Section 16.5) 4. Forward the request to each target
// (Section 16.6) 5. Process all responses (Section 16.7)". This facade wires those parts together, with local
// services for requests addressed to the server itself. It is the core above the transaction layer, which hands it
// only new requests, CANCELs, unmatched ACKs and stray responses; forwarding the last three statelessly, with
// Route-based routing of in-dialog requests, carries calls across an HA takeover. A next hop given by name is
// resolved (RFC 3263, src/server/resolver/) between steps 3 and 4, without blocking anything else.
import { AddressSet, formatHostPort } from '../../net/address.js';
import { errorMessage } from '../../net/errors.js';
import { createResponse } from '../../sip/build.js';
import type { SipRequest, SipResponse } from '../../sip/message.js';
import type {
  ServerInviteTransaction,
  ServerNonInviteTransaction,
  ServerTransaction,
  TransactionCore,
} from '../../sip/transaction/index.js';
import type { TransactionLayer } from '../../sip/transaction/transaction-layer.js';
import { isSecure, type MessageSender, type Source } from '../../sip/transport/types.js';
import type { CommitGate } from '../commit-gate.js';
import { OverloadShedding } from '../overload/shed.js';
import type { Resolution, SipResolver } from '../resolver/resolver.js';
import { CancelProcessing } from './cancel.js';
import { ProxyEnv, type ProxyOptions, type ProxyStats } from './env.js';
import { LocalServices } from './local-services.js';
import {
  type CheckFailure,
  checkLoop,
  checkProxyAuthorization,
  checkRequest,
  checkUriScheme,
  type RelayGuard,
} from './request-validation.js';
import { ResponseContexts } from './response-context.js';
import { StatelessForwarding } from './stateless.js';
import { type NamedTarget, type Selection, TargetSelector } from './target-selector.js';

export type { ProxyOptions, ProxyStats } from './env.js';
export type { AdvertisedAddress } from './identity.js';

export interface ProxyCoreOptions extends ProxyOptions {
  /** Resolves next hops given by name (`sip.dns`); without one, a name is not found (404). */
  resolver?: SipResolver;
  /**
   * What went wrong after a resolution or in sending a response held for replication, outside any caller's stack
   * (the SIP server logs it).
   */
  onError?: (err: unknown) => void;
}

export class ProxyCore implements TransactionCore {
  private readonly env: ProxyEnv;
  private readonly selector: TargetSelector;
  private readonly contexts: ResponseContexts;
  private readonly cancels: CancelProcessing;
  private readonly stateless: StatelessForwarding;
  private readonly local: LocalServices;
  private readonly guard: RelayGuard;
  private readonly shedding: OverloadShedding | undefined;
  /** Requests whose next hop is being resolved: a CANCEL meanwhile ends them (§16.10, no context yet). */
  private readonly resolving = new Set<ServerTransaction>();

  constructor(
    sender: MessageSender,
    transactions: TransactionLayer,
    private readonly o: ProxyCoreOptions,
  ) {
    this.env = new ProxyEnv(sender, transactions, o);
    this.env.onError = (err) => o.onError?.(err);
    this.selector = new TargetSelector(o);
    this.contexts = new ResponseContexts(this.env);
    this.cancels = new CancelProcessing(this.env, this.contexts, this.selector);
    this.stateless = new StatelessForwarding(this.env, this.selector);
    this.local = new LocalServices(this.env);
    this.shedding =
      o.overload === undefined
        ? undefined
        : new OverloadShedding(o.overload, sender, this.env.stats, (s) => this.env.countResponse(s));
    this.guard = {
      auth: o.auth,
      myself: o.myself,
      inbound: o.relay?.inbound ?? 'allow',
      trusted: new AddressSet(o.relay?.trusted ?? []),
    };
  }

  get stats(): ProxyStats {
    return this.env.stats;
  }

  /** Called for every request answered or forwarded (the HA node times "first SIP request served" with it). */
  get onServed(): (method: string) => void {
    return this.env.onServed;
  }

  set onServed(listener: (method: string) => void) {
    this.env.onServed = listener;
  }

  /** The durability port (src/server/commit-gate.ts): the HA worker sets it once its replication runs. */
  get commitGate(): CommitGate | undefined {
    return this.env.commitGate;
  }

  set commitGate(gate: CommitGate | undefined) {
    this.env.commitGate = gate;
  }

  get activeContexts(): number {
    return this.contexts.size;
  }

  /** Before a new request gets a transaction: under overload, a new out-of-dialog one may be shed (503, §21.5.4). */
  admit(request: SipRequest, source: Source): boolean {
    return this.shedding?.admit(request, source) ?? true;
  }

  /** A new request in the server transaction the transaction layer created for it. */
  onRequest(server: ServerTransaction): void {
    const request = server.request;
    const selection = this.selector.select(request);
    const failed = this.validate(request, selection);
    if (failed !== undefined) {
      this.reply(server, failed);
      return;
    }
    const { kind, fwd, groups } = selection;
    // REGISTER for our domain is the registrar's, which authenticates it itself (401, §22.2).
    if (request.method === 'REGISTER' && (kind === 'server' || kind === 'domain')) {
      this.local.register(server);
      return;
    }
    if (!this.authorized(server, selection)) return;
    if (kind === 'server') {
      this.local.answer(server);
      return;
    }
    if (selection.named !== undefined)
      this.resolveAndForward(server, selection, selection.named).catch((err: unknown) =>
        this.o.onError?.(err),
      );
    else if (groups.length > 0) this.contexts.forward(request, fwd, server, groups);
    else this.noTarget(server, selection);
  }

  /** An empty target set: 404, or for our domain's user the location service's answer (480 or 404). */
  private noTarget(server: ServerTransaction, { kind, aor }: Selection): void {
    if (kind === 'route') this.reply(server, { status: 404, reason: 'No Route To Next Hop' });
    else if (kind === 'domain') this.local.unavailable(server, aor);
    else this.reply(server, { status: 404, reason: 'Not Found' });
  }

  onCancel(server: ServerNonInviteTransaction, invite: ServerInviteTransaction | undefined): void {
    if (invite !== undefined && this.resolving.delete(invite)) {
      // §16.10: nothing was forwarded yet, so there is nothing to cancel downstream: the CANCEL gets its 200 and
      // the INVITE its 487 (§9.2) here, and the resolution's answer is dropped.
      this.env.respond(server, createResponse(server.request, 200));
      this.env.respond(invite, createResponse(invite.request, 487, 'Request Terminated'));
      return;
    }
    this.cancels.onCancel(server, invite);
  }

  /**
   * RFC 3263 §4 for a next hop given by name, then on as for an address, with the addresses after the first as the
   * target's alternates (§4.3). A name that does not resolve is not found, as a Request-URI outside our domains
   * without a hop (404, see target-selector.ts `single`). A DNS that failed (SERVFAIL, timeout, refused) said
   * nothing about the name: that is our own temporary trouble, 503 (§21.5.4: "temporarily unable to process the
   * request"), which lets the caller try another server (RFC 3263 §4.3) — a 404 would tell it the name is wrong.
   */
  private async resolveAndForward(
    server: ServerTransaction,
    selection: Selection,
    named: NamedTarget,
  ): Promise<void> {
    const resolver = this.o.resolver;
    if (resolver === undefined) return;
    this.resolving.add(server);
    let result: Resolution;
    try {
      result = await resolver.resolve(named.hop);
    } catch (err) {
      result = { kind: 'failed', detail: errorMessage(err) };
    }
    if (!this.resolving.delete(server) || server.terminated) return;
    if (result.kind === 'ok') {
      // RFC 5922 §4: over TLS, the server must prove the name we resolved, not the address it resolved to.
      const host = named.hop.host;
      const [to, ...alternates] = result.endpoints.map((e) =>
        isSecure(e.transport) ? { ...e, serverName: host } : e,
      );
      if (to !== undefined) {
        const target = { uri: named.uri, to, routes: [], alternates };
        this.contexts.forward(server.request, selection.fwd, server, [[target]]);
        return;
      }
    }
    if (result.kind === 'failed') this.reply(server, { status: 503, reason: 'DNS Unavailable' });
    else this.noTarget(server, selection);
  }

  onAck(ack: SipRequest): void {
    // The ACK for a shed 503 is hop by hop and ends here (§17.2.1), though no transaction is left to absorb it.
    if (this.shedding?.isShedAck(ack)) return;
    this.stateless.forwardAck(ack);
  }

  onStrayResponse(response: SipResponse, source: Source): void {
    this.stateless.forwardResponse(response, source);
  }

  /**
   * §16.3 steps 2-5 (step 6, Proxy-Authorization, after them in `authorized`). The scheme is checked on the request
   * as received; whether it is for the server itself (OPTIONS with Max-Forwards 0) after route preprocessing.
   */
  private validate(request: SipRequest, selection: Selection): CheckFailure | undefined {
    const failed = checkUriScheme(request) ?? checkRequest(request, selection.kind === 'server');
    if (failed !== undefined) return failed;
    const loop = checkLoop(request, (host, port) => this.env.identity.isOurVia(host, port));
    if (loop !== undefined) this.env.stats.loopsDetected++;
    return loop;
  }

  /** §16.3 step 6 (the relay policy); answers the request itself when it may not pass. */
  private authorized(server: ServerTransaction, selection: Selection): boolean {
    // Another pair of our domain (src/cluster/) authenticated its caller already: a trusted peer for requests to
    // users of our domain only — never a relay elsewhere (a forged UDP source must not open a path to toll fraud).
    const { source } = server;
    if (
      selection.kind === 'domain' &&
      this.o.directory?.isPeer(formatHostPort({ host: source.address, port: source.port })) === true
    )
      return true;
    const refusal = checkProxyAuthorization(server.request, selection, server.source.address, this.guard);
    if (refusal === undefined) return true;
    if (refusal.failure) this.env.stats.authFailures++;
    this.env.respond(server, refusal.response);
    return false;
  }

  private reply(server: ServerTransaction, failure: CheckFailure): void {
    const response = createResponse(server.request, failure.status, failure.reason);
    if (failure.header !== undefined) response.headers.append(...failure.header);
    this.env.respond(server, response);
  }
}
