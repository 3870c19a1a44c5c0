// The location service (RFC 3261 §10): bindings of an address-of-record to contact URIs, each with its own expiry.
// Times are monotonic milliseconds from an injected clock, so replication can ship remaining lifetimes, not dates.

import type { Endpoint } from '../sip/transport/types.js';
import type { SipUri } from '../sip/uri.js';
import { ChangeFeed, type ChangeOrigin, type Unsubscribe } from './change-feed.js';
import { contactKey } from './nat.js';

export interface Binding {
  aor: string;
  /** The contact URI as registered (the value inside <...>). */
  contact: string;
  /** q-value × 1000 (0-1000), so that sorting is exact. */
  q: number;
  /** Monotonic ms when the binding expires. */
  expiresAt: number;
  callId: string;
  cseq: number;
  /** Path header values (RFC 3327) recorded with the binding, top first. */
  path: string[];
  /** Where the REGISTER came from, for clients behind NAT: its flow (RFC 5626 §3.2). */
  received?: Endpoint;
  /**
   * SIP Outbound (RFC 5626 §6): the UA's `+sip.instance` and `reg-id`. Such a binding is the instance's flow: one
   * per (instance, reg-id), replaced when the instance registers again over a new connection, and reached only
   * over that flow.
   */
  instance?: string;
  regId?: number;
  /** Monotonic ms of the last refresh. */
  updatedAt: number;
}

export type BindingChange = (
  | { kind: 'added' | 'refreshed'; binding: Binding }
  | { kind: 'removed'; aor: string; contact: string; reason: 'unregistered' | 'expired' }
) & { origin: ChangeOrigin };

export class LocationService {
  private readonly byAor = new Map<string, Binding[]>();
  /** Bindings by contact (`contactKey`): an in-dialog request to a phone's Contact finds its flow. */
  private readonly byContact = new Map<string, Binding>();
  private count = 0;
  private readonly changes = new ChangeFeed<BindingChange>();

  /** Hears every change after it is made, in order (the replication stream and the event feed listen here). */
  subscribe(listener: (change: BindingChange) => void): Unsubscribe {
    return this.changes.subscribe(listener);
  }

  get size(): number {
    return this.count;
  }

  get aorCount(): number {
    return this.byAor.size;
  }

  /** Live bindings of an AOR, highest q first, then most recently refreshed. */
  lookup(aor: string, now: number): Binding[] {
    const list = this.byAor.get(aor);
    if (list === undefined) return [];
    return list.filter((b) => b.expiresAt > now).sort((a, b) => b.q - a.q || b.updatedAt - a.updatedAt);
  }

  hasAor(aor: string): boolean {
    return this.byAor.has(aor);
  }

  find(aor: string, contact: string): Binding | undefined {
    return this.byAor.get(aor)?.find((b) => b.contact === contact);
  }

  /** The binding of an outbound flow (RFC 5626 §6: keyed by AOR, instance-id and reg-id), if any. */
  findFlow(aor: string, instance: string, regId: number): Binding | undefined {
    return this.byAor.get(aor)?.find((b) => b.regId === regId && b.instance === instance);
  }

  /** The live binding whose contact is `uri` (user, host and port alike), if any. */
  byContactUri(uri: string | SipUri, now: number): Binding | undefined {
    const key = contactKey(uri);
    const b = key === undefined ? undefined : this.byContact.get(key);
    return b !== undefined && b.expiresAt > now ? b : undefined;
  }

  private index(b: Binding): void {
    const key = contactKey(b.contact);
    if (key !== undefined) this.byContact.set(key, b);
  }

  private unindex(b: Binding): void {
    const key = contactKey(b.contact);
    if (key !== undefined && this.byContact.get(key) === b) this.byContact.delete(key);
  }

  /** Adds or replaces the binding of (aor, contact). */
  put(binding: Binding, origin: ChangeOrigin = 'local'): void {
    let list = this.byAor.get(binding.aor);
    if (list === undefined) {
      list = [];
      this.byAor.set(binding.aor, list);
    }
    const idx = list.findIndex((b) => b.contact === binding.contact);
    if (idx === -1) {
      list.push(binding);
      this.count++;
      this.index(binding);
      this.changes.emit({ kind: 'added', binding, origin });
    } else {
      this.unindex(list[idx] as Binding);
      list[idx] = binding;
      this.index(binding);
      this.changes.emit({ kind: 'refreshed', binding, origin });
    }
  }

  remove(
    aor: string,
    contact: string,
    reason: 'unregistered' | 'expired' = 'unregistered',
    origin: ChangeOrigin = 'local',
  ): boolean {
    const list = this.byAor.get(aor);
    if (list === undefined) return false;
    const idx = list.findIndex((b) => b.contact === contact);
    if (idx === -1) return false;
    this.unindex(list[idx] as Binding);
    list.splice(idx, 1);
    this.count--;
    if (list.length === 0) this.byAor.delete(aor);
    this.changes.emit({ kind: 'removed', aor, contact, reason, origin });
    return true;
  }

  /** Removes every binding whose time has come; returns how many. Only the acting (primary) node calls this. */
  expire(now: number): number {
    let removed = 0;
    for (const [aor, list] of [...this.byAor]) {
      for (const b of list.filter((x) => x.expiresAt <= now)) {
        this.remove(aor, b.contact, 'expired');
        removed++;
      }
    }
    return removed;
  }

  all(): Binding[] {
    const out: Binding[] = [];
    for (const list of this.byAor.values()) out.push(...list);
    return out;
  }

  clear(): void {
    this.byAor.clear();
    this.byContact.clear();
    this.count = 0;
  }
}
