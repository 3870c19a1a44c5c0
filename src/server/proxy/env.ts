// What every part of the proxy shares: its options, its counters, the transaction layer and the transport below it,
// who it is on the wire, and the one way it answers a request itself (§16.1: "When responding directly to a
// request, the element is playing the role of a UAS and MUST behave as described in Section 8.2").
import type { SipResponse } from '../../sip/message.js';
import type { ServerTransaction } from '../../sip/transaction/index.js';
import type { TransactionLayer } from '../../sip/transaction/transaction-layer.js';
import type { Endpoint, MessageSender } from '../../sip/transport/types.js';
import type { CommitGate } from '../commit-gate.js';
import type { DialogStore } from '../dialogs.js';
import type { DigestAuthenticator } from '../digest-auth.js';
import type { LocationService } from '../location-service.js';
import type { Myself } from '../myself.js';
import type { NatMode } from '../nat.js';
import type { ShedOptions, ShedStats } from '../overload/shed.js';
import type { RegistrarPolicy } from '../registrar.js';
import type { RemoteDirectory } from '../remote-directory.js';
import type { StaticRoute } from '../static-routes.js';
import { type Advertise, ProxyIdentity } from './identity.js';
import type { InboundPolicy } from './relay-policy.js';

export interface ProxyOptions {
  myself: Myself;
  location: LocationService;
  dialogs: DialogStore;
  registrar: RegistrarPolicy;
  auth?: DigestAuthenticator;
  /** The relay policy's settings (`sip.auth`); default: strangers may reach our users, no trusted peers. */
  relay?: { inbound: InboundPolicy; trusted: readonly string[] };
  /** How phones behind NAT are reached (`sip.nat`, src/server/nat.ts). */
  nat?: NatMode;
  routes: StaticRoute[];
  /** Our own SIP address per transport (the VIP in HA mode) for Via and Record-Route. */
  advertise: Advertise;
  /** Monotonic ms. */
  now: () => number;
  /** Overload control (`sip.overload`, src/server/overload/); without it every request is admitted. */
  overload?: ShedOptions;
  /** Whether a connection to an endpoint is open now (phones registered over TCP, TLS, WebSocket are reached by it). */
  hasFlow?: (to: Endpoint) => boolean;
  /** Several pairs for one domain (src/cluster/): which other pair serves a user with no binding here. */
  directory?: RemoteDirectory;
}

export interface ProxyStats extends ShedStats {
  responsesSentByStatus: Record<string, number>;
  forwarded: number;
  strayResponsesForwarded: number;
  strayResponsesDropped: number;
  statelessCancels: number;
  acksForwarded: number;
  loopsDetected: number;
  authFailures: number;
  registrations: number;
}

export class ProxyEnv {
  readonly stats: ProxyStats = {
    responsesSentByStatus: {},
    forwarded: 0,
    strayResponsesForwarded: 0,
    strayResponsesDropped: 0,
    statelessCancels: 0,
    acksForwarded: 0,
    loopsDetected: 0,
    authFailures: 0,
    registrations: 0,
    overloadRejectedByMethod: {},
    overloadAcksDropped: 0,
  };
  readonly identity: ProxyIdentity;
  /** Called for every request answered or forwarded (the HA node times "first SIP request served" with it). */
  onServed: (method: string) => void = () => {};
  /** Where a response that confirms a change may have to wait for it to be replicated (HA); none: never waits. */
  commitGate: CommitGate | undefined;
  /** What went wrong outside any caller's stack (a held response sent later); the SIP server logs it. */
  onError: (err: unknown) => void = () => {};

  constructor(
    readonly sender: MessageSender,
    readonly transactions: TransactionLayer,
    readonly o: ProxyOptions,
  ) {
    this.identity = new ProxyIdentity(o.advertise, o.myself);
  }

  /** Our own response on a server transaction; counted only when the transaction takes it. */
  respond(server: ServerTransaction, response: SipResponse): void {
    if (!server.respond(response)) return;
    this.countResponse(response.status);
    if (response.status >= 200) this.onServed(server.method);
  }

  /** Runs `send` once the commit gate's wait is over; a throw there is reported, not left unhandled. */
  whenCommitted(wait: Promise<void>, send: () => void): void {
    wait.then(send).catch(this.onError);
  }

  countResponse(status: number): void {
    const k = String(status);
    this.stats.responsesSentByStatus[k] = (this.stats.responsesSentByStatus[k] ?? 0) + 1;
  }
}
