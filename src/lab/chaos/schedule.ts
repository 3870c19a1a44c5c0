// The chaos run's schedule: which fault, on which node, when, and for how long, all decided up front from one
// seed, so that a run is a list of named steps that can be written down and replayed (`--replay`), as Jepsen's
// nemesis schedules and etcd's robustness tests do. Pure: no sockets, no processes, time as numbers from the
// run's start; the runner resolves a role to a host at inject time, injects at atMs and heals at atMs + holdMs.
//
// Overlap: with probability overlapChance a step starts before the previous one is healed (at a random offset
// within its hold), or, for a fixed share of those, 0–300 ms after the previous inject (inside its takeover
// window; the only way to overlap a fault that has no hold). A step may start while faults are active only where
// the two mean something together. Each fault holds one resource:
//
//   resource  faults                                   while one is active, a new fault of the same resource
//   node      crashNode, crashWorker, freeze,          targets the other host only ('peer' of it): a node that
//             restart                                  is down, stopped or restarting can be neither crashed nor
//                                                      frozen nor restarted again
//   sip       sipNicDown, sipPathCut                   targets the other host only: one SIP path is cut once
//   ha        haLinkDown, haLinkDown/management,       never: one HA link between the two (the same ip rules,
//             haOneWay, haLoss                         a one-way cut and a lossy link are the same link again)
//   witness   witnessDown, witnessDown/both            never: the same nftables table in the hosts
//   announce  announceLoss                             never: one table in the client
//   move      switchover, switchoverStorm              none: a switchover starts only with nothing active (a
//                                                      node asked to hand over mid-failover refuses); a fault
//                                                      may start inside its move's window (it has no hold)
//
// A restart has nothing to heal, but its hold is the time the node takes to stop and start again: the node is
// held meanwhile, so that a crash or a freeze in that time goes to the other host.
// Faults of different resources always may overlap (a crash during an HA link cut, a freeze with a SIP cut).
// "The other host" is named 'peer' of the active step, not by role: a takeover swaps the roles mid-run, so the
// primary at the second inject may well be the node the first fault holds.
import { z } from 'zod';
import { FAULTS } from '../faults.js';
import { createRng, MAX_SEED, type Rng } from './random.js';

export type Role = 'primary' | 'backup';
export type Resource = 'node' | 'sip' | 'ha' | 'witness' | 'announce' | 'move';

/** Every fault of FAULTS (and freeze/node, freeze()'s other form) and the resource it holds: the table above. */
export const RESOURCE_OF: Readonly<Record<string, Resource>> = {
  crashNode: 'node',
  crashWorker: 'node',
  freeze: 'node',
  'freeze/node': 'node',
  restart: 'node',
  sipNicDown: 'sip',
  sipPathCut: 'sip',
  haLinkDown: 'ha',
  'haLinkDown/management': 'ha',
  haOneWay: 'ha',
  haLoss: 'ha',
  witnessDown: 'witness',
  'witnessDown/both': 'witness',
  announceLoss: 'announce',
  switchover: 'move',
  switchoverStorm: 'move',
};

/** The resources that a second fault never shares (the rest go to the other host). */
export const EXCLUSIVE: ReadonlySet<Resource> = new Set(['ha', 'witness', 'announce']);

export interface FaultKind {
  /** Unique among the kinds: one fault may come as several kinds (a short and a long freeze). */
  kind: string;
  /** The name of a fault of FAULTS (src/lab/faults.ts). */
  fault: string;
  /** Relative frequency. */
  weight: number;
  target: Role | 'either';
  /** How long before heal, [min, max] in ms; [0, 0] where there is nothing to heal. */
  holdMs: readonly [number, number];
  healable: boolean;
}

export interface Step {
  /** 1, 2, … in the order of atMs. */
  n: number;
  /** From the run's start. */
  atMs: number;
  kind: string;
  fault: string;
  /** A role resolved at inject time, or 'peer': the host other than the one step peerOf's fault holds. */
  target: Role | 'peer';
  peerOf?: number;
  /** 0: nothing to heal. */
  holdMs: number;
  /** The step this one was scheduled to overlap (it starts before that one's heal or inside its takeover window). */
  overlaps?: number;
}

export interface Schedule {
  seed: number;
  version: 1;
  steps: Step[];
}

