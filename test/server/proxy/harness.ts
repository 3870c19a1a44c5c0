// A proxy core on a fake clock: a recording sender below a real transaction layer, a location service and our
// domain example.test on 198.51.100.10:5060. Requests go in through the transaction layer, as the transport
// hands them over.
import { DialogStore } from '../../../src/server/dialogs.js';
import type { DigestAuthenticator } from '../../../src/server/digest-auth.js';
import { type Binding, LocationService } from '../../../src/server/location-service.js';
import { Myself } from '../../../src/server/myself.js';
import type { NatMode } from '../../../src/server/nat.js';
import type { ShedOptions } from '../../../src/server/overload/shed.js';
import type { Advertise } from '../../../src/server/proxy/identity.js';
import { ProxyCore } from '../../../src/server/proxy/proxy-core.js';
import type { StaticRoute } from '../../../src/server/static-routes.js';
import type { SipRequest, SipResponse } from '../../../src/sip/message.js';
import { TransactionLayer } from '../../../src/sip/transaction/transaction-layer.js';
import type { Source } from '../../../src/sip/transport/types.js';
import { FakeClock } from '../../../src/time/clock.js';
import { RecordingSender, UDP_SOURCE } from '../../sip/transaction/helpers.js';

export const OUR_UDP: Advertise = { udp: { host: '198.51.100.10', port: 5060 } };

export interface HarnessOptions {
  advertise?: Advertise;
  routes?: StaticRoute[];
  /** Digest authentication (a users file) and the relay policy's settings. */
  auth?: DigestAuthenticator;
  inbound?: 'allow' | 'challenge';
  trusted?: string[];
  /** The fixtures' contacts are private addresses registered from public ones; NAT handling is off unless asked. */
  nat?: NatMode;
  /** Overload control (src/server/overload/); off unless asked. */
  overload?: ShedOptions;
}

export function proxyHarness(o: HarnessOptions = {}) {
  const clock = new FakeClock();
  const sender = new RecordingSender(clock);
  const layer = new TransactionLayer({ sender, clock });
  const location = new LocationService();
  const proxy = new ProxyCore(sender, layer, {
    myself: new Myself('example.test', [{ address: '198.51.100.10', port: 5060 }]),
    location,
    dialogs: new DialogStore(),
    registrar: { minExpires: 60, maxExpires: 3600, defaultExpires: 1800 },
    ...(o.auth === undefined ? {} : { auth: o.auth }),
    relay: { inbound: o.inbound ?? 'allow', trusted: o.trusted ?? [] },
    routes: o.routes ?? [],
    nat: o.nat ?? 'never',
    advertise: o.advertise ?? OUR_UDP,
    now: () => clock.now(),
    ...(o.overload === undefined ? {} : { overload: o.overload }),
  });
  layer.core = proxy;
  return {
    clock,
    sender,
    layer,
    location,
    proxy,
    receive: (request: SipRequest, source: Source = UDP_SOURCE) => layer.receiveRequest(request, source),
    /** The requests sent downstream with this method, and where to. */
    sent: (method: string) =>
      sender.requests(method).map((s) => ({ request: s.message as SipRequest, to: s.to })),
    /** The statuses of our responses upstream. */
    answered: () => sender.responses().map((s) => (s.message as SipResponse).status),
  };
}

/** bob's phone at 10.0.0.7:5062, registered through the edge proxy 203.0.113.20:5070 (Path, RFC 3327). */
export function bobBehindEdge(expiresAt = 3_600_000): Binding {
  return {
    aor: 'bob@example.test',
    contact: 'sip:bob@10.0.0.7:5062',
    q: 1000,
    expiresAt,
    callId: 'reg-bob',
    cseq: 1,
    path: ['<sip:203.0.113.20:5070;lr>'],
    received: { transport: 'udp', address: '203.0.113.20', port: 5070 },
    updatedAt: 0,
  };
}
