// What this proxy forwards without a transaction (RFC 3261 §16.11): ACKs that no transaction took (the ACK for a
// 2xx is end to end) and responses that match no client transaction (§16.7: "If none is found, the element MUST
// process the response (even if it is an informational response) as a stateless proxy"). After an HA takeover this
// carries the calls the other node set up.
import type { SipRequest, SipResponse } from '../../sip/message.js';
import type { Source } from '../../sip/transport/types.js';
import type { ProxyEnv } from './env.js';
import { prepareRequest } from './outbound.js';
import { checkMaxForwards } from './request-validation.js';
import type { TargetSelector } from './target-selector.js';

export class StatelessForwarding {
  constructor(
    private readonly env: ProxyEnv,
    private readonly selector: TargetSelector,
  ) {}

  /**
   * §16.11: "A stateless proxy MUST validate a request as described in Section 16.3" and "MUST choose one and only
   * one target from the target set": the first of the highest q-group, as the INVITE's first branch went. An ACK
   * cannot be answered, so one that fails validation or has nowhere to go is dropped.
   */
  forwardAck(ack: SipRequest): void {
    if (checkMaxForwards(ack, false) !== undefined) return;
    const { fwd, groups } = this.selector.select(ack);
    const target = groups[0]?.[0];
    if (target === undefined) return;
    const out = prepareRequest(fwd, target, ack, this.env.identity);
    if (out === undefined) return;
    this.env.stats.acksForwarded++;
    this.env.onServed(ack.method);
    // "The request is sent directly to the transport layer instead of through a client transaction."
    this.env.sender.sendRequest(out, target.to);
  }

  /**
   * "When a response arrives at a stateless proxy, the proxy MUST inspect the sent-by value in the first (topmost)
   * Via header field value. If that address matches the proxy, (it equals a value this proxy has inserted into
   * previous requests) the proxy MUST remove that header field value from the response and forward the result to
   * the location indicated in the next Via header field value. [...] If the address does not match the proxy, the
   * message MUST be silently discarded." Our Via on the shared VIP matches after a takeover too.
   */
  forwardResponse(response: SipResponse, source: Source): void {
    const via = response.via;
    if (via === undefined || !this.env.identity.isOurVia(via.host, via.port)) {
      this.env.stats.strayResponsesDropped++;
      return;
    }
    const up = response.clone();
    up.headers.removeFirst('via');
    // §16.7 step 3: "If no Via header field values remain in the response, the response was meant for this
    // element and MUST NOT be forwarded."
    if (up.via === undefined) {
      this.env.stats.strayResponsesDropped++;
      return;
    }
    this.env.stats.strayResponsesForwarded++;
    this.env.countResponse(up.status);
    // Not down the connection it came on: the next Via says where it goes (§18.2.2).
    this.env.sender.sendResponse(up, { ...source, connectionId: undefined });
  }
}
