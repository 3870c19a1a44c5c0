// Who may have a request proxied, and who must prove who they are first: the decision of §16.3 step 6 ("If an
// element requires credentials before forwarding a request, the request MUST be inspected as described in Section
// 22.3"), as a pure function of facts about the request. Kamailio's default configuration (kamailio.cfg, route[AUTH]
// and route[WITHINDLG]) is the model: `is_myself` on the From and the Request-URI, `auth_check` on every
// out-of-dialog request that claims a From of our domain, relaying out of the domain only for authenticated users,
// and `allow_source_address()` for trusted peers.

export type RelayDecision = 'allow' | 'challenge' | 'forbid';

/**
 * Where the request goes. `server`: the server itself (a Request-URI without a user part: OPTIONS keepalives, 405
 * for other methods) — nothing is delivered or relayed. `local`: a user of our domain at a binding (or nowhere: 404
 * or 480). `leaving`: out of the domain — a static route to a gateway, a foreign Request-URI or a foreign Route.
 */
export type Destination = 'server' | 'local' | 'leaving';

export interface RelayFacts {
  method: string;
  /** It has a To tag and came through a Route of ours (our Record-Route): a request within a dialog we are on. */
  inDialog: boolean;
  /** The From URI names our domain (Kamailio's `from_uri==myself`). */
  fromOurs: boolean;
  /** The From URI's user part, when it has one. */
  fromUser: string | undefined;
  destination: Destination;
  /** The request came from a trusted peer's address (`sip.auth.trusted`). */
  trustedSource: boolean;
  /** The user whose credentials for our realm verified, if any. */
  authenticatedUser: string | undefined;
}

export interface RelayPolicy {
  /** A users file is configured; without one the server is open and every request is allowed. */
  authentication: boolean;
  /** `sip.auth.inbound`: what strangers (a From not of our domain) need to reach our users. */
  inbound: InboundPolicy;
}

export type InboundPolicy = 'allow' | 'challenge';

/**
 * The decision, in this order:
 *
 * | facts                                                          | decision                       |
 * |----------------------------------------------------------------|--------------------------------|
 * | no users file                                                  | allow (an open server)         |
 * | ACK or CANCEL                                                  | allow (they follow the INVITE) |
 * | REGISTER for our domain                                        | allow (the registrar's 401)    |
 * | in dialog (To tag and our Route)                               | allow                          |
 * | for the server itself                                          | allow                          |
 * | from a trusted peer                                            | allow                          |
 * | From not ours, to a local user, inbound: allow                 | allow                          |
 * | anything else without valid credentials                        | challenge (407)                |
 * | From ours, credentials of another user                         | forbid (403)                   |
 * | valid credentials (and the From's own when the From is ours)   | allow                          |
 */
export function relayDecision(f: RelayFacts, policy: RelayPolicy): RelayDecision {
  if (!policy.authentication) return 'allow';
  // §22.1: "Servers MUST NOT attempt to challenge an ACK" and "servers MUST NOT attempt to challenge CANCEL
  // requests since these requests cannot be resubmitted."
  if (f.method === 'ACK' || f.method === 'CANCEL') return 'allow';
  if (f.method === 'REGISTER' && f.destination !== 'leaving') return 'allow';
  // Kamailio's route[WITHINDLG]: a request with a To tag is relayed when `loose_route()` finds a Route of ours —
  // it follows the route set our Record-Route put into the dialog (§12.2.1.1, §16.12). A To tag alone proves
  // nothing: without our Route the request is judged as out of dialog here (Kamailio answers it 404 "Not here").
  if (f.inDialog) return 'allow';
  // Kamailio's route[REQINIT] answers keepalive OPTIONS to the server before authentication.
  if (f.destination === 'server') return 'allow';
  // Kamailio's WITH_IPAUTH: `allow_source_address()` lets gateways and SBCs through without a challenge.
  if (f.trustedSource) return 'allow';
  // Kamailio's route[AUTH]: "if caller is not local subscriber, then check if it calls a local destination,
  // otherwise deny, not an open relay here". Strangers may reach our users; everything else authenticates.
  if (!f.fromOurs && f.destination === 'local' && policy.inbound === 'allow') return 'allow';
  if (f.authenticatedUser === undefined) return 'challenge';
  // `auth_check(..., 1)`: the authenticated user must be the From user of our domain, so alice cannot send as bob.
  if (f.fromOurs && f.authenticatedUser !== f.fromUser) return 'forbid';
  return 'allow';
}
