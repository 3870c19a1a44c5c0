// CANCEL processing (RFC 3261 §16.10): "While a CANCEL request is handled in a stateful proxy by its own server
// transaction, a new response context is not created for it. Instead, the proxy layer searches its existing response
// contexts for the server transaction handling the request associated with this CANCEL."
import { createResponse } from '../../sip/build.js';
import type { ServerInviteTransaction, ServerNonInviteTransaction } from '../../sip/transaction/index.js';
import type { ProxyEnv } from './env.js';
import { prepareRequest } from './outbound.js';
import { checkMaxForwards } from './request-validation.js';
import { OWN_CANCEL_TU, type ResponseContexts } from './response-context.js';
import type { TargetSelector } from './target-selector.js';

export class CancelProcessing {
  constructor(
    private readonly env: ProxyEnv,
    private readonly contexts: ResponseContexts,
    private readonly selector: TargetSelector,
  ) {}

  /** A CANCEL in its own server transaction, with the INVITE transaction it targets if that still exists. */
  onCancel(server: ServerNonInviteTransaction, invite: ServerInviteTransaction | undefined): void {
    const ctx = invite === undefined ? undefined : this.contexts.find(invite);
    if (ctx !== undefined) {
      // "If a matching response context is found, the element MUST immediately return a 200 (OK) response to the
      // CANCEL request. [...] Furthermore, the element MUST generate CANCEL requests for all pending client
      // transactions in the context as described in Section 16.7 step 10."
      this.env.respond(server, createResponse(server.request, 200));
      this.contexts.cancel(ctx);
      return;
    }
    // "If a response context is not found, the element does not have any knowledge of the request to apply the
    // CANCEL to. It MUST statelessly forward the CANCEL request". After a takeover the INVITE's branches were
    // chosen by the other node; our derived branches are the same, so the CANCEL still matches downstream.
    this.env.stats.statelessCancels++;
    this.forwardStatelessly(server);
  }

  /**
   * Through the same target selection as its INVITE (§16.11: "CANCEL [...] requests MUST generate the same choice
   * as their associated INVITE"), to every target of the set, since the INVITE may have been forked to all of them.
   * We answer the CANCEL hop by hop ourselves (§9.2), 481 when it has nowhere to go, and send each copy in a client
   * transaction of its own, which absorbs the 200 it gets back.
   */
  private forwardStatelessly(server: ServerNonInviteTransaction): void {
    const cancel = server.request;
    // §16.3 step 3 holds for a CANCEL too: with Max-Forwards 0 it "MUST NOT" be forwarded.
    const exhausted = checkMaxForwards(cancel, false);
    if (exhausted !== undefined) {
      this.env.respond(server, createResponse(cancel, exhausted.status, exhausted.reason));
      return;
    }
    const { fwd, groups } = this.selector.select(cancel);
    const targets = groups.flat();
    this.env.respond(server, createResponse(cancel, targets.length > 0 ? 200 : 481));
    for (const target of targets) {
      const out = prepareRequest(fwd, target, cancel, this.env.identity);
      // A duplicate: this CANCEL went out before and its client transaction is still under way.
      if (out !== undefined) this.env.transactions.createClientTransaction(out, target.to, OWN_CANCEL_TU);
    }
  }
}
