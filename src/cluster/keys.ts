// The etcd key layout of a multi-pair cluster (README "Growing past one pair"): everything of one SIP domain lives
// under `${prefix}/${domain}/`, so that several clusters and domains can share one etcd.
import { createHash } from 'node:crypto';

/** The folder of a domain's directory entries: one key per address-of-record. */
export function aorPrefix(prefix: string, domain: string): string {
  return `${prefix}/${domain}/aor/`;
}

/** Which pair serves an address-of-record now (JSON `{ pair, target, at }`, under that pair's lease). */
export function aorKey(prefix: string, domain: string, aor: string): string {
  return `${aorPrefix(prefix, domain)}${aor}`;
}

/** The folder of the domain's pairs. */
export function pairPrefix(prefix: string, domain: string): string {
  return `${prefix}/${domain}/pair/`;
}

/** A pair itself (JSON `{ target }`, under its lease): where the other pairs send its calls. */
export function pairKey(prefix: string, domain: string, pair: string): string {
  return `${pairPrefix(prefix, domain)}${pair}`;
}

/** The pair's election permit (the node's: who of the two may hold the VIP). */
export function permitKey(prefix: string, domain: string, pair: string): string {
  return `${pairKey(prefix, domain, pair)}/permit`;
}

/** What a key under the domain's folder names: an AoR entry, a pair, or something else (a permit). */
export type ParsedKey = { kind: 'aor'; aor: string } | { kind: 'pair'; pair: string } | { kind: 'other' };

export function parseKey(prefix: string, domain: string, key: string): ParsedKey {
  const aors = aorPrefix(prefix, domain);
  if (key.startsWith(aors)) return { kind: 'aor', aor: key.slice(aors.length) };
  const pairs = pairPrefix(prefix, domain);
  if (key.startsWith(pairs)) {
    const rest = key.slice(pairs.length);
    if (rest.length > 0 && !rest.includes('/')) return { kind: 'pair', pair: rest };
  }
  return { kind: 'other' };
}

/**
 * The pair's lease ID, the same on both nodes of the pair (so that the directory entries die only with the whole
 * pair): a positive 62-bit hash of (prefix, domain, pair) as a decimal string — etcd lease IDs are int64, and
 * LeaseGrant accepts an ID chosen by the client.
 */
export function pairLeaseId(prefix: string, domain: string, pair: string): string {
  const digest = createHash('sha256').update(`${prefix}\0${domain}\0${pair}\0pair-lease`).digest();
  const id = digest.readBigUInt64BE(0) & ((1n << 62n) - 1n);
  return (id === 0n ? 1n : id).toString();
}
