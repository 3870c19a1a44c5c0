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
  /** Replication synced (a backup holds everything the primary acknowledged); absent when unknown. */
  synced?: boolean;
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
  /**
   * The fault stops every process of `host` (a frozen host): nothing on it can release the VIP, while its kernel
   * still answers ARP for it. Its overlap with the new owner is the fault's, not the pair's, until the heal.
   */
  stopsHost?: boolean;
}

/**
 * A process of the pair ended, or a log line said it failed (unhandled rejection, uncaught exception, fatal):
 * `expected` when a fault did it (kill -9, a restart).
 */
export interface ProcessSample {
  t: number;
  kind: 'process';
  host: string;
  expected: boolean;
  detail: string;
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

/**
 * A call placed through the VIP by the chaos client, one sample per step: confirmed (the caller got the 2xx and
 * sent its ACK), ended (a BYE got a final answer: status 2xx, or a final failure such as 481), end-failed (one BYE
 * try lost, status 408, 503 or 'timeout'; the client tries again).
 */
export interface CallSample {
  t: number;
  kind: 'call';
  callId: string;
  phase: 'confirmed' | 'ended' | 'end-failed';
  status?: number | 'timeout';
}

export type Sample =
  | ProcessSample
  | ArpSample
  | NodeSample
  | ProbeSample
  | FaultSample
  | RegisteredSample
  | BindingsSample
  | CallSample;

/**
 * One line of the chaos client (bench/chaos/client-process.ts) as a sample: `G aor contact t expiresS` (a
 * registration), `C callId t`, `E callId t status`, `e callId t status|timeout`. Anything else (READY, the S
 * summary, failed REGISTERs and INVITEs, which promise nothing) or a malformed line: undefined.
 */
export function parseClientLine(line: string): RegisteredSample | CallSample | undefined {
  const w = line.trim().split(/\s+/);
  const num = (s: string | undefined) => (s !== undefined && /^\d+(\.\d+)?$/.test(s) ? Number(s) : undefined);
  const t = num(w[w[0] === 'G' ? 3 : 2]);
  if (t === undefined) return undefined;
  switch (w[0]) {
    case 'G': {
      const expires = num(w[4]);
      if (w.length !== 5 || expires === undefined) return undefined;
      return {
        t,
        kind: 'registered',
        aor: w[1] as string,
        contact: w[2] as string,
        expiresAt: t + expires * 1000,
      };
    }
    case 'C':
      return w.length === 3 ? { t, kind: 'call', callId: w[1] as string, phase: 'confirmed' } : undefined;
    case 'E':
    case 'e': {
      const status = w[3] === 'timeout' ? 'timeout' : num(w[3]);
      if (w.length !== 4 || status === undefined || (w[0] === 'E' && status === 'timeout')) return undefined;
      return {
        t,
        kind: 'call',
        callId: w[1] as string,
        phase: w[0] === 'E' ? 'ended' : 'end-failed',
        status,
      };
    }
    default:
      return undefined;
  }
}
