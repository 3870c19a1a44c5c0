// Route information preprocessing and target determination (RFC 3261 §16.4, §16.5): where a request goes. One
// selector for every way a request leaves the proxy — a stateful branch, a CANCEL forwarded statelessly, an ACK
// forwarded statelessly — since §16.11 has it that "CANCEL and non-Routed ACK requests MUST generate the same choice
// as their associated INVITE."
import type { SipRequest } from '../../sip/message.js';
import { parseNameAddr } from '../../sip/name-addr.js';
import { type Endpoint, isReliable, reachableOnlyByFlow } from '../../sip/transport/types.js';
import { SipUri, type Uri } from '../../sip/uri.js';
import { aorKey } from '../aor.js';
import { consumeCredentials } from '../digest-auth.js';
import type { Binding, LocationService } from '../location-service.js';
import type { Myself } from '../myself.js';
import { type NatMode, useFlow } from '../nat.js';
import { nextHop } from '../next-hop.js';
import type { RemoteDirectory } from '../remote-directory.js';
import type { SipResolver } from '../resolver/resolver.js';
import { type StaticRoute, staticRouteMatch } from '../static-routes.js';

export interface Target {
  /** The Request-URI for this target (§16.6 step 2). */
  uri: string;
  /** Where the request is sent (§16.6 step 7). */
  to: Endpoint;
  /** Route values pushed ahead for this target (§16.6 step 6): the binding's Path (RFC 3327), top first. */
  routes: readonly string[];
  /** A registered contact of the address-of-record (not a route, a gateway or a remote domain). */
  registered?: true;
  /** More addresses of a next hop given by name, tried in turn when `to` fails (RFC 3263 §4.3). */
  alternates?: readonly Endpoint[];
}

/** A target whose next hop is a host name not resolved yet (RFC 3263): the core resolves `hop`, then forwards. */
export interface NamedTarget {
  /** The Request-URI for the target. */
  uri: string;
  /** The URI whose host is resolved: the top Route, the gateway's, or the Request-URI itself. */
  hop: SipUri;
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
  /** The targets are out of our domain: a foreign Route or Request-URI, or a gateway by a static route. */
  leaves: boolean;
  /** §16.4 removed a Route value of ours (or undid a strict router's rewrite): it came through our Record-Route. */
  viaOurRoute: boolean;
  /**
   * The one target, when its next hop is a name: the core resolves it before forwarding statefully (each request
   * gets its own SRV weighted draw, from cached records). `groups` holds the name's last resolution while it is
   * cached, for what is forwarded at once (a stateless ACK or CANCEL), else nothing.
   */
  named?: NamedTarget;
}

export interface TargetSelectorOptions {
  myself: Myself;
  location: LocationService;
  routes: readonly StaticRoute[];
  /** Monotonic ms, the location service's clock. */
  now: () => number;
  /** Our digest realm, when we authenticate: its Proxy-Authorization values are ours to consume. */
  auth?: { readonly realm: string };
  /** How phones behind NAT are reached (src/server/nat.ts); `auto` when not set. */
  nat?: NatMode;
  /** Resolves next hops given by name (RFC 3263); without one, a name is not found. */
  resolver?: SipResolver;
  /** Whether a connection to this endpoint is open now (the transport layer's); none: never. */
  hasFlow?: (to: Endpoint) => boolean;
  /** Several pairs for one domain (src/cluster/): which other pair serves a user with no binding here. */
  directory?: RemoteDirectory;
}

/** The target set for one next hop: its groups, and the name to resolve when it is given by name. */
interface Hop {
  groups: Target[][];
  named?: NamedTarget;
}

export class TargetSelector {
  constructor(private readonly o: TargetSelectorOptions) {}

  select(request: SipRequest): Selection {
    const fwd = request.clone();
    // §22.3: "A Proxy-Authorization header field value applies only to the proxy whose realm is identified in the
    // "realm" parameter". Ours stop here (Kamailio's consume_credentials()), on every way out — the ACK for a 2xx
    // carries the INVITE's (§22.1) and an in-dialog request may carry cached ones — so no next hop gets material
    // for guessing our users' passwords; those of other realms go on.
    if (this.o.auth !== undefined) consumeCredentials(fwd.headers, this.o.auth.realm);
    const viaOurRoute = this.preprocessRoutes(fwd);
    const out = (kind: Selection['kind'], hop: Hop, leaves: boolean, aor?: string): Selection => {
      const selection: Selection = { kind, fwd, aor, groups: hop.groups, leaves, viaOurRoute };
      if (hop.named !== undefined) selection.named = hop.named;
      return selection;
    };
    // §16.6 step 7: "the proxy MUST apply the procedures to the first value in the Route header field, if
    // present, else the Request-URI."
    if (fwd.headers.has('route')) {
      return out('route', this.single(fwd.uri, fwd.nameAddrs('route')[0]?.uri), true);
    }
    const uri = fwd.requestUri;
    // A request to a registered phone's Contact (a call's BYE, re-INVITE or ACK towards it: its Contact became
    // the dialog's remote target) goes where that phone is reached, its flow when it is behind NAT.
    // (The Request-URI is already parsed: no second parse on the hot path.)
    const phone = uri instanceof SipUri ? this.o.location.byContactUri(uri, this.o.now()) : undefined;
    if (phone !== undefined) {
      const hop = this.bindingHop(phone);
      return out(
        'domain',
        {
          groups:
            hop === undefined ? [] : [[{ uri: fwd.uri, to: hop, routes: phone.path, registered: true }]],
        },
        false,
        phone.aor,
      );
    }
    if (!(uri instanceof SipUri) || !this.o.myself.isMyUri(uri)) {
      // "If the domain of the Request-URI indicates a domain this element is not responsible for, the
      // Request-URI MUST be placed into the target set as the only target". A static route may name the gateway.
      return out('remote', this.single(fwd.uri, staticRouteMatch(this.o.routes, uri)?.uri ?? uri), true);
    }
    if (uri.user === undefined) return out('server', { groups: [] }, false);
    // "When accessing the location service constructed by a registrar, the Request-URI MUST first be
    // canonicalized as described in Section 10.3 before being used as an index."
    const aor = aorKey(uri, this.o.myself);
    const groups = aor === undefined ? [] : this.bindingGroups(aor);
    const registering = request.method === 'REGISTER';
    if (groups.length > 0) {
      if (!registering) this.o.directory?.servedLocally();
      return out('domain', { groups }, false, aor);
    }
    // Registered through another pair of the domain: there, the Request-URI unchanged (it is that pair's user too).
    const pair = aor === undefined || registering ? undefined : this.o.directory?.route(aor, request);
    if (pair !== undefined)
      return out('domain', { groups: [[{ uri: fwd.uri, to: pair, routes: [] }]] }, false, aor);
    // No binding: a number of our domain may still have a gateway.
    const gateway = this.single(fwd.uri, staticRouteMatch(this.o.routes, uri)?.uri);
    return out('domain', gateway, gateway.named !== undefined || gateway.groups.length > 0, aor);
  }

