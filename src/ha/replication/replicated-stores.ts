// The port replication talks through: exactly what it needs from the SIP worker's location service and dialog
// store, and nothing more. The worker's composition root adapts the real stores to it (store-adapter.ts).
import type { Unsubscribe } from '../../server/change-feed.js';
import type { Dialog, DialogChange } from '../../server/dialogs.js';
import type { Binding, BindingChange } from '../../server/location-service.js';

/** A change to either store, with its origin (`local`: this node's own; `replica`: applied from the stream). */
export type StoreChange = BindingChange | DialogChange;

export interface ReplicatedStores {
  /** How many bindings and dialogs are held (status). */
  counts(): { bindings: number; dialogs: number };
  /**
   * Every binding and dialog held, captured at once. Bindings are replaced on change, never changed, so they are
   * the held objects; dialogs change in place, so they are copies.
   */
  snapshot(): { bindings: Binding[]; dialogs: Dialog[] };
  /** Hears every change to either store after it is made, in order. */
  subscribe(listener: (change: StoreChange) => void): Unsubscribe;
  /** What the stream brought, applied with origin `replica`: adds or replaces the binding of (aor, contact). */
  putBinding(binding: Binding): void;
  removeBinding(aor: string, contact: string): void;
  /** Adds or replaces a dialog, with origin `replica`. */
  putDialog(dialog: Dialog): void;
  removeDialog(id: string): void;
}
