// The chaos run's checker: samples in, named violations out (a Jepsen-style checker over the run's history).
// Pure: no clock, no I/O. Pacemaker's CTS once ran for years with its "resource active on two nodes" audit
// silently disabled, so every rule here has tests that feed it a deliberately broken trace.
//
// Samples must come in time order (equal times allowed): the lab merges its samplers by t before feeding.
// A sample older than the previous one is rejected with a RangeError rather than silently reordered, since
// the rules below are streaming and a late sample would be judged against a state it never belonged to.
import type {
  ArpSample,
  BindingsSample,
  CallSample,
  FaultSample,
  NodeSample,
  ProbeSample,
  ProcessSample,
  RegisteredSample,
  Sample,
} from './samples.js';
import { type Violation, Violations } from './violations.js';

export { formatReport } from './format.js';
export type { Sample } from './samples.js';
export type { InvariantName, Violation } from './violations.js';

export interface CheckerOptions {
  /**
   * Longest run of two ARP owners allowed per takeover (ms); default 500. sipha releases the VIP before the
   * other host adds it (break-before-make), but a crashed host's orphaned worker may release late and the
   * client's ARP cache still holds the old answer, so a short overlap is observable; longer is a split brain.
   * Negative: no overlap at all, not even one sample (cluster mode: the etcd permit orders every takeover).
   */
  overlapMs?: number;
  /** Longest a fault that leaves a healthy node may go without an ok probe (ms). */
  resumeBoundMs?: number;
  /** Longest the pair may take to settle once no fault is active (ms); default 10,000. */
  settleBoundMs?: number;
}

export interface FaultStats {
  /** Injects of this fault. */
  count: number;
  /**
   * Measured gaps (ms): the longest silence between ok probes beginning within TAKEOVER_WINDOW_MS of the clock
   * start, for the faults that left a healthy node.
   */
  gaps: number[];
  /** Of those, how many were over the bound (or never resumed). */
  late: number;
  /** New primaries (another host in a higher term) seen while this fault was the latest injected. */
  takeovers: number;
  /** Times (ms) from the end of a fault's quiet period start (its heal, the last active) to a settled pair. */
  settles: number[];
  /** Violations whose episode began while this fault was the latest injected. */
  violations: number;
}

export interface Report {
  violations: Violation[];
  perFault: Record<string, FaultStats>;
  totals: {
    samples: number;
    faults: number;
    /** Waits for service cancelled by a later fault that left no healthy node. */
    superseded: number;
    /** Waits whose clock never started (an earlier fault never healed) by the end of the run. */
    unmeasured: number;
    /** Takeovers by a backup whose last sample said it was not synced. */
    unsyncedTakeovers: number;
    /** Bindings promised and missing at the end, all promised before an unsynced takeover (not violations). */
    lostUnsynced: number;
    violations: number;
  };
}

// --- single-vip-owner -------------------------------------------------------------------------------------
// Rule: at most one host answers ARP for the VIP, except for one overlap window per takeover of at most
// overlapMs. A window is a maximal run of samples with two or more owners, measured from its first sample to
// its last (only what was observed: the sampling period is not counted against the pair). A takeover is the
// sole owner changing; a second window before it changes is a violation however short (a split brain that
// the sampler sees only now and then must not pass as many short overlaps).
// Why: two hosts answering for the VIP is a split brain: clients' requests go to either and state forks.
interface VipState {
  /** Hosts a fault has stopped (stopsHost): their kernel answers for a VIP nothing on them can release. */
  stopped: Set<string>;
  overlapSince: number | null;
  reported: boolean;
  /** The last sole owner seen, and whether an overlap window began since it became the owner. */
  sole: string | null;
  windowSinceTakeover: boolean;
}

