// The durability port ("acknowledged means replicated"): the SIP server asks it, after a request's handling changed
// a store, whether the response must wait until the change is safe elsewhere (on an HA backup). The server layer
// knows nothing of replication; the HA worker plugs an implementation in (src/ha/replication/ack-barrier.ts).

export interface CommitGate {
  /**
   * Called right after a change was recorded (synchronously, in the same turn). Undefined when there is nothing to
   * wait for — no synced backup, the feature off, the change already acknowledged — so the common path makes no
   * promise. Otherwise a promise that resolves (never rejects) once the change is acknowledged or a bound passed.
   */
  afterChange(): Promise<void> | undefined;
}