/** A name of FAULTS; throws on load when a fault is renamed, so the tests fail rather than a run silently. */
const fault = (name: string): string => {
  const f = FAULTS.find((x) => x.name === name);
  if (f === undefined) throw new Error(`no fault named ${name} in FAULTS`);
  return f.name;
};

// Holds straddle the failure detector's dead_after_ms (200 ms by default): a short freeze must not move the
// pair, a long one must; a cut or a crash lasts long enough for the takeover to finish before it heals. A lossy
// HA link lasts seconds (tens of heartbeats lost, none of which may move the pair); a restart's hold covers the
// node's stop and start; announcements are lost from the first burst only (3 × 50 ms) to past the repeat (1 s).
export const DEFAULT_KINDS: readonly FaultKind[] = [
  {
    kind: 'crashNode',
    fault: fault('crashNode'),
    weight: 3,
    target: 'either',
    holdMs: [300, 3000],
    healable: true,
  },
  {
    kind: 'crashWorker',
    fault: fault('crashWorker'),
    weight: 2,
    target: 'either',
    holdMs: [0, 0],
    healable: false,
  },
  {
    kind: 'freeze/short',
    fault: fault('freeze'),
    weight: 2,
    target: 'either',
    holdMs: [50, 150],
    healable: true,
  },
  {
    kind: 'freeze/long',
    fault: fault('freeze'),
    weight: 2,
    target: 'either',
    holdMs: [300, 2000],
    healable: true,
  },
  {
    kind: 'sipNicDown',
    fault: fault('sipNicDown'),
    weight: 2,
    target: 'either',
    holdMs: [300, 3000],
    healable: true,
  },
  {
    kind: 'sipPathCut',
    fault: fault('sipPathCut'),
    weight: 2,
    target: 'either',
    holdMs: [300, 3000],
    healable: true,
  },
  {
    kind: 'haLinkDown',
    fault: fault('haLinkDown'),
    weight: 2,
    target: 'either',
    holdMs: [300, 3000],
    healable: true,
  },
  {
    kind: 'haLinkDown/management',
    fault: fault('haLinkDown/management'),
    weight: 1,
    target: 'either',
    holdMs: [300, 3000],
    healable: true,
  },
  {
    kind: 'switchover',
    fault: fault('switchover'),
    weight: 1,
    target: 'either',
    holdMs: [0, 0],
    healable: false,
  },
  {
    kind: 'haOneWay',
    fault: fault('haOneWay'),
    weight: 2,
    target: 'either',
    holdMs: [300, 3000],
    healable: true,
  },
  {
    kind: 'haLoss',
    fault: fault('haLoss'),
    weight: 1,
    target: 'either',
    holdMs: [1000, 5000],
    healable: true,
  },
  {
    kind: 'witnessDown',
    fault: fault('witnessDown'),
    weight: 2,
    target: 'either',
    holdMs: [500, 3000],
    healable: true,
  },
  {
    kind: 'witnessDown/both',
    fault: fault('witnessDown/both'),
    weight: 1,
    target: 'either',
    holdMs: [500, 3000],
    healable: true,
  },
  {
    kind: 'restart',
    fault: fault('restart'),
    weight: 2,
    target: 'either',
    holdMs: [1000, 3000],
    healable: true,
  },
  {
    kind: 'switchoverStorm',
    fault: fault('switchoverStorm'),
    weight: 1,
    target: 'either',
    holdMs: [0, 0],
    healable: false,
  },
  {
    kind: 'announceLoss',
    fault: fault('announceLoss'),
    weight: 1,
    target: 'either',
    holdMs: [200, 2500],
    healable: true,
  },
];

/** How far after an inject the takeover it causes runs (detection at 200 ms, then the VIP's move). */
export const TAKEOVER_WINDOW_MS = 300;
/** Of the overlapping steps, the share that starts inside the previous step's takeover window. */
export const TAKEOVER_SHARE = 0.3;

export interface PlanOptions {
  seed: number;
  faults: number;
  kinds?: readonly FaultKind[];
  /** Quiet time between the last heal and the next inject, [min, max] ms. */
  gapMs: readonly [number, number];
  overlapChance: number;
}

