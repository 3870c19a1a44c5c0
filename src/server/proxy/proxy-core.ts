// The stateful proxy core (RFC 3261 §16.2): "For all new requests, including any with unknown methods, an element
// intending to proxy the request MUST: 1. Validate the request (Section 16.3) 2. Preprocess routing information
// (Section 16.4) 3. Determine target(s) for the request (Section 16.5) 4. Forward the request to each target
// (Section 16.6) 5. Process all responses (Section 16.7)". This facade wires those parts together, with local
// services for requests addressed to the server itself. It is the core above the transaction layer, which hands it
// only new requests, CANCELs, unmatched ACKs and stray responses; forwarding the last three statelessly, with
// Route-based routing of in-dialog requests, carries calls across an HA takeover.
import { AddressSet } from '../../net/address.js';
import { createResponse } from '../../sip/build.js';
import type { SipRequest, SipResponse } from '../../sip/message.js';
import type {
  ServerInviteTransaction,
  ServerNonInviteTransaction,
  ServerTransaction,
  TransactionCore,
} from '../../sip/transaction/index.js';
import type { TransactionLayer } from '../../sip/transaction/transaction-layer.js';
import type { MessageSender, Source } from '../../sip/transport/types.js';
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
import { type Selection, TargetSelector } from './target-selector.js';

export type { ProxyOptions, ProxyStats } from './env.js';
export type { AdvertisedAddress } from './identity.js';

export class ProxyCore implements TransactionCore {
  private readonly env: ProxyEnv;
  private readonly selector: TargetSelector;
  private readonly contexts: ResponseContexts;
  private readonly cancels: CancelProcessing;
  private readonly stateless: StatelessForwarding;
  private readonly local: LocalServices;
  private readonly guard: RelayGuard;

  constructor(sender: MessageSender, transactions: TransactionLayer, o: ProxyOptions) {
    this.env = new ProxyEnv(sender, transactions, o);
    this.selector = new TargetSelector(o);
    this.contexts = new ResponseContexts(this.env);
    this.cancels = new CancelProcessing(this.env, this.contexts, this.selector);
    this.stateless = new StatelessForwarding(this.env, this.selector);
    this.local = new LocalServices(this.env);
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

  get activeContexts(): number {
    return this.contexts.size;
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
    const { kind, fwd, aor, groups } = selection;
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
    if (groups.length > 0) this.contexts.forward(request, fwd, server, groups);
    else if (kind === 'route') this.reply(server, { status: 404, reason: 'No Route To Next Hop' });
    else if (kind === 'domain') this.local.unavailable(server, aor);
    else this.reply(server, { status: 404, reason: 'Not Found' });
  }

  onCancel(server: ServerNonInviteTransaction, invite: ServerInviteTransaction | undefined): void {
    this.cancels.onCancel(server, invite);
  }

  onAck(ack: SipRequest): void {
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
