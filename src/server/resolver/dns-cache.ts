// DNS answers kept for their time to live (RFC 1035 §3.2.1 TTL, RFC 2308 for negative answers), on an injectable
// monotonic clock. Bounded: past `maxEntries`, the oldest entry makes room.
export class DnsCache<V> {
  private readonly entries = new Map<string, { value: V; expires: number }>();

  constructor(
    private readonly now: () => number,
    private readonly maxEntries = 10_000,
  ) {}

  get(key: string): V | undefined {
    return this.lookup(key)?.value;
  }

  /** The value and how long it still lives, in ms. */
  lookup(key: string): { value: V; ttlMs: number } | undefined {
    const e = this.entries.get(key);
    if (e === undefined) return undefined;
    const ttlMs = e.expires - this.now();
    if (ttlMs <= 0) {
      this.entries.delete(key);
      return undefined;
    }
    return { value: e.value, ttlMs };
  }

  /** Keeps `value` for `ttlMs`; a TTL of 0 keeps nothing ("zero values are interpreted to mean that the RR can only be used for the transaction in progress"). */
  set(key: string, value: V, ttlMs: number): void {
    if (ttlMs <= 0) return;
    this.entries.delete(key);
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(key, { value, expires: this.now() + ttlMs });
  }

  get size(): number {
    return this.entries.size;
  }
}
