// The proxy's view of a multi-pair directory (README "Growing past one pair"; src/cluster/directory.ts): which
// other pair of our domain serves a user with no binding here. Answered from memory, never waiting on etcd.
import type { SipRequest } from '../sip/message.js';
import type { Endpoint } from '../sip/transport/types.js';

export interface RemoteDirectory {
  /** Where a request for an AoR with no binding here goes: another pair's address, or undefined (a miss). */
  route(aor: string, request: SipRequest): Endpoint | undefined;
  /** A request for a user of the domain found here (counted). */
  servedLocally(): void;
  /** Whether "HOST:PORT" is another pair of the domain: it authenticated its caller, we trust it as a peer. */
  isPeer(hostPort: string): boolean;
  /** Whether the AoR was seen in the directory: registered nowhere now, it is unavailable (480), not unknown. */
  knows(aor: string): boolean;
  /** Its state and counts, for the worker's counters (status, /metrics). */
  counters(): DirectoryCounters;
}

export interface DirectoryCounters {
  pair: string;
  /** AoRs in the local copy, and pairs known (this one included). */
  entries: number;
  pairs: number;
  etcdReachable: boolean;
  lastError: string | undefined;
  /** AoR keys written (puts and deletes), etcd transactions, and their time in all, since start. */
  writes: number;
  txns: number;
  etcdSeconds: number;
  /** AoRs dropped here because the user registered through another pair since. */
  moves: number;
  /** Requests for users of our domain by where they were found: local, remote (another pair), miss. */
  lookups: Record<string, number>;
}
