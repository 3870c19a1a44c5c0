// Requests addressed to this server rather than forwarded: REGISTER (§10.3, with digest authentication, §22.2),
// OPTIONS to the server itself (§11.2) and any other method aimed at it, and the answer for an address-of-record of
// our domain with nowhere to go (§16.5). §16.1: "When responding directly to a request, the element is playing the
// role of a UAS and MUST behave as described in Section 8.2."
import { createResponse } from '../../sip/build.js';
import type { ServerTransaction } from '../../sip/transaction/index.js';
import { aorKey } from '../aor.js';
import { handleRegister } from '../registrar.js';
import type { ProxyEnv } from './env.js';
import { challenge } from './request-validation.js';

export const ALLOW =
  'INVITE, ACK, CANCEL, OPTIONS, BYE, REGISTER, REFER, NOTIFY, SUBSCRIBE, MESSAGE, INFO, UPDATE, PRACK';

export class LocalServices {
  /** Every AOR that ever registered here: once known, an unreachable one is 480, not 404. */
  private readonly knownAors = new Set<string>();

  constructor(private readonly env: ProxyEnv) {}

  /** §10.3, behind step 3: "A registrar SHOULD authenticate the UAC" (when users are configured). */
  register(server: ServerTransaction): void {
    const request = server.request;
    const { auth, myself } = this.env.o;
    const aor = aorKey(request.to?.uri, myself);
    if (auth !== undefined) {
      const result = auth.verify(request.headers.getFields('authorization'), request.method);
      if (!result.ok) {
        const refusal = challenge(request, auth, result, 401);
        if (refusal.failure) this.env.stats.authFailures++;
        this.env.respond(server, refusal.response);
        return;
      }
      // §10.3 step 4: "The registrar SHOULD determine if the authenticated user is authorized to modify
      // registrations for this address-of-record": alice may only register alice.
      if (aor === undefined || aor.slice(0, aor.lastIndexOf('@')) !== result.username) {
        this.env.stats.authFailures++;
        this.env.respond(server, createResponse(request, 403, 'Forbidden (Credentials Do Not Match AOR)'));
        return;
      }
    }
    const { location, registrar, now } = this.env.o;
    const outcome = handleRegister(request, server.source, location, myself, registrar, now());
    if (outcome.aor !== undefined && outcome.response.status === 200) {
      this.knownAors.add(outcome.aor);
      this.env.stats.registrations++;
    }
    // Acknowledged means replicated: a 200 that confirms a binding change leaves once the backup has it (bounded).
    // Meanwhile the server transaction stays in Trying and absorbs retransmissions of the REGISTER (§17.2.2).
    const wait = outcome.changed === true ? this.env.commitGate?.afterChange() : undefined;
    if (wait === undefined) this.env.respond(server, outcome.response);
    else this.env.whenCommitted(wait, () => this.env.respond(server, outcome.response));
  }

  /** A request to the server itself (a Request-URI without a user part), other than REGISTER. */
  answer(server: ServerTransaction): void {
    const request = server.request;
    const response =
      request.method === 'OPTIONS'
        ? // §11.2: "Allow, Accept, Accept-Encoding, Accept-Language, and Supported header fields SHOULD be present
          // in a 200 (OK) response to an OPTIONS request."
          withHeaders(createResponse(request, 200, 'OK'), [
            ['Allow', ALLOW],
            ['Accept', 'application/sdp'],
            ['Supported', 'path'],
          ])
        : // §8.2.1: "If a UAS recognizes but does not support the method of a request, it MUST generate a 405
          // (Method Not Allowed) response. [...] The UAS MUST also add an Allow header field". An INVITE to the
          // server itself finds nobody: 404.
          withHeaders(
            request.method === 'INVITE'
              ? createResponse(request, 404, 'Not Found')
              : createResponse(request, 405),
            [['Allow', ALLOW]],
          );
    this.env.respond(server, response);
  }

  /**
   * §16.5: "If the Request-URI indicates a resource at this proxy that does not exist, the proxy MUST return a 404
   * (Not Found) response. If the target set remains empty after applying all of the above, the proxy MUST return an
   * error response, which SHOULD be the 480 (Temporarily Unavailable) response." A resource exists when it has
   * registered here, has bindings (replicated from the other node) or is a configured user.
   */
  unavailable(server: ServerTransaction, aor: string | undefined): void {
    const user = aor?.slice(0, aor.lastIndexOf('@'));
    const known =
      aor !== undefined &&
      (this.knownAors.has(aor) ||
        this.env.o.location.hasAor(aor) ||
        this.env.o.directory?.knows(aor) === true ||
        (user !== undefined && this.env.o.auth?.hasUser(user) === true));
    const response = known
      ? createResponse(server.request, 480, 'Temporarily Unavailable')
      : createResponse(server.request, 404, 'Not Found');
    this.env.respond(server, response);
  }
}

function withHeaders<T extends { headers: { append(name: string, value: string): void } }>(
  message: T,
  headers: ReadonlyArray<[string, string]>,
): T {
  for (const [name, value] of headers) message.headers.append(name, value);
  return message;
}