function checkSingleVipOwner(s: VipState, x: ArpSample, overlapMs: number, out: Violations): void {
  const owners = new Set(x.owners);
  // A window nobody answered in says nothing about how many hosts hold the VIP (a reply lost or late on a busy
  // machine): it neither ends an overlap nor starts a new one (seed 2026 split one overlap in two this way).
  if (owners.size === 0) return;
  // A stopped host among the owners: the overlap is the fault's (only fencing could end it); its window starts
  // once the host runs again, when the node must notice the higher term and release at once.
  if (owners.size >= 2 && [...owners].some((o) => s.stopped.has(o))) {
    s.overlapSince = null;
    s.reported = false;
    // A takeover is under way (the stopped host's replacement answers): the window after the heal is its own.
    s.windowSinceTakeover = false;
    return;
  }
  if (owners.size < 2) {
    s.overlapSince = null;
    s.reported = false;
    const [only] = owners;
    if (only !== undefined && only !== s.sole) {
      s.sole = only;
      s.windowSinceTakeover = false;
    }
    return;
  }
  const who = [...owners].sort().join(', ');
  if (s.overlapSince === null) {
    s.overlapSince = x.t;
    if (s.windowSinceTakeover) {
      s.reported = true;
      const detail = `VIP answered by ${who} again without a takeover since the last overlap (owner ${s.sole})`;
      out.add('single-vip-owner', String(x.t), x.t, detail);
    }
    s.windowSinceTakeover = true;
  }
  if (!s.reported && x.t - s.overlapSince > overlapMs) {
    s.reported = true;
    const detail = `VIP answered by ${who} for more than ${overlapMs} ms`;
    out.add('single-vip-owner', String(s.overlapSince), s.overlapSince, detail);
  }
}

function onFaultForVip(s: VipState, x: FaultSample): void {
  if (x.stopsHost !== true) return;
  if (x.phase === 'inject') s.stopped.add(x.host);
  else s.stopped.delete(x.host);
}

// --- term-monotonic ---------------------------------------------------------------------------------------
// Rule: a host's term never goes down, across restarts too (the term is persisted before it is used).
// Why: the term orders the primaries; a term going back lets an old primary's decisions win over newer ones.
function checkTermMonotonic(last: Map<string, number>, x: NodeSample, out: Violations): void {
  if (!x.reachable) return;
  const before = last.get(x.host);
  if (before !== undefined && x.term < before)
    out.add('term-monotonic', x.host, x.t, `${x.host}: term went from ${before} down to ${x.term}`);
  if (before === undefined || x.term > before) last.set(x.host, x.term);
}

// --- unique-primary-per-term ------------------------------------------------------------------------------
// Rule: two different hosts are never seen primary with the same term, at any time (not only at once).
// Why: a term names one election's winner (Raft's election safety); two winners of one term is a split brain
// even when the two reigns did not overlap in the samples.
function checkUniquePrimaryPerTerm(primaryOf: Map<number, string>, x: NodeSample, out: Violations): void {
  if (!x.reachable || x.role !== 'primary') return;
  const first = primaryOf.get(x.term);
  if (first === undefined) primaryOf.set(x.term, x.host);
  else if (first !== x.host)
    out.add(
      'unique-primary-per-term',
      `${x.term}`,
      x.t,
      `${x.host} primary in term ${x.term}, which ${first} held`,
    );
}

// --- service-resumes --------------------------------------------------------------------------------------
// Rule: after a fault injected with leavesHealthyNode, the longest silence (the interval between two consecutive
// ok probes) that begins within TAKEOVER_WINDOW_MS of its clock start is at most resumeBoundMs; that silence is
// the fault's gap. The clock starts at the inject; if other faults were active then, it starts at the last of
// their heals instead (service may be down for their reasons, and the bound is for one takeover, not a chain). A
// later inject that leaves no healthy node cancels the waits still open (superseded: nothing can answer). A wait
// closes at the first ok probe after its window.
// Why: the pair exists to keep serving through any single failure; the gap is the outage clients saw. (The first
// ok probe after the inject would say nothing: a fault takes effect, and a takeover happens, some time after it.)
/** A silence is the fault's when it begins this soon after the clock start (the failover benchmark's window). */
export const TAKEOVER_WINDOW_MS = 1500;

interface Wait {
  n: number;
  fault: string;
  clockStart: number | null;
  blockers: Set<number>;
  /** The last ok probe since the clock started. */
  lastOk: number | null;
  maxGap: number;
  reported: boolean;
}

interface ServiceState {
  active: Set<number>;
  waits: Wait[];
  superseded: number;
}

/** A silence is counted from the clock start at the earliest: one that began before it is not this fault's. */
function startClock(w: Wait, t: number): void {
  w.clockStart = t;
}

