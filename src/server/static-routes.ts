// Static routes to gateways (`sip.routes`): the first pattern that matches the Request-URI's user part (or a tel
// URI's number) sends the request to that gateway. A gateway given by name is resolved per request (RFC 3263,
// src/server/resolver/), its answers cached for their TTL.
import type { Endpoint } from '../sip/transport/types.js';
import { parseUri, SipUri, TelUri, type Uri } from '../sip/uri.js';
import { nextHop } from './next-hop.js';

export interface StaticRoute {
  match: RegExp;
  /** The gateway's URI. */
  uri: SipUri;
  /** Where it is when the URI holds an IP address; undefined for a name to resolve. */
  to: Endpoint | undefined;
  /** As configured, for status output. */
  text: string;
}

export function compileRoutes(routes: ReadonlyArray<{ match: string; to: string }>): StaticRoute[] {
  return routes.map((r, i) => {
    const uri = parseUri(r.to);
    if (!(uri instanceof SipUri)) throw new Error(`sip.routes[${i}].to: must be a sip: or sips: URI`);
    return { match: new RegExp(r.match), uri, to: nextHop(uri), text: `${r.match} → ${r.to}` };
  });
}

/** The first route whose pattern matches the Request-URI's user part (or a tel URI's number). */
export function staticRouteMatch(
  routes: readonly StaticRoute[],
  uri: Uri | undefined,
): StaticRoute | undefined {
  const subject = uri instanceof SipUri ? uri.userText : uri instanceof TelUri ? uri.number : undefined;
  if (subject === undefined) return undefined;
  return routes.find((r) => r.match.test(subject));
}

/** Where that route's gateway is, when it is given by address. */
export function staticRouteFor(routes: readonly StaticRoute[], uri: Uri | undefined): Endpoint | undefined {
  return staticRouteMatch(routes, uri)?.to;
}
