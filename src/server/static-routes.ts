// Static routes to gateways (`sip.routes`): the first pattern that matches the Request-URI's user part (or a tel
// URI's number) sends the request to that gateway.
import type { Endpoint } from '../sip/transport/types.js';
import { parseUri, SipUri, TelUri, type Uri } from '../sip/uri.js';
import { nextHop } from './next-hop.js';

export interface StaticRoute {
  match: RegExp;
  to: Endpoint;
  /** As configured, for status output. */
  text: string;
}

export function compileRoutes(routes: ReadonlyArray<{ match: string; to: string }>): StaticRoute[] {
  return routes.map((r, i) => {
    const to = nextHop(parseUri(r.to));
    if (to === undefined) throw new Error(`sip.routes[${i}].to: must be a sip: URI with an IP address`);
    return { match: new RegExp(r.match), to, text: `${r.match} → ${r.to}` };
  });
}

export function staticRouteFor(routes: readonly StaticRoute[], uri: Uri | undefined): Endpoint | undefined {
  const subject = uri instanceof SipUri ? uri.userText : uri instanceof TelUri ? uri.number : undefined;
  if (subject === undefined) return undefined;
  return routes.find((r) => r.match.test(subject))?.to;
}