function checkRange(what: string, [min, max]: readonly [number, number]): void {
  if (!Number.isInteger(min) || !Number.isInteger(max) || min < 0 || min > max)
    throw new RangeError(`${what}: [${min}, ${max}] is not a range of non-negative integers`);
}

function checkKinds(kinds: readonly FaultKind[]): void {
  if (kinds.length === 0) throw new RangeError('no fault kinds to schedule');
  const seen = new Set<string>();
  for (const k of kinds) {
    if (seen.has(k.kind)) throw new RangeError(`kind ${k.kind} appears twice`);
    seen.add(k.kind);
    fault(k.fault);
    if (RESOURCE_OF[k.fault] === undefined)
      throw new RangeError(`kind ${k.kind}: no resource for ${k.fault}`);
    if (!(k.weight > 0 && Number.isFinite(k.weight)))
      throw new RangeError(`kind ${k.kind}: weight ${k.weight}`);
    checkRange(`kind ${k.kind}: holdMs`, k.holdMs);
    if (!k.healable && k.holdMs[1] !== 0) throw new RangeError(`kind ${k.kind}: not healable, so no hold`);
  }
}

const resourceOf = (faultName: string): Resource => RESOURCE_OF[faultName] as Resource;
const activeAt = (steps: readonly Step[], t: number) => steps.filter((s) => s.atMs + s.holdMs > t);

/** Whether a fault of `kind` may start with `active` still in place (the table in the header). */
function mayOverlap(kind: FaultKind, active: readonly Step[]): boolean {
  const r = resourceOf(kind.fault);
  if (r === 'move') return active.length === 0;
  const same = active.filter((s) => resourceOf(s.fault) === r);
  return EXCLUSIVE.has(r) ? same.length === 0 : same.length <= 1;
}

function pickWeighted(rng: Rng, kinds: readonly FaultKind[]): FaultKind {
  const total = kinds.reduce((sum, k) => sum + k.weight, 0);
  let x = rng.next() * total;
  for (const k of kinds) {
    x -= k.weight;
    if (x < 0) return k;
  }
  return kinds[kinds.length - 1] as FaultKind;
}

export function planSchedule(o: PlanOptions): Schedule {
  const kinds = o.kinds ?? DEFAULT_KINDS;
  const rng = createRng(o.seed);
  if (!Number.isInteger(o.faults) || o.faults < 0) throw new RangeError(`faults: ${o.faults}`);
  checkRange('gapMs', o.gapMs);
  if (!(o.overlapChance >= 0 && o.overlapChance <= 1))
    throw new RangeError(`overlapChance: ${o.overlapChance}`);
  checkKinds(kinds);
  // One stream per decision (see Rng.fork).
  const kindRng = rng.fork('kind');
  const gapRng = rng.fork('gap');
  const holdRng = rng.fork('hold');
  const targetRng = rng.fork('target');
  const overlapRng = rng.fork('overlap');
  const offsetRng = rng.fork('offset');

  const steps: Step[] = [];
  let quietFrom = 0; // the latest heal so far
  for (let n = 1; n <= o.faults; n++) {
    const prev = steps.at(-1);
    const wantOverlap = overlapRng.chance(o.overlapChance);
    const inWindow = overlapRng.chance(TAKEOVER_SHARE);
    let atMs = -1;
    let overlaps: number | undefined;
    let candidates = kinds;
    if (prev !== undefined && wantOverlap) {
      const span = inWindow || prev.holdMs === 0 ? TAKEOVER_WINDOW_MS + 1 : prev.holdMs;
      const at = prev.atMs + offsetRng.int(0, span - 1);
      const allowed = kinds.filter((k) => mayOverlap(k, activeAt(steps, at)));
      if (allowed.length > 0) [atMs, overlaps, candidates] = [at, prev.n, allowed];
    }
    if (atMs < 0) atMs = quietFrom + gapRng.int(o.gapMs[0], o.gapMs[1]);
    const kind = pickWeighted(kindRng, candidates);
    const holdMs = holdRng.int(kind.holdMs[0], kind.holdMs[1]);
    const role: Role =
      kind.target === 'either' ? targetRng.pick(['primary', 'backup'] as const) : kind.target;
    const r = resourceOf(kind.fault);
    const holder =
      r === 'node' || r === 'sip' ? activeAt(steps, atMs).find((s) => resourceOf(s.fault) === r) : undefined;
    const step: Step = { n, atMs, kind: kind.kind, fault: kind.fault, target: role, holdMs };
    if (holder !== undefined) Object.assign(step, { target: 'peer', peerOf: holder.n });
    if (overlaps !== undefined) step.overlaps = overlaps;
    steps.push(step);
    quietFrom = Math.max(quietFrom, atMs + holdMs);
  }
  return { seed: o.seed, version: 1, steps };
}

