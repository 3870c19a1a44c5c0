// The SIP counters of several workers as one (src/workers/): what each worker counted is summed; what each holds
// in full — registrations and calls, shared by all of them — is the keeper's (worker 0's); overload is the worst
// worker's; each worker's own steering figures are listed by index.
import type { SipCounters } from './worker-ipc.js';

/** `answers[i]` is worker i's answer, undefined when it did not answer. */
export function mergeWorkerCounters(
  answers: ReadonlyArray<SipCounters | undefined>,
): SipCounters | undefined {
  const present = answers.filter((a): a is SipCounters => a !== undefined);
  const first = present[0];
  if (first === undefined) return undefined;
  const merged = sumLeaves(present) as SipCounters;
  const keeper = answers[0];
  // Every worker holds every binding and call: the keeper's count is the node's (a member's, if it is away).
  merged.bindings = keeper?.bindings ?? Math.max(...present.map((a) => a.bindings));
  merged.dialogs = keeper?.dialogs ?? Math.max(...present.map((a) => a.dialogs));
  if (first.flows !== undefined)
    merged.flows = keeper?.flows ?? Math.max(...present.map((a) => a.flows ?? 0));
  if (first.cluster !== undefined && keeper?.cluster !== undefined) merged.cluster = keeper.cluster;
  merged.overloadActive = present.some((a) => a.overloadActive);
  merged.overloadFraction = Math.max(...present.map((a) => a.overloadFraction));
  merged.workers = present.flatMap((a) => a.workers ?? []).sort((a, b) => a.index - b.index);
  return merged;
}

/** Numbers summed key by key, nested records alike; anything else taken from the first. */
function sumLeaves(values: readonly unknown[]): unknown {
  const first = values[0];
  if (typeof first === 'number')
    return values.reduce<number>((n, v) => n + (typeof v === 'number' ? v : 0), 0);
  if (typeof first !== 'object' || first === null || Array.isArray(first)) return first;
  const out: Record<string, unknown> = {};
  const keys = new Set<string>();
  for (const v of values)
    if (typeof v === 'object' && v !== null) for (const k of Object.keys(v)) keys.add(k);
  for (const k of keys) {
    const column = values
      .map((v) => (v as Record<string, unknown> | undefined)?.[k])
      .filter((x) => x !== undefined);
    out[k] = sumLeaves(column);
  }
  return out;
}