  /**
   * "The Request-URI MUST be placed into the target set as the only target": one group of one when `hop` holds an
   * address; a name for the core to resolve when there is a resolver, with its last resolution while cached (a
   * stateless ACK or CANCEL then goes where its INVITE went, §16.11); else none. None: the core
   * answers 404, which covers it: "This status is also returned if the domain in the Request-URI does not match any
   * of the domains handled by the recipient of the request" (§21.4.5). Not 604, "authoritative information that
   * the user indicated in the Request-URI does not exist anywhere" (§21.6.3), which we do not have and which would
   * end the caller's forking everywhere (§16.7 step 5); not 503 either, since nothing was tried and nothing is known
   * to be down.
   */
  private single(uri: string, hop: Uri | undefined): Hop {
    const to = nextHop(hop);
    if (to !== undefined) return { groups: [[{ uri, to, routes: [] }]] };
    const { resolver } = this.o;
    if (!(hop instanceof SipUri) || resolver === undefined) return { groups: [] };
    const known = resolver.cached(hop);
    const named = { uri, hop };
    if (known === undefined) return { groups: [], named };
    return { groups: [[{ uri, to: known[0]!, routes: [], alternates: known.slice(1) }]], named };
  }

  /** §16.4, in place on the copy; whether a Route value of ours was consumed. */
  private preprocessRoutes(fwd: SipRequest): boolean {
    const ru = fwd.requestUri;
    const { myself } = this.o;
    let ours = false;
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
        ours = true;
      }
    }
    // "If the first value in the Route header field indicates this proxy, the proxy MUST remove that value from
    // the request."
    for (;;) {
      const top = fwd.nameAddrs('route')[0];
      if (top === undefined || !myself.isMyUri(top.uri)) return ours;
      fwd.headers.removeFirst('route');
      ours = true;
    }
  }

  /**
   * Where a request for a binding goes: its first Path hop (RFC 3327: the Path becomes the route to the contact),
   * else the flow it registered on when it is behind NAT (src/server/nat.ts), else its contact, else its flow.
   */
  private bindingHop(b: Binding): Endpoint | undefined {
    const path = b.path[0];
    if (path !== undefined) return nextHop(parseNameAddr(path)?.uri);
    const flow = b.received;
    // RFC 5626 §5.3 and RFC 7118 §5: an outbound client (instance-id and reg-id over a connection) and a
    // WebSocket client are reached over the connection they opened, and only over it: with that connection gone,
    // the request fails at once (480) instead of connecting somewhere the client cannot be reached.
    if (
      flow !== undefined &&
      (reachableOnlyByFlow(flow.transport) || (b.regId !== undefined && isReliable(flow.transport)))
    )
      return { ...flow, flowOnly: true };
    if (useFlow(b.contact, flow, this.o.nat ?? 'auto')) return flow;
    // RFC 5923's reasoning without its alias parameter: while the connection a phone registered over is open, its
    // requests go over it (a phone rarely accepts TCP or TLS connections, and over TLS could not prove its name).
    if (flow !== undefined && isReliable(flow.transport) && this.o.hasFlow?.(flow) === true) return flow;
    return nextHop(b.contact) ?? flow;
  }

  /** The live bindings (highest q first, as the location service orders them), grouped by q. */
  private bindingGroups(aor: string): Target[][] {
    const groups: Target[][] = [];
    let lastQ = -1;
    for (const b of this.o.location.lookup(aor, this.o.now())) {
      const to = this.bindingHop(b);
      if (to === undefined) continue;
      if (b.q !== lastQ) groups.push([]);
      lastQ = b.q;
      groups.at(-1)!.push({ uri: b.contact, to, routes: b.path, registered: true });
    }
    return groups;
  }
}
