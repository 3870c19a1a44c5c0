// A pool's SIP counters as one node's (`sip.workers` > 1): every worker counts its own traffic, so numbers add up,
// key by key. The exceptions: what every worker holds in full (bindings, dialogs, flows: worker 0's, the keeper's), a fraction
// (the worst one), each worker's own figures (`workers`: listed side by side), a copy each worker keeps (the cluster directory's entries and pairs: the largest), and whether
// etcd is reachable (only when every worker says so).
import type { SipCounters } from './worker-ipc.js';

type Tree = { [k: string]: unknown };

const KEEPER: ReadonlySet<string> = new Set(['bindings', 'dialogs', 'flows']);
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
      // Every worker holds every binding and call: the keeper's count, else the largest view.
      out[k] = KEEPER.has(path)
        ? keeperIsA
          ? av
          : Math.max(av, bv)
        : LARGEST.has(path)
          ? Math.max(av, bv)
          : av + bv;
    } else if (typeof av === 'boolean' && typeof bv === 'boolean') {
      out[k] = ALL.has(path) ? av && bv : av || bv;
    } else if (Array.isArray(av) && Array.isArray(bv)) {
      // Lists of per-worker figures (`workers`): each worker's own entries, side by side.
      out[k] = [...av, ...bv];
    } else if (typeof av === 'object' && av !== null && typeof bv === 'object' && bv !== null) {
      out[k] = merge(av as Tree, bv as Tree, path, keeperIsA);
    }
    // Anything else (strings: a pair name, the last error): the first worker's.
  }
  return out;
}

/** The counters of several workers as one; `keeper` is worker 0's answer (without it, the largest view of the state). */
export function sumCounters(answers: readonly SipCounters[], keeper?: SipCounters): SipCounters | undefined {
  const ordered = keeper === undefined ? [...answers] : [keeper, ...answers.filter((c) => c !== keeper)];
  const [first, ...rest] = ordered;
  if (first === undefined) return undefined;
  let sum = structuredClone(first) as unknown as Tree;
  for (const c of rest) sum = merge(sum, c as unknown as Tree, '', keeper !== undefined);
  const merged = sum as unknown as SipCounters;
  merged.workers?.sort((a, b) => a.index - b.index);
  return merged;
}