function onFaultForService(s: ServiceState, x: FaultSample, stats: FaultStats): void {
  if (x.phase === 'heal') {
    s.active.delete(x.n);
    for (const w of s.waits)
      if (w.blockers.delete(x.n) && w.blockers.size === 0 && w.clockStart === null) startClock(w, x.t);
    return;
  }
  stats.count++;
  if (!x.leavesHealthyNode) {
    s.superseded += s.waits.length;
    s.waits = [];
  } else {
    const blockers = new Set(s.active);
    const w: Wait = {
      n: x.n,
      fault: x.fault,
      clockStart: null,
      blockers,
      lastOk: null,
      maxGap: 0,
      reported: false,
    };
    if (blockers.size === 0) startClock(w, x.t);
    s.waits.push(w);
  }
  s.active.add(x.n);
}

function onProbeForService(
  s: ServiceState,
  x: ProbeSample,
  perFault: Map<string, FaultStats>,
  bound: number,
  out: Violations,
): void {
  if (!x.ok) return;
  s.waits = s.waits.filter((w) => {
    if (w.clockStart === null || x.t <= w.clockStart) return true;
    const from = w.lastOk ?? w.clockStart;
    if (from <= w.clockStart + TAKEOVER_WINDOW_MS) w.maxGap = Math.max(w.maxGap, x.t - from);
    w.lastOk = x.t;
    if (w.maxGap > bound) lateService(w, bound, out, `a silence of ${Math.round(w.maxGap)} ms`);
    if (x.t <= w.clockStart + TAKEOVER_WINDOW_MS) return true;
    closeWait(w, perFault);
    return false;
  });
}

function closeWait(w: Wait, perFault: Map<string, FaultStats>): void {
  const stats = perFault.get(w.fault) as FaultStats;
  stats.gaps.push(Math.round(w.maxGap * 10) / 10);
  if (w.reported) stats.late++;
}

/** Reports a silence past its bound as soon as a sample shows it, so a run cut short still shows it. */
function checkServiceDeadlines(s: ServiceState, t: number, bound: number, out: Violations): void {
  for (const w of s.waits) {
    if (w.reported || w.clockStart === null) continue;
    const from = w.lastOk ?? w.clockStart;
    if (from <= w.clockStart + TAKEOVER_WINDOW_MS && t - from > bound)
      lateService(w, bound, out, `no ok probe for ${Math.round(t - from)} ms`);
  }
}

function lateService(w: Wait, bound: number, out: Violations, how: string): void {
  if (w.reported) return;
  w.reported = true;
  out.add(
    'service-resumes',
    `${w.n}`,
    w.clockStart as number,
    `fault ${w.n} (${w.fault}): ${how}, bound ${bound} ms`,
  );
}

// --- registrations-kept -----------------------------------------------------------------------------------
// Rule: every binding a 2xx promised before the final bindings listing, and whose expiresAt is after that
// listing's t, is in the final primary's bindings (the final primary: the host whose last node sample says
// primary, reachable; if two do, the higher term).
// Why: an acknowledged REGISTER is a promise to route calls to that contact; losing it in a takeover is lost
// data (Jepsen's "acknowledged writes survive").
// Except: a binding promised before a takeover by a backup that was not synced (a node still taking its first
// snapshot after a restart when the primary failed: the pair had one copy, and it went with the primary). Those
// are counted (lostUnsynced), not violations: promoting then is the product's choice of service over a wait.
function checkRegistrationsKept(
  promised: Map<string, RegisteredSample>,
  lastNode: Map<string, NodeSample>,
  lastBindings: Map<string, BindingsSample>,
  unsyncedTakeovers: readonly number[],
  out: Violations,
): number {
  let lostUnsynced = 0;
  if (promised.size === 0) return 0;
  const primaries = [...lastNode.values()].filter((n) => n.reachable && n.role === 'primary');
  primaries.sort((a, b) => b.term - a.term || b.t - a.t);
  const primary = primaries[0];
  const end = Math.max(0, ...[...lastNode.values()].map((n) => n.t));
  if (!primary) {
    out.add(
      'registrations-kept',
      'no-primary',
      end,
      'no host is primary at the end: every live binding is unreachable',
    );
    return 0;
  }
  const listing = lastBindings.get(primary.host);
  if (!listing) {
    out.add(
      'registrations-kept',
      'no-listing',
      end,
      `no bindings listing from the final primary ${primary.host}`,
    );
    return 0;
  }
  const held = new Set(listing.aors.map((b) => bindingKey(b.aor, b.contact)));
  // One offence per final listing, counted per missing binding: the first one names it.
  for (const [, r] of promised)
    if (r.t <= listing.t && r.expiresAt > listing.t && !held.has(bindingKey(r.aor, r.contact))) {
      if (unsyncedTakeovers.some((t) => t >= r.t && t <= listing.t)) {
        lostUnsynced++;
        continue;
      }
      out.add(
        'registrations-kept',
        `missing on ${primary.host}`,
        listing.t,
        `bindings promised (2xx) and missing on ${primary.host}, the first ${r.aor} → ${r.contact} (registered at ${r.t})`,
      );
    }
  return lostUnsynced;
}

