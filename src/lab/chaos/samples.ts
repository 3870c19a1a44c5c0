// What the chaos run observes of the pair, one sample at a time: the checker's only input (Jepsen's history).
// Times are the lab's clock in ms; the checker reads no clock of its own.
import type { Role } from '../../ha/role-state.js';

/** Who answers ARP for the VIP, as seen from the client's namespace (MACs or host names). */
export interface ArpSample {
  t: number;
  kind: 'arp';
  owners: string[];
}

/** A node's management API status; role and term mean nothing when reachable is false. */
export interface NodeSample {
  t: number;
  kind: 'node';
  host: string;
  role: Role;
  term: number;
  reachable: boolean;
}

/** A client request through the VIP, answered (ok) or not; t is when the answer came or the wait ended. */
export interface ProbeSample {
  t: number;
  kind: 'probe';
  ok: boolean;
}

/**
 * A fault injected or healed; n identifies the fault across its two phases. leavesHealthyNode is the
 * scheduler's word that, with every fault active after this inject, one node can still serve.
 */
export interface FaultSample {
  t: number;
  kind: 'fault';
  phase: 'inject' | 'heal';
  n: number;
  fault: string;
  host: string;
  leavesHealthyNode: boolean;
}

/** A REGISTER answered 2xx: the pair promised to keep this binding until expiresAt (ms, the lab's clock). */
export interface RegisteredSample {
  t: number;
  kind: 'registered';
  aor: string;
  contact: string;
  expiresAt: number;
}

/** The bindings a node lists, read after the pair settled at the end of the run. */
export interface BindingsSample {
  t: number;
  kind: 'bindings';
  host: string;
  role: Role;
  aors: Array<{ aor: string; contact: string }>;
}

export type Sample = ArpSample | NodeSample | ProbeSample | FaultSample | RegisteredSample | BindingsSample;
