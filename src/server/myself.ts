// "Our domain" (Kamailio's `myself`): the configured SIP domain plus every address the server listens on.

import { hostRef } from '../net/address.js';
import type { Uri } from '../sip/uri.js';

export class Myself {
  private readonly domains: Set<string>;
  private readonly addresses: Array<{ host: string; port: number }>;

  constructor(domain: string | undefined, listen: ReadonlyArray<{ address: string; port: number }>) {
    this.domains = new Set(domain === undefined ? [] : [domain.toLowerCase()]);
    this.addresses = listen.map((l) => ({ host: l.address.toLowerCase(), port: l.port }));
  }

  /** The canonical domain for AORs: the configured domain, else the first listen address. */
  get canonicalDomain(): string {
    const [first] = this.domains;
    if (first !== undefined) return first;
    const a = this.addresses[0];
    return a === undefined ? 'localhost' : hostRef(a.host);
  }

  /** Whether host[:port] names us: the domain (any port) or a listen address with its port (5060 when omitted). */
  isMyHost(host: string, port: number | undefined): boolean {
    const h = host.toLowerCase();
    if (this.domains.has(h)) return true;
    const p = port ?? 5060;
    return this.addresses.some((a) => a.host === h && a.port === p);
  }

  isMyUri(uri: Uri | undefined): boolean {
    return uri !== undefined && uri.scheme !== 'tel' && 'host' in uri && this.isMyHost(uri.host, uri.port);
  }
}
