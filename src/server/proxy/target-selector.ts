// Route information preprocessing and target determination (RFC 3261 §16.4, §16.5): where a request goes. One
// selector for every way a request leaves the proxy — a stateful branch, a CANCEL forwarded statelessly, an ACK
// forwarded statelessly — since §16.11 has it that "CANCEL and non-Routed ACK requests MUST generate the same choice
// as their associated INVITE."
import type { SipRequest } from '../../sip/message.js';
import { parseNameAddr } from '../../sip/name-addr.js';
import type { Endpoint } from '../../sip/transport/types.js';
import { SipUri } from '../../sip/uri.js';
import { aorKey } from '../aor.js';
import type { Binding, LocationService } from '../location-service.js';
import type { Myself } from '../myself.js';
import { nextHop } from '../next-hop.js';
import { type StaticRoute, staticRouteFor } from '../static-routes.js';

export interface Target {
  /** The Request-URI for this target (§16.6 step 2). */
  uri: string;
  /** Where the request is sent (§16.6 step 7). */
  to: Endpoint;
  /** Route values pushed ahead for this target (§16.6 step 6): the binding's Path (RFC 3327), top first. */
  routes: readonly string[];
  /** A registered contact of the address-of-record (not a route, a gateway or a remote domain). */
  registered?: true;
}

export interface Selection {
  /**
   * `route`: a Route header (once our own is consumed) names the next hop. `server`: the Request-URI is this
   * server itself (no user part). `domain`: a Request-URI in our domain. `remote`: any other domain.
   */
  kind: 'route' | 'server' | 'domain' | 'remote';
  /** The request after §16.4; each request sent is a copy of it (§16.6 step 1). */
  fwd: SipRequest;
  /** The address-of-record of a `domain` Request-URI. */
  aor: string | undefined;
  /** The target set in groups of equal q-value, highest first, tried one after the other (§16.6). Empty: none. */
  groups: Target[][];
}

export interface TargetSelectorOptions {
  myself: Myself;
  location: LocationService;
  routes: readonly StaticRoute[];
  /** Monotonic ms, the location service's clock. */
  now: () => number;
}

export class TargetSelector {
  constructor(private readonly o: TargetSelectorOptions) {}

  select(request: SipRequest): Selection {
    const fwd = request.clone();
    this.preprocessRoutes(fwd);
    // §16.6 step 7: "the proxy MUST apply the procedures to the first value in the Route header field, if
    // present, else the Request-URI."
    if (fwd.headers.has('route')) {
      return selection('route', fwd, undefined, single(fwd.uri, nextHop(fwd.nameAddrs('route')[0]?.uri)));
    }
    const uri = fwd.requestUri;
    if (!(uri instanceof SipUri) || !this.o.myself.isMyUri(uri)) {
      // "If the domain of the Request-URI indicates a domain this element is not responsible for, the
      // Request-URI MUST be placed into the target set as the only target". A static route may name the gateway.
      const to = staticRouteFor(this.o.routes, uri) ?? nextHop(uri);
      return selection('remote', fwd, undefined, single(fwd.uri, to));
    }
    if (uri.user === undefined) return selection('server', fwd, undefined, []);
    // "When accessing the location service constructed by a registrar, the Request-URI MUST first be
    // canonicalized as described in Section 10.3 before being used as an index."
    const aor = aorKey(uri, this.o.myself);
    const groups = aor === undefined ? [] : this.bindingGroups(aor);
    if (groups.length > 0) return selection('domain', fwd, aor, groups);
    // No binding: a number of our domain may still have a gateway.
    return selection('domain', fwd, aor, single(fwd.uri, staticRouteFor(this.o.routes, uri)));
  }

  /** §16.4, in place on the copy. */
  private preprocessRoutes(fwd: SipRequest): void {
    const ru = fwd.requestUri;
    const { myself } = this.o;
    // "If the Request-URI of the request contains a value this proxy previously placed into a Record-Route header
    // field (see Section 16.6 item 4), the proxy MUST replace the Request-URI in the request with the last value
    // from the Route header field, and remove that value from the Route header field." (A strict router.)
    if (ru instanceof SipUri && myself.isMyUri(ru) && ru.params.has('lr') && fwd.headers.has('route')) {
      const routes = fwd.headers.values('route');
      const last = fwd.nameAddrs('route').at(-1);
      if (last !== undefined) {
        fwd.uri = last.uri.toString();
        fwd.headers.remove('route');
        for (const r of routes.slice(0, -1)) fwd.headers.append('Route', r);
      }
    }
    // "If the first value in the Route header field indicates this proxy, the proxy MUST remove that value from
    // the request."
    for (;;) {
      const top = fwd.nameAddrs('route')[0];
      if (top === undefined || !myself.isMyUri(top.uri)) break;
      fwd.headers.removeFirst('route');
    }
  }

  /** The live bindings (highest q first, as the location service orders them), grouped by q. */
  private bindingGroups(aor: string): Target[][] {
    const groups: Target[][] = [];
    let lastQ = -1;
    for (const b of this.o.location.lookup(aor, this.o.now())) {
      const to = bindingHop(b);
      if (to === undefined) continue;
      if (b.q !== lastQ) groups.push([]);
      lastQ = b.q;
      groups.at(-1)!.push({ uri: b.contact, to, routes: b.path, registered: true });
    }
    return groups;
  }
}

function selection(
  kind: Selection['kind'],
  fwd: SipRequest,
  aor: string | undefined,
  groups: Target[][],
): Selection {
  return { kind, fwd, aor, groups };
}

/**
 * "The Request-URI MUST be placed into the target set as the only target": one group of one, if it has a hop. A host
 * name leaves the set empty — we resolve no names (RFC 3263) — and the core answers 404, which covers it: "This
 * status is also returned if the domain in the Request-URI does not match any of the domains handled by the
 * recipient of the request" (§21.4.5). Not 604, "authoritative information that the user indicated in the
 * Request-URI does not exist anywhere" (§21.6.3), which we do not have and which would end the caller's forking
 * everywhere (§16.7 step 5); not 503 either, since nothing was tried and nothing is known to be down.
 */
function single(uri: string, to: Endpoint | undefined): Target[][] {
  return to === undefined ? [] : [[{ uri, to, routes: [] }]];
}

/**
 * Where a request for a binding goes: its first Path hop (RFC 3327: the Path becomes the route to the contact),
 * else its contact, else where it registered from.
 */
function bindingHop(b: Binding): Endpoint | undefined {
  const path = b.path[0];
  if (path !== undefined) return nextHop(parseNameAddr(path)?.uri);
  return nextHop(b.contact) ?? b.received;
}
