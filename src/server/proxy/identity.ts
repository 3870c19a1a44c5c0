// Who this proxy is on the wire: the address it advertises per transport (the VIP in HA mode) in the Via it adds
// (§16.6 step 8) and in its Record-Route (§16.6 step 4), and the test for a Via it placed itself (§16.3 step 4,
// §16.11).
import { formatHostPort } from '../../net/address.js';
import type { TransportProtocol } from '../../sip/transport/types.js';
import type { Myself } from '../myself.js';

export interface AdvertisedAddress {
  /** A name or an address, IPv6 without brackets (they are added where it is written). */
  host: string;
  port: number;
}

export type Advertise = Partial<Record<TransportProtocol, AdvertisedAddress>>;

export class ProxyIdentity {
  constructor(
    private readonly advertise: Advertise,
    private readonly myself: Myself,
  ) {}

  /**
   * §16.6 step 8: "The proxy MUST insert a Via header field value into the copy before the existing Via header
   * field values. The construction of this value follows the same guidelines of Section 8.1.1.7." With rport
   * (RFC 3581), so a next hop behind NAT answers where the request came from. Undefined when we have no address.
   */
  viaFor(transport: TransportProtocol, branch: string): string | undefined {
    const a = this.addressFor(transport);
    if (a === undefined) return undefined;
    return `SIP/2.0/${transport.toUpperCase()} ${formatHostPort(a)};branch=${branch};rport`;
  }

  /**
   * §16.6 step 4: "The URI placed in the Record-Route header field value MUST be a SIP or SIPS URI. This URI MUST
   * contain an lr parameter". The transport parameter names how the next hop reached us.
   */
  recordRouteFor(transport: TransportProtocol): string | undefined {
    const a = this.addressFor(transport);
    if (a === undefined) return undefined;
    return `<sip:${formatHostPort(a)}${transport === 'tcp' ? ';transport=tcp' : ''};lr>`;
  }

  /**
   * A Via sent-by "that equals a value placed into previous requests by the proxy" (§16.3 step 4): our advertised
   * address (the shared VIP, so the other node's Vias count after a takeover) or one of our own.
   */
  isOurVia(host: string, port: number | undefined): boolean {
    const h = host.toLowerCase();
    for (const a of Object.values(this.advertise)) {
      if (a !== undefined && a.host.toLowerCase() === h && (port ?? 5060) === a.port) return true;
    }
    return this.myself.isMyHost(host, port);
  }

  /** Our address for a request leaving over `transport`: that transport's, else any we have (UDP first). */
  private addressFor(transport: TransportProtocol): AdvertisedAddress | undefined {
    return this.advertise[transport] ?? this.advertise.udp ?? this.advertise.tcp;
  }
}
