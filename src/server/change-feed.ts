// Change feeds: listeners that subscribe to a store's changes (or any other value that changes) and can unsubscribe,
// and where a store change came from.

/**
 * `local`: made by this worker's SIP handling or its own expiry. `replica`: applied from the replication stream on
 * a backup (the primary made it first). `sibling`: made by another SIP worker of this node (src/workers/), heard
 * through the state keeper.
 */
export type ChangeOrigin = 'local' | 'replica' | 'sibling';

export type Unsubscribe = () => void;

export class ChangeFeed<C> {
  private readonly listeners = new Set<(change: C) => void>();

  /** Listeners hear every change in order, in the order they subscribed; the same function twice hears it twice. */
  subscribe(listener: (change: C) => void): Unsubscribe {
    const entry = (change: C) => listener(change);
    this.listeners.add(entry);
    return () => {
      this.listeners.delete(entry);
    };
  }

  emit(change: C): void {
    for (const listener of this.listeners) listener(change);
  }
}
