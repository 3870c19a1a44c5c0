// A pool's SIP counters as one node's (`sip.workers` > 1): every worker counts its own traffic, so numbers add up,
// key by key. The exceptions: what worker 0 holds for all (the state keeper's bindings and dialogs), a fraction
// (the worst one), a copy each worker keeps (the cluster directory's entries and pairs: the largest), and whether
// etcd is reachable (only when every worker says so).
import type { SipCounters } from './worker-ipc.js';

type Tree = { [k: string]: unknown };

const KEEPER: ReadonlySet<string> = new Set(['bindings', 'dialogs']);
const LARGEST: ReadonlySet<string> = new Set(['overloadFraction', 'cluster.entries', 'cluster.pairs']);
const ALL: ReadonlySet<string> = new Set(['cluster.etcdReachable']);

function merge(a: Tree, b: Tree, prefix: string, keeperIsA: boolean): Tree {
  const out: Tree = { ...a };
  for (const [k, bv] of Object.entries(b)) {
    const path = prefix === '' ? k : `${prefix}.${k}`;
    const av = out[k];
    if (av === undefined) {
      // Not reported by the first: a keeper-only value comes from the keeper alone.
      if (!(KEEPER.has(path) && keeperIsA)) out[k] = bv;
    } else if (typeof av === 'number' && typeof bv === 'number') {
      out[k] = KEEPER.has(path) && keeperIsA ? av : LARGEST.has(path) ? Math.max(av, bv) : av + bv;
    } else if (typeof av === 'boolean' && typeof bv === 'boolean') {
      out[k] = ALL.has(path) ? av && bv : av || bv;
    } else if (typeof av === 'object' && av !== null && typeof bv === 'object' && bv !== null) {
      out[k] = merge(av as Tree, bv as Tree, path, keeperIsA);
    }
    // Anything else (strings: a pair name, the last error): the first worker's.
  }
  return out;
}

/** The counters of several workers as one; `keeper` is worker 0's answer (without it, bindings and dialogs add up). */
export function sumCounters(answers: readonly SipCounters[], keeper?: SipCounters): SipCounters | undefined {
  const ordered = keeper === undefined ? [...answers] : [keeper, ...answers.filter((c) => c !== keeper)];
  const [first, ...rest] = ordered;
  if (first === undefined) return undefined;
  let sum = structuredClone(first) as unknown as Tree;
  for (const c of rest) sum = merge(sum, c as unknown as Tree, '', keeper !== undefined);
  return sum as unknown as SipCounters;
}