/** The registrar lists an AoR without its scheme (user@domain); a client promises it as a URI. */
const bindingKey = (aor: string, contact: string) => `${aor.replace(/^sips?:/i, '')}\u0000${contact}`;

// --- calls-end --------------------------------------------------------------------------------------------
// Rule: every call confirmed is ended by a BYE answered 2xx by the end of the run. A BYE answered with another
// final (481: the dialog is unknown downstream) is a violation when it comes; a call with no final BYE answer
// at the end is one too, with the last failed try (408, 503, timeout) if there was one. Failed tries before a
// 2xx are fine: an outage of a few seconds may eat a BYE, and the client tries again.
// Why: a call set up through the pair must be able to end through it after a takeover (record-routing through
// the VIP keeps in-dialog requests on the pair); a BYE that cannot get through leaves both phones in the call.
interface OpenCall {
  confirmedAt: number;
  lastFailure?: { t: number; status: number | 'timeout' };
}

function onCallSample(open: Map<string, OpenCall>, x: CallSample, out: Violations): void {
  if (x.phase === 'confirmed') {
    if (!open.has(x.callId)) open.set(x.callId, { confirmedAt: x.t });
    return;
  }
  const call = open.get(x.callId);
  if (call === undefined) return;
  const status = x.status ?? 'timeout';
  if (x.phase === 'end-failed') {
    call.lastFailure = { t: x.t, status };
    return;
  }
  open.delete(x.callId);
  if (typeof status === 'number' && status >= 200 && status < 300) return;
  out.add(
    'calls-end',
    x.callId,
    x.t,
    `call ${x.callId} (confirmed at ${call.confirmedAt}): BYE answered ${status}`,
  );
}

function checkCallsEnded(open: Map<string, OpenCall>, out: Violations): void {
  for (const [callId, call] of open) {
    const last = call.lastFailure;
    const why = last === undefined ? 'no BYE answered' : `last BYE try ${last.status} at ${last.t}`;
    out.add(
      'calls-end',
      callId,
      call.confirmedAt,
      `call ${callId} (confirmed at ${call.confirmedAt}) never ended: ${why}`,
    );
  }
}

// --- pair-settles ---------------------------------------------------------------------------------------
// Rule: once no fault is active, the pair settles within settleBoundMs: both nodes answer, one primary and one
// backup, and the VIP is answered by the primary alone. A quiet period cut short by the next inject before the
// bound says nothing (the schedule's gaps are often shorter than a restart); the end of the run always counts.
// Why: a pair that serves but never settles (no backup, a node stuck in fault, a VIP on the wrong host) has lost
// its redundancy, and the next fault becomes an outage.
interface SettleState {
  quietSince: number | null;
  /** The fault whose heal began the quiet period. */
  after: string | undefined;
  settled: boolean;
  reported: boolean;
  lastOwners: string[] | undefined;
  lastOwnersT: number;
}

/** Settled now, on samples taken since the quiet period began (what was seen before it is stale). */
function isSettled(s: SettleState, lastNode: Map<string, NodeSample>): boolean {
  const since = s.quietSince ?? 0;
  const nodes = [...lastNode.values()];
  if (nodes.length < 2 || nodes.some((n) => !n.reachable || n.t < since) || s.lastOwnersT < since)
    return false;
  const primaries = nodes.filter((n) => n.role === 'primary');
  const backups = nodes.filter((n) => n.role === 'backup');
  if (primaries.length !== 1 || backups.length !== nodes.length - 1) return false;
  return s.lastOwners?.length === 1 && s.lastOwners[0] === primaries[0]?.host;
}

