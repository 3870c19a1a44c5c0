// The management event stream (GET /api/v1/events): role changes, alarms, switchover timelines, registrations
// and calls, numbered in the order this node saw them. A short history lets a reconnecting client resume from
// the last id it saw (SSE Last-Event-ID) instead of missing what happened while it was away.

export type FeedEventType = 'role' | 'alarm' | 'timeline' | 'switchover' | 'registration' | 'call';

export interface FeedEvent {
  id: number;
  type: FeedEventType;
  at: number;
  data: Record<string, unknown>;
}

export class EventFeed {
  private readonly items: FeedEvent[] = [];
  private readonly subscribers = new Set<(e: FeedEvent) => void>();
  private lastId = 0;

  constructor(private readonly keep = 1000) {}

  push(type: FeedEventType, data: Record<string, unknown>, at = Date.now()): FeedEvent {
    const e: FeedEvent = { id: ++this.lastId, type, at, data };
    this.items.push(e);
    if (this.items.length > this.keep) this.items.shift();
    for (const fn of this.subscribers) fn(e);
    return e;
  }

  /** Events after `id` still held (all held when `id` is older than the history). */
  since(id: number): FeedEvent[] {
    return this.items.filter((e) => e.id > id);
  }

  recent(n: number): FeedEvent[] {
    return this.items.slice(-n);
  }

  subscribe(fn: (e: FeedEvent) => void): () => void {
    this.subscribers.add(fn);
    return () => this.subscribers.delete(fn);
  }
}
