// Locating SIP servers (RFC 3263), the pure part: what a URI asks to be looked up (§4.1 transport, §4.2 port and
// address), how NAPTR records are filtered and ordered (§4.1, RFC 3403) and how SRV records are ordered by priority
// and weight (RFC 2782). No I/O here: resolver.ts asks the DNS and feeds the answers through these functions.
import { isIP } from 'node:net';
import type { Endpoint, TransportProtocol } from '../../sip/transport/types.js';
import type { SipUri } from '../../sip/uri.js';
import { uriTransport } from '../next-hop.js';

/** A NAPTR record as node:dns gives it. */
export interface NaptrRecord {
  flags: string;
  service: string;
  regexp: string;
  replacement: string;
  order: number;
  preference: number;
}

/** An SRV record as node:dns gives it. */
export interface SrvRecord {
  name: string;
  port: number;
  priority: number;
  weight: number;
}

/** An SRV owner name to query and the transport its targets speak. */
export interface SrvQuery {
  name: string;
  transport: TransportProtocol;
}

/** What to look up for a URI. */
export type Plan =
  /** §4.1/§4.2: "If TARGET is a numeric IP address", no lookup at all. */
  | { kind: 'literal'; endpoint: Endpoint }
  /** §4.2: "If the TARGET was not a numeric IP address, but a port is present in the URI", A/AAAA only. */
  | { kind: 'address'; host: string; port: number; transport: TransportProtocol }
  /**
   * SRV for these names in order, the first with records wins; none: A/AAAA of `host` on `port` over `transport`.
   * `naptr`: ask NAPTR first (§4.1: no transport parameter, no port, not numeric).
   */
  | {
      kind: 'srv';
      host: string;
      secure: boolean;
      naptr: boolean;
      srv: SrvQuery[];
      fallback: { port: number; transport: TransportProtocol };
    };

/** The transport of a URI, as next-hop.ts reads it (TLS for a SIPS URI). */
const transportOf = uriTransport;

/** `_sip._udp`, `_sip._tcp` or `_sips._tcp` (§4.2: "_sips" for a SIPS URI, whose TLS runs over TCP). */
export function srvName(host: string, transport: TransportProtocol, secure: boolean): string {
  return `${secure ? '_sips' : '_sip'}._${transport === 'udp' ? 'udp' : 'tcp'}.${host}`;
}

export function planFor(uri: SipUri): Plan {
  const maddr = uri.params.get('maddr');
  // §4.1: "If the URI contains an maddr parameter, TARGET is set to the value of the maddr parameter".
  const host = typeof maddr === 'string' && maddr !== '' ? maddr : uri.host;
  const secure = uri.scheme === 'sips';
  const defaultPort = secure ? 5061 : 5060;
  const transport = transportOf(uri);
  if (isIP(host) !== 0)
    return { kind: 'literal', endpoint: { transport, address: host, port: uri.port ?? defaultPort } };
  // §4.1: "if no transport protocol is specified, but the TARGET is not numeric, but has an explicit port, the
  // client SHOULD use UDP for a SIP URI, and TCP for a SIPS URI" — transportOf says just that.
  if (uri.port !== undefined) return { kind: 'address', host, port: uri.port, transport };
  const fallback = { port: defaultPort, transport };
  // §4.2: "If the TARGET was not a numeric IP address, and no port was present in the URI, the client performs an
  // SRV query on the record returned from the NAPTR processing of Section 4.1, if such processing was performed.
  // If it was not, because a transport was specified explicitly, the client performs an SRV query for that
  // specific transport".
  if (uri.transport !== undefined)
    return {
      kind: 'srv',
      host,
      secure,
      naptr: false,
      srv: [{ name: srvName(host, transport, secure), transport }],
      fallback,
    };
  // §4.1: "If no NAPTR records are found, the client constructs SRV queries for those transport protocols it
  // supports, and does a query for each." A SIPS URI only over TLS.
  const srv: SrvQuery[] = secure
    ? [{ name: srvName(host, 'tls', true), transport: 'tls' }]
    : [
        { name: srvName(host, 'udp', false), transport: 'udp' },
        { name: srvName(host, 'tcp', false), transport: 'tcp' },
      ];
  return { kind: 'srv', host, secure, naptr: true, srv, fallback };
}

/** NAPTR services we can use (RFC 3263 §4.1, RFC 3261 §26.2 registered them), by transport. */
const SERVICES: Record<string, SrvQuery['transport']> = {
  'SIP+D2U': 'udp',
  'SIP+D2T': 'tcp',
  'SIPS+D2T': 'tls',
};

/**
 * §4.1: the NAPTR records whose flag is "s" and whose service we support, in order then preference ("the client
 * MUST discard any service fields that identify a resolution service whose value is not "D2X""); for a SIPS URI
 * only SIPS+D2T ("If a SIPS URI is to be resolved, the client MUST discard any NAPTR records whose service is not
 * SIPS+D2T"). For a SIP URI, SIPS+D2T is left out too: it would upgrade a sip: target to TLS unasked.
 */
export function orderNaptr(records: readonly NaptrRecord[], secure: boolean): SrvQuery[] {
  return records
    .filter((r) => r.flags.toLowerCase() === 's' && r.replacement !== '')
    .filter((r) => {
      const service = r.service.toUpperCase();
      return SERVICES[service] !== undefined && service.startsWith('SIPS+') === secure;
    })
    .sort((a, b) => a.order - b.order || a.preference - b.preference)
    .map((r) => ({ name: r.replacement, transport: SERVICES[r.service.toUpperCase()]! }));
}

/**
 * RFC 2782 "Usage rules": lowest priority first; within one priority, "arrange all SRV RRs (that have not been
 * ordered yet) in any order, except that all those with weight 0 are placed at the beginning of the list. Compute
 * the sum of the weights [...] choose a uniform random number between 0 and the sum computed (inclusive), and
 * select the RR whose running sum value is the first in the selected order which is greater than or equal to the
 * random number selected." `random` returns [0, 1). A single record with target "." means "the service is
 * decidedly not available at this domain": none.
 */
export function orderSrv(records: readonly SrvRecord[], random: () => number = Math.random): SrvRecord[] {
  if (records.length === 1 && (records[0]!.name === '.' || records[0]!.name === '')) return [];
  const priorities = [...new Set(records.map((r) => r.priority))].sort((a, b) => a - b);
  const out: SrvRecord[] = [];
  for (const p of priorities) {
    const left = records
      .filter((r) => r.priority === p)
      .sort((a, b) => Number(a.weight !== 0) - Number(b.weight !== 0));
    while (left.length > 0) {
      const total = left.reduce((s, r) => s + r.weight, 0);
      const pick = Math.min(total, Math.floor(random() * (total + 1)));
      let running = 0;
      const i = left.findIndex((r) => {
        running += r.weight;
        return running >= pick;
      });
      out.push(...left.splice(Math.max(i, 0), 1));
    }
  }
  return out;
}
