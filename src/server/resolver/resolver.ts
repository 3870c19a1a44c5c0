// RFC 3263 resolution over node:dns: NAPTR → SRV → A/AAAA as rfc3263.ts plans it, answers cached for their TTL
// (dns-cache.ts). Asynchronous all the way (`dns.promises.Resolver`, c-ares): the event loop never waits on the
// DNS, and every query is bounded by `timeout` × `tries`.
import { Resolver } from 'node:dns/promises';
import { errorCode } from '../../net/errors.js';
import type { Endpoint } from '../../sip/transport/types.js';
import type { SipUri } from '../../sip/uri.js';
import { DnsCache } from './dns-cache.js';
import { type NaptrRecord, orderNaptr, orderSrv, planFor, type SrvQuery, type SrvRecord } from './rfc3263.js';

/** The part of `dns.promises.Resolver` we use, injectable for tests. */
export interface DnsBackend {
  resolveNaptr(name: string): Promise<NaptrRecord[]>;
  resolveSrv(name: string): Promise<SrvRecord[]>;
  resolve4(name: string, o: { ttl: true }): Promise<Array<{ address: string; ttl: number }>>;
  resolve6(name: string, o: { ttl: true }): Promise<Array<{ address: string; ttl: number }>>;
}

export interface ResolverOptions {
  /** `sip.dns.servers`: ADDR[:PORT] each; none, the system's (/etc/resolv.conf). */
  servers?: readonly string[];
  timeoutMs: number;
  tries: number;
  /** How long "no such name / no such record" is believed (RFC 2308); node:dns gives no SOA minimum. */
  negativeTtlMs: number;
  /** How long NAPTR and SRV answers are kept: node:dns gives their TTL to nobody (A/AAAA keep their own). */
  recordTtlMs: number;
  /** Monotonic ms. */
  now: () => number;
  random?: () => number;
  backend?: DnsBackend;
}

/**
 * `ok`: the endpoints to try in order (§4.3: on failure, the next). `not-found`: the name has no usable record.
 * `failed`: the DNS itself failed (SERVFAIL, timeout, refused) and nothing was found.
 */
export type Resolution =
  | { kind: 'ok'; endpoints: Endpoint[] }
  | { kind: 'not-found' }
  | { kind: 'failed'; detail: string };

/** An answer: records, or none (a negative answer), or the DNS failed to give one; `ttlMs`: how long it holds. */
type Answer<T> = { records: T[]; ttlMs: number; failed?: string };

/** "No such name" and "no such record": the name's owner said so (RFC 2308), an answer worth caching. */
const NEGATIVE = new Set(['ENOTFOUND', 'ENODATA', 'NOTFOUND', 'NODATA']);

export class SipResolver {
  /** DNS queries sent (cache misses), for status and tests. */
  queries = 0;
  private readonly backend: DnsBackend;
  private readonly answers: DnsCache<{ records: unknown[] }>;
  /** The last resolution of each URI target, for stateless ACK and CANCEL (§16.11: "the same choice"). */
  private readonly last: DnsCache<Endpoint[]>;
  private readonly inflight = new Map<string, Promise<Answer<unknown>>>();

  constructor(private readonly o: ResolverOptions) {
    this.answers = new DnsCache(o.now);
    this.last = new DnsCache(o.now);
    if (o.backend !== undefined) this.backend = o.backend;
    else {
      const r = new Resolver({ timeout: o.timeoutMs, tries: o.tries });
      if (o.servers !== undefined && o.servers.length > 0) r.setServers([...o.servers]);
      this.backend = r;
    }
  }

  /** What the last resolution of this URI found, while its answers live; undefined otherwise. No query. */
  cached(uri: SipUri): Endpoint[] | undefined {
    return this.last.get(keyOf(uri));
  }