export function toJson(schedule: Schedule): string {
  return `${JSON.stringify(schedule, null, 2)}\n`;
}

const ms = z.number().int().nonnegative();
const StepSchema = z.strictObject({
  n: z.number().int().positive(),
  atMs: ms,
  kind: z.string().min(1),
  fault: z.string().refine((f) => FAULTS.some((x) => x.name === f), {
    message: `not a fault of FAULTS (${FAULTS.map((x) => x.name).join(', ')})`,
  }),
  target: z.enum(['primary', 'backup', 'peer']),
  peerOf: z.number().int().positive().optional(),
  holdMs: ms,
  overlaps: z.number().int().positive().optional(),
});
const ScheduleSchema = z.strictObject({
  seed: z.number().int().min(0).max(MAX_SEED),
  version: z.literal(1),
  steps: z.array(StepSchema),
});

/** A schedule written by toJson, for --replay; throws naming the first field that is wrong. */
export function parseSchedule(text: string): Schedule {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new Error(`schedule: not JSON (${(e as Error).message})`);
  }
  const version = (raw as { version?: unknown } | null)?.version;
  if (version !== 1)
    throw new Error(`schedule: version ${JSON.stringify(version)} is not supported (only 1)`);
  const parsed = ScheduleSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? issue.path.join('.') : '(top)';
    throw new Error(`schedule: ${where}: ${issue?.message}`);
  }
  const { steps } = parsed.data;
  steps.forEach((s, i) => {
    const at = `steps.${i}`;
    if (s.n !== i + 1) throw new Error(`schedule: ${at}.n: ${s.n}, expected ${i + 1}`);
    if (i > 0 && s.atMs < (steps[i - 1] as Step).atMs)
      throw new Error(`schedule: ${at}.atMs: before the step before`);
    if ((s.target === 'peer') !== (s.peerOf !== undefined))
      throw new Error(`schedule: ${at}.peerOf: given exactly when target is 'peer'`);
    for (const ref of ['peerOf', 'overlaps'] as const) {
      const v = s[ref];
      if (v !== undefined && v >= s.n) throw new Error(`schedule: ${at}.${ref}: ${v} is not an earlier step`);
    }
  });
  return parsed.data as Schedule;
}

export interface ScheduleSummary {
  faults: number;
  /** Until the last heal. */
  spanMs: number;
  perKind: Record<string, number>;
  overlaps: number;
  /** Overlapping steps that start within TAKEOVER_WINDOW_MS of the step they overlap. */
  inTakeoverWindow: number;
  /** One line for the run's report. */
  text: string;
}

export function describeSchedule(schedule: Schedule): ScheduleSummary {
  const perKind: Record<string, number> = {};
  let overlaps = 0;
  let inTakeoverWindow = 0;
  let spanMs = 0;
  for (const s of schedule.steps) {
    perKind[s.kind] = (perKind[s.kind] ?? 0) + 1;
    spanMs = Math.max(spanMs, s.atMs + s.holdMs);
    if (s.overlaps === undefined) continue;
    overlaps++;
    const of = schedule.steps[s.overlaps - 1];
    if (of !== undefined && s.atMs - of.atMs <= TAKEOVER_WINDOW_MS) inTakeoverWindow++;
  }
  const counts = Object.entries(perKind)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, c]) => `${k} ${c}`)
    .join(', ');
  const text =
    `seed ${schedule.seed}: ${schedule.steps.length} faults over ${(spanMs / 1000).toFixed(1)} s (${counts}); ` +
    `${overlaps} overlapping, ${inTakeoverWindow} of them inside a takeover window`;
  return { faults: schedule.steps.length, spanMs, perKind, overlaps, inTakeoverWindow, text };
}