function checkSettles(
  s: SettleState,
  t: number,
  lastNode: Map<string, NodeSample>,
  perFault: Map<string, FaultStats>,
  bound: number,
  out: Violations,
): void {
  // Judged only on what was observed: a trace without node samples has nothing that could settle.
  if (s.quietSince === null || s.settled || lastNode.size === 0) return;
  if (isSettled(s, lastNode)) {
    s.settled = true;
    if (s.after !== undefined) perFault.get(s.after)?.settles.push(t - s.quietSince);
    return;
  }
  if (!s.reported && t - s.quietSince > bound) {
    s.reported = true;
    const roles = [...lastNode.values()]
      .map((n) => `${n.host} ${n.reachable ? n.role : 'unreachable'}`)
      .join(', ');
    out.add(
      'pair-settles',
      `${s.quietSince}`,
      s.quietSince,
      `not settled ${bound} ms after ${s.after ?? 'the start'} healed (${roles}; VIP answered by ${s.lastOwners?.join(', ') || 'nobody'})`,
    );
  }
}

// --- no-crash ---------------------------------------------------------------------------------------------
// Rule: no process of the pair ends, and no log says one failed (unhandled rejection, uncaught exception,
// fatal), unless a fault did it.
// Why: a crash the fault did not cause is a bug the takeover hid; the next one may be on the other node.
function checkProcess(x: ProcessSample, out: Violations): void {
  if (!x.expected) out.add('no-crash', `${x.host} ${x.detail}`, x.t, `${x.host}: ${x.detail}`);
}

// --- the checker ------------------------------------------------------------------------------------------
export class Checker {
  private readonly overlapMs: number;
  private readonly resumeBoundMs: number;
  private readonly out = new Violations();
  private lastT = Number.NEGATIVE_INFINITY;
  private samples = 0;
  private readonly settleBoundMs: number;
  private readonly settle: SettleState = {
    quietSince: 0,
    after: undefined,
    settled: false,
    reported: false,
    lastOwners: undefined,
    lastOwnersT: 0,
  };
  /** Injects in time order, to put each violation and takeover down to the latest fault before it. */
  private readonly injects: Array<{ t: number; fault: string }> = [];
  private primary: { host: string; term: number } | undefined;
  /** Each host's replication state in its last sample as a backup; and when a backup not synced took over. */
  private readonly backupSynced = new Map<string, boolean>();
  private readonly unsyncedTakeovers: number[] = [];
  private lostUnsynced = 0;
  private readonly vip: VipState = {
    stopped: new Set(),
    overlapSince: null,
    reported: false,
    sole: null,
    windowSinceTakeover: false,
  };
  private readonly lastTerm = new Map<string, number>();
  private readonly primaryOfTerm = new Map<number, string>();
  private readonly service: ServiceState = { active: new Set(), waits: [], superseded: 0 };
  private readonly perFault = new Map<string, FaultStats>();
  /** The latest promise per (AoR, contact): a refresh or an unregister replaces it. */
  private readonly promised = new Map<string, RegisteredSample>();
  private readonly lastNode = new Map<string, NodeSample>();
  private readonly lastBindings = new Map<string, BindingsSample>();
  /** Calls confirmed and not yet ended, by Call-ID. */
  private readonly openCalls = new Map<string, OpenCall>();
  private finished = false;

  constructor(opts: CheckerOptions = {}) {
    this.overlapMs = opts.overlapMs ?? 500;
    this.resumeBoundMs = opts.resumeBoundMs ?? 3000;
    this.settleBoundMs = opts.settleBoundMs ?? 10_000;
  }

  feed(x: Sample): void {
    if (this.finished) throw new Error('checker: feed after finish');
    if (!(x.t >= this.lastT))
      throw new RangeError(`checker: sample out of time order (${x.kind} at t=${x.t} after t=${this.lastT})`);
    this.lastT = x.t;
    // The run's start is a quiet period too: the pair must be settled before the first fault.
    if (this.samples++ === 0) this.settle.quietSince = x.t;
    switch (x.kind) {
      case 'arp':
        checkSingleVipOwner(this.vip, x, this.overlapMs, this.out);
        this.settle.lastOwners = [...new Set(x.owners)];
        this.settle.lastOwnersT = x.t;
        break;
      case 'node':
        checkTermMonotonic(this.lastTerm, x, this.out);
        checkUniquePrimaryPerTerm(this.primaryOfTerm, x, this.out);
        this.lastNode.set(x.host, x);
        this.noteTakeover(x);
        break;
      case 'process':
        checkProcess(x, this.out);
        break;
      case 'probe':
        onProbeForService(this.service, x, this.perFault, this.resumeBoundMs, this.out);
        break;
      case 'fault':
        onFaultForService(this.service, x, this.statsOf(x.fault));
        onFaultForVip(this.vip, x);
        this.onFaultForSettle(x);
        break;
      case 'registered':
        this.promised.set(bindingKey(x.aor, x.contact), x);
        break;
      case 'bindings':
        this.lastBindings.set(x.host, x);
        break;
      case 'call':
        onCallSample(this.openCalls, x, this.out);
        break;
    }
    checkServiceDeadlines(this.service, x.t, this.resumeBoundMs, this.out);
    checkSettles(this.settle, x.t, this.lastNode, this.perFault, this.settleBoundMs, this.out);
  }

