// Who this proxy is on the wire: the address it advertises per transport and address family (the VIP in HA mode) in
// the Via it adds (§16.6 step 8) and in its Record-Route (§16.6 step 4, with RFC 5658 double Record-Route), and the
// test for a Via it placed itself (§16.3 step 4, §16.11).
import { isIP } from 'node:net';
import { formatHostPort } from '../../net/address.js';
import type { TransportProtocol } from '../../sip/transport/types.js';
import type { Myself } from '../myself.js';

export interface AdvertisedAddress {
  /** A name or an address, IPv6 without brackets (they are added where it is written). */
  host: string;
  port: number;
}

/** One of our listen points as we name it. */
export interface AdvertisedPoint extends AdvertisedAddress {
  transport: TransportProtocol;
}

/** Our address per transport; `all` lists every listen point, for the address family of each side (RFC 5658). */
export type Advertise = Partial<Record<TransportProtocol, AdvertisedAddress>> & {
  all?: readonly AdvertisedPoint[];
};

/** A side of the proxy: how a request reached us, or how it leaves (RFC 5658 §1: "incoming and outgoing interfaces"). */
export interface Side {
  transport: TransportProtocol;
  family: 4 | 6;
}

export class ProxyIdentity {
  constructor(
    private readonly advertise: Advertise,
    private readonly myself: Myself,
  ) {}

  /** Whether we have an address for `transport` (§18.1.1: only then may a large request move to TCP). */
  listensOn(transport: TransportProtocol): boolean {
    return this.advertise[transport] !== undefined;
  }

  /**
   * §16.6 step 8: "The proxy MUST insert a Via header field value into the copy before the existing Via header
   * field values. The construction of this value follows the same guidelines of Section 8.1.1.7." With rport
   * (RFC 3581), so a next hop behind NAT answers where the request came from. Undefined when we have no address.
   */
  viaFor(side: Side, branch: string): string | undefined {
    const a = this.addressFor(side);
    if (a === undefined) return undefined;
    return `SIP/2.0/${side.transport.toUpperCase()} ${formatHostPort(a)};branch=${branch};rport`;
  }

  /**
   * §16.6 step 4: "The URI placed in the Record-Route header field value MUST be a SIP or SIPS URI. This URI MUST
   * contain an lr parameter". The transport parameter names how the next hop reaches us.
   *
   * RFC 5658 (double Record-Route): one URI cannot name both sides of a proxy that changes transport or address
   * family on the way through, so it then records two, top first: ours on the side the request leaves by (the
   * callee's route set starts there), then ours on the side it came in by (the caller's route set, reversed,
   * starts there). Each side sends its in-dialog requests to the address it can reach, and we remove both when
   * they come back as Route values (§16.4). Undefined when we have no address.
   */
  recordRoutes(outgoing: Side, incoming: Side | undefined): string[] | undefined {
    const out = this.recordRouteFor(outgoing);
    if (out === undefined) return undefined;
    const back = incoming === undefined ? undefined : this.recordRouteFor(incoming);
    return back === undefined || back === out ? [out] : [out, back];
  }

  /**
   * A Via sent-by "that equals a value placed into previous requests by the proxy" (§16.3 step 4): our advertised
   * address (the shared VIP, so the other node's Vias count after a takeover) or one of our own.
   */
  isOurVia(host: string, port: number | undefined): boolean {
    const h = host.toLowerCase();
    const p = port ?? 5060;
    const { udp, tcp, all = [] } = this.advertise;
    for (const a of [udp, tcp, this.advertise.tls, this.advertise.ws, this.advertise.wss, ...all]) {
      if (a !== undefined && a.host.toLowerCase() === h && p === a.port) return true;
    }
    return this.myself.isMyHost(host, port);
  }

  private recordRouteFor(side: Side): string | undefined {
    const a = this.addressFor(side);
    if (a === undefined) return undefined;
    // The transport parameter names how the next hop reaches us on that side; over TLS, a `sip:` URI with
    // transport=tls (RFC 5630 §3.1.2: sips: would demand TLS on every hop after us, which we cannot promise).
    return `<sip:${formatHostPort(a)}${side.transport === 'udp' ? '' : `;transport=${side.transport}`};lr>`;
  }

  /**
   * Our address on a side: a listen point of that transport and family, else that transport's, else any we have
   * (UDP first).
   */
  private addressFor(side: Side): AdvertisedAddress | undefined {
    const exact = this.advertise.all?.find(
      (p) => p.transport === side.transport && familyMatches(p.host, side.family),
    );
    return exact ?? this.advertise[side.transport] ?? this.advertise.udp ?? this.advertise.tcp;
  }
}

/** A name fits either family; an address only its own. */
function familyMatches(host: string, family: 4 | 6): boolean {
  const f = isIP(host);
  return f === 0 || f === family;
}
