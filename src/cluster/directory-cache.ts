// The directory as this pair sees it (README "Growing past one pair"): which pair serves each address-of-record of
// the domain, fed by an etcd watch so that the call path never waits on etcd. Pure: the etcd side is directory.ts.

/** One directory entry: the pair serving an AoR, where to send its calls ("HOST:PORT", UDP), registered when. */
export interface DirectoryEntry {
  pair: string;
  target: string;
  /** Wall-clock ms of the registration that made the entry (last writer by registration time wins). */
  at: number;
}

/** Where a request for an AoR without a local binding goes. */
export type Lookup = { result: 'remote'; entry: DirectoryEntry } | { result: 'miss' };

/** What to do about an AoR we serve when the directory changed under it (a move, or writes that crossed). */
export type Reconcile = 'none' | 'drop' | 'republish';

/** A directory entry from its etcd value, or undefined when it is not one (never trusted blindly). */
export function parseEntry(value: string): DirectoryEntry | undefined {
  try {
    const v = JSON.parse(value) as Partial<DirectoryEntry>;
    if (typeof v.pair !== 'string' || typeof v.target !== 'string' || typeof v.at !== 'number')
      return undefined;
    return { pair: v.pair, target: v.target, at: v.at };
  } catch {
    return undefined;
  }
}

/** A pair's target from its etcd value. */
export function parsePairTarget(value: string): string | undefined {
  try {
    const v = JSON.parse(value) as { target?: unknown };
    return typeof v.target === 'string' ? v.target : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A change under an AoR we may serve, decided against our newest binding's registration (wall ms; undefined: we
 * hold no binding). Another pair's newer registration moves the user there: we drop ours. Ours newer (writes
 * crossed, or our entry was deleted by a pair that lost it): we publish ours again.
 */
export function reconcile(
  self: string,
  entry: DirectoryEntry | undefined,
  ourNewestAt: number | undefined,
): Reconcile {
  if (ourNewestAt === undefined) return 'none';
  if (entry === undefined) return 'republish';
  if (entry.pair === self) return 'none';
  return entry.at > ourNewestAt ? 'drop' : 'republish';
}

export class DirectoryCache {
  private readonly entries = new Map<string, DirectoryEntry>();
  /** pair → target, from the pairs' own keys. */
  private readonly pairs = new Map<string, string>();
  /** Targets of the other pairs (from their keys and their entries): requests from there are never sent on. */
  private readonly peerTargets = new Map<string, number>();

  constructor(readonly self: string) {}

  get size(): number {
    return this.entries.size;
  }

  get pairCount(): number {
    return this.pairs.size;
  }

  get(aor: string): DirectoryEntry | undefined {
    return this.entries.get(aor);
  }

  /** The whole directory again (a range read after start or after the watch failed). */
  reset(entries: Iterable<[string, DirectoryEntry]>, pairs: Iterable<[string, string]>): void {
    this.entries.clear();
    this.pairs.clear();
    this.peerTargets.clear();
    for (const [pair, target] of pairs) this.putPair(pair, target);
    for (const [aor, entry] of entries) this.put(aor, entry);
  }

  put(aor: string, entry: DirectoryEntry): void {
    const was = this.entries.get(aor);
    if (was !== undefined) this.unref(was);
    this.entries.set(aor, entry);
    this.ref(entry);
  }

  delete(aor: string): void {
    const was = this.entries.get(aor);
    if (was === undefined) return;
    this.entries.delete(aor);
    this.unref(was);
  }

  putPair(pair: string, target: string): void {
    const was = this.pairs.get(pair);
    if (was !== undefined && pair !== this.self) this.unrefTarget(was);
    this.pairs.set(pair, target);
    if (pair !== this.self) this.refTarget(target);
  }

  deletePair(pair: string): void {
    const was = this.pairs.get(pair);
    if (was === undefined) return;
    this.pairs.delete(pair);
    if (pair !== this.self) this.unrefTarget(was);
  }

  /**
   * Where a request for an AoR with no local binding goes: another pair's target, unless the request came from a
   * pair (`fromPair`, its top Via: the loop guard — what a pair sent us is never sent on by the directory). An entry
   * of our own without a binding here is stale: a miss.
   */
  lookup(aor: string, fromPair: boolean): Lookup {
    const entry = this.entries.get(aor);
    if (entry === undefined || entry.pair === this.self || fromPair) return { result: 'miss' };
    return { result: 'remote', entry };
  }

  /** Whether "HOST:PORT" is another pair's target. */
  isPeerTarget(hostPort: string): boolean {
    return this.peerTargets.has(hostPort);
  }

  private ref(entry: DirectoryEntry): void {
    if (entry.pair !== this.self) this.refTarget(entry.target);
  }

  private unref(entry: DirectoryEntry): void {
    if (entry.pair !== this.self) this.unrefTarget(entry.target);
  }

  private refTarget(target: string): void {
    this.peerTargets.set(target, (this.peerTargets.get(target) ?? 0) + 1);
  }

  private unrefTarget(target: string): void {
    const n = (this.peerTargets.get(target) ?? 0) - 1;
    if (n > 0) this.peerTargets.set(target, n);
    else this.peerTargets.delete(target);
  }
}