  async resolve(uri: SipUri): Promise<Resolution> {
    const plan = planFor(uri);
    if (plan.kind === 'literal') return { kind: 'ok', endpoints: [plan.endpoint] };
    let failed: string | undefined;
    // The resolution holds as long as the shortest-lived answer it used.
    let ttlMs = Number.POSITIVE_INFINITY;
    const note = <T>(a: Answer<T>): T[] => {
      failed ??= a.failed;
      if (a.records.length > 0) ttlMs = Math.min(ttlMs, a.ttlMs);
      return a.records;
    };
    let endpoints: Endpoint[] = [];
    if (plan.kind === 'address') {
      endpoints = await this.addresses(plan.host, plan.port, plan.transport, note);
    } else {
      // §4.1: NAPTR first; its records name the SRV owners to query. None usable: the SRV names of each transport.
      const naptr = plan.naptr ? orderNaptr(note(await this.lookup('NAPTR', plan.host)), plan.secure) : [];
      const queries: SrvQuery[] = naptr.length > 0 ? naptr : plan.srv;
      for (const q of queries) {
        // §4.2 for SRV: "the client SHOULD try them in the order specified by the RFC 2782 procedures".
        const srv = orderSrv(note(await this.lookup<SrvRecord>('SRV', q.name)), this.o.random);
        for (const s of srv) endpoints.push(...(await this.addresses(s.name, s.port, q.transport, note)));
        // §4.1: the first transport whose SRV query gives records is the one used.
        if (endpoints.length > 0) break;
      }
      // §4.2: "If no SRV records were found, the client performs an A or AAAA record lookup of the domain name. The
      // result will be a list of IP addresses, each of which can be contacted using the transport protocol
      // determined previously, at the default port for that transport."
      if (endpoints.length === 0 && naptr.length === 0)
        endpoints = await this.addresses(plan.host, plan.fallback.port, plan.fallback.transport, note);
    }
    if (endpoints.length > 0) {
      this.last.set(keyOf(uri), endpoints, Math.min(ttlMs, this.o.recordTtlMs));
      return { kind: 'ok', endpoints };
    }
    return failed === undefined ? { kind: 'not-found' } : { kind: 'failed', detail: failed };
  }

  /** A, then AAAA, of `host`: each address on `port`. */
  private async addresses(
    host: string,
    port: number,
    transport: Endpoint['transport'],
    note: <T>(a: Answer<T>) => T[],
  ): Promise<Endpoint[]> {
    const a = note(await this.lookup<{ address: string }>('A', host));
    const aaaa = note(await this.lookup<{ address: string }>('AAAA', host));
    return [...a, ...aaaa].map((r) => ({ transport, address: r.address, port }));
  }

  /** From the cache, else from the query already asked for the same record, else from a new query. */
  private lookup<T>(type: 'NAPTR' | 'SRV' | 'A' | 'AAAA', name: string): Promise<Answer<T>> {
    const key = `${type} ${name.toLowerCase()}`;
    const hit = this.answers.lookup(key);
    if (hit !== undefined) return Promise.resolve({ records: hit.value.records as T[], ttlMs: hit.ttlMs });
    // A burst of calls to a cold name asks the DNS once.
    let asked = this.inflight.get(key);
    if (asked === undefined) {
      asked = this.ask(type, name, key).finally(() => this.inflight.delete(key));
      this.inflight.set(key, asked);
    }
    return asked as Promise<Answer<T>>;
  }

  private async ask(
    type: 'NAPTR' | 'SRV' | 'A' | 'AAAA',
    name: string,
    key: string,
  ): Promise<Answer<unknown>> {
    this.queries++;
    try {
      const records = await this.query(type, name);
      const ttls = records
        .map((r) => (r as { ttl?: number }).ttl)
        .filter((t): t is number => t !== undefined);
      const ttlMs = ttls.length > 0 ? Math.min(...ttls) * 1000 : this.o.recordTtlMs;
      this.answers.set(key, { records }, records.length === 0 ? this.o.negativeTtlMs : ttlMs);
      return { records, ttlMs };
    } catch (err) {
      const code = errorCode(err) ?? 'error';
      if (NEGATIVE.has(code)) {
        this.answers.set(key, { records: [] }, this.o.negativeTtlMs);
        return { records: [], ttlMs: this.o.negativeTtlMs };
      }
      return { records: [], ttlMs: 0, failed: `${type} ${name}: ${code}` };
    }
  }

  private query(type: 'NAPTR' | 'SRV' | 'A' | 'AAAA', name: string): Promise<unknown[]> {
    switch (type) {
      case 'NAPTR':
        return this.backend.resolveNaptr(name);
      case 'SRV':
        return this.backend.resolveSrv(name);
      case 'A':
        return this.backend.resolve4(name, { ttl: true });
      case 'AAAA':
        return this.backend.resolve6(name, { ttl: true });
    }
  }
}

function keyOf(uri: SipUri): string {
  return `${uri.scheme}:${uri.host.toLowerCase()}:${uri.port ?? ''}:${uri.transport ?? ''}:${uri.params.get('maddr') ?? ''}`;
}