  private onFaultForSettle(x: FaultSample): void {
    if (x.phase === 'inject') {
      this.injects.push({ t: x.t, fault: x.fault });
      this.settle.quietSince = null;
      return;
    }
    if (this.service.active.size > 0) return;
    Object.assign(this.settle, { quietSince: x.t, after: x.fault, settled: false, reported: false });
  }

  /** A reachable primary in a term above every primary seen, on another host than the last: a takeover. */
  private noteTakeover(x: NodeSample): void {
    if (x.reachable && x.role !== 'primary') this.backupSynced.set(x.host, x.synced !== false);
    if (!x.reachable || x.role !== 'primary') return;
    const was = this.primary;
    if (was !== undefined && x.term <= was.term) return;
    this.primary = { host: x.host, term: x.term };
    if (was === undefined || was.host === x.host) return;
    if (this.backupSynced.get(x.host) === false) this.unsyncedTakeovers.push(x.t);
    const latest = this.injects.at(-1);
    if (latest !== undefined) this.statsOf(latest.fault).takeovers++;
  }

  /** The fault injected last at or before t. */
  private faultAt(t: number): string | undefined {
    let found: string | undefined;
    for (const i of this.injects) {
      if (i.t > t) break;
      found = i.fault;
    }
    return found;
  }

  finish(): Report {
    if (!this.finished) {
      this.finished = true;
      // Waits still in their window at the end: the silence measured so far (or none, if the clock never
      // started: unmeasured).
      for (const w of this.service.waits)
        if (w.clockStart !== null && w.lastOk !== null) closeWait(w, this.perFault);
        else if (w.reported) (this.perFault.get(w.fault) as FaultStats).late++;
      this.lostUnsynced = checkRegistrationsKept(
        this.promised,
        this.lastNode,
        this.lastBindings,
        this.unsyncedTakeovers,
        this.out,
      );
      checkCallsEnded(this.openCalls, this.out);
    }
    const violations = this.out.list();
    const blamed = new Map<string, number>();
    for (const v of violations) {
      const f = this.faultAt(v.t);
      if (f !== undefined) blamed.set(f, (blamed.get(f) ?? 0) + 1);
    }
    const perFault: Record<string, FaultStats> = {};
    for (const [name, st] of [...this.perFault].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      perFault[name] = {
        count: st.count,
        gaps: [...st.gaps],
        late: st.late,
        takeovers: st.takeovers,
        settles: [...st.settles],
        violations: blamed.get(name) ?? 0,
      };
    return {
      violations,
      perFault,
      totals: {
        samples: this.samples,
        faults: [...this.perFault.values()].reduce((sum, st) => sum + st.count, 0),
        superseded: this.service.superseded,
        unmeasured: this.service.waits.filter((w) => w.clockStart === null).length,
        unsyncedTakeovers: this.unsyncedTakeovers.length,
        lostUnsynced: this.lostUnsynced,
        violations: violations.length,
      },
    };
  }

  private statsOf(fault: string): FaultStats {
    let st = this.perFault.get(fault);
    if (!st) {
      st = { count: 0, gaps: [], late: 0, takeovers: 0, settles: [], violations: 0 };
      this.perFault.set(fault, st);
    }
    return st;
  }
}

/** Checks a whole trace at once (tests, and re-checking a saved history). */
export function check(samples: Iterable<Sample>, opts?: CheckerOptions): Report {
  const c = new Checker(opts);
  for (const x of samples) c.feed(x);
  return c.finish();
}
