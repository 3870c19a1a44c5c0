// The HA role state machine: pure and deterministic, in the style of etcd-io/raft's step(). Events go in (peer
// heartbeats, liveness, local health, witnesses, operator requests, VIP results, ticks); the new state and the
// actions to carry out come out, in the order they must be carried out. No clocks, no I/O, no randomness: the
// node (src/ha/node.ts) turns the world into events and the actions into effects.
//
// States (DESIGN.md "Roles"): starting → backup ⇄ primary, fault from any state when local health fails.
// Every promotion takes term+1 and persists it before the VIP is added (like a Raft term: a frozen primary that
// wakes up learns from the higher term that it was replaced). Two primaries compare (term, priority, id); the
// loser releases at once, the winner announces again (stale neighbour caches after a dual-primary episode are
// the most reported keepalived failure).
//
// THE TRANSITION TABLE. `step` first folds the event into what the node knows (peer, witnesses, health), then
// takes the first row of TABLE whose `from`, `on` and guard match; no row means "no change, no action".
// Actions are named here and expanded by `expand` below (promote/demote are fixed sequences).
//
//  from      on                     guard                         to        actions
//  starting  started                healthy                       backup    set-worker-role(backup), send-heartbeat
//  starting  local-health           released && healthy          backup    set-worker-role(backup), send-heartbeat
//  backup    *knowledge event*      mayClaim && peerDead          primary   PROMOTE(peer-dead)
//  backup    *knowledge event*      mayClaim && peerFault         primary   PROMOTE(peer-fault)
//  backup    *knowledge event*      mayClaim && peerYields        primary   PROMOTE(switchover)
//  backup    *knowledge event*      mayClaim && electionWon       primary   PROMOTE(election)
//  backup    *knowledge event*      preemptDue                    backup    request-resign(preempt)
//  backup    switchover-requested   peerPrimary                   backup    request-resign(switchover), result ok
//  backup    switchover-requested   otherwise                     backup    result refused
//  primary   peer-heartbeat         peerPrimaryWins               backup    DEMOTE(higher-term), alarm dual-primary
//  primary   peer-heartbeat         dualPrimaryWon (first time)   primary   announce, alarm dual-primary, heartbeat
//  primary   peer-heartbeat         higherTermFromNonPrimary      primary   persist-term(peer term)
//  primary   *knowledge event*      isolated                      backup    DEMOTE(isolated), alarm isolated
//  primary   witnesses              lostWitnesses && peerReady    backup    DEMOTE+RESIGN(witnesses-lost)
//  primary   switchover-requested   peerReady                     backup    DEMOTE+RESIGN(switchover), result ok
//  primary   resign-requested       peerReady                     backup    DEMOTE+RESIGN(switchover|preempt)
//  primary   switchover-requested   otherwise                     primary   result refused
//  primary   vip-result             enable failed                 fault     DEMOTE(vip-failed), alarm
//  ¬primary  vip-result             disable failed                fault     alarm vip-release-failed (retried on tick)
//  fault     vip-result             disable ok, pending, healthy  backup    set-worker-role(backup), heartbeat
//  fault     tick                   releasePending                fault     disable-vip (retry)
//  any¬fault local-health           unhealthy                     fault     DEMOTE(local-fault) if primary, alarm
//  fault     local-health           healthy && !releasePending    backup    set-worker-role(backup), heartbeat
//  backup    peer-heartbeat         term > ours                   backup    persist-term(peer term)
//  *         switchover-requested   otherwise                     same      result refused
//
// "knowledge event" = peer-heartbeat, peer-dead, peer-resigned, witnesses, local-health, started, tick.
// PROMOTE(cause) = timeline(promote), persist-term(term+1), set-worker-role(primary), enable-vip, announce,
//                  send-heartbeat.   (persist before enable: a term must never be reused after a crash)
// DEMOTE(cause)  = timeline(demote) if primary, disable-vip, set-worker-role(backup), send-heartbeat.
// DEMOTE+RESIGN  = timeline(demote), disable-vip, send-resign, set-worker-role(backup), send-heartbeat, and the
//                  node holds back from elections for `holdTicks` ticks so that the peer can take over.

export type Role = 'starting' | 'backup' | 'primary' | 'fault';
export type PeerStatus = 'unknown' | 'alive' | 'dead';
export type Witnesses = 'unknown' | 'reachable' | 'unreachable';

export type PromoteCause = 'peer-dead' | 'peer-fault' | 'switchover' | 'election';
export type DemoteCause =
  | 'higher-term'
  | 'isolated'
  | 'witnesses-lost'
  | 'switchover'
  | 'preempt'
  | 'vip-failed'
  | 'local-fault';
export type Cause = PromoteCause | DemoteCause;

export interface PeerView {
  status: PeerStatus;
  /** From the last heartbeat; undefined until one is heard. */
  role: Role | undefined;
  term: number;
  priority: number;
  id: string;
  /** The peer is healthy, sees its witnesses and could take over now (switchover is gated on it). */
  ready: boolean;
  /** The peer resigned (or holds back after resigning) and expects us to take over. */
  yielding: boolean;
}

export interface RoleConfig {
  id: string;
  priority: number;
  preempt: boolean;
  /** Ticks a node that resigned stays out of elections (the node ticks every heartbeat). */
  holdTicks: number;
}

export interface RoleState {
  role: Role;
  /** Highest term known; persisted. A primary's term is the term of its promotion (or adopted since). */
  term: number;
  config: RoleConfig;
  peer: PeerView;
  witnesses: Witnesses;
  healthy: boolean;
  healthReason: string;
  /** The safe-start VIP release is done (`started`). */
  released: boolean;
  /** A VIP release failed; the node retries it on every tick while in fault. */
  releasePending: boolean;
  /** Ticks left during which this node does not promote by election (after resigning). */
  hold: number;
  /** Ticks left before a preempting node asks again. */
  preemptWait: number;
  /** A dual-primary episode this node won is going on (announce once, not on every heartbeat). */
  dualPrimary: boolean;
}

export type RoleEvent =
  | { type: 'started' }
  | {
      type: 'peer-heartbeat';
      term: number;
      role: Role;
      priority: number;
      id: string;
      ready: boolean;
      yielding: boolean;
    }
  | { type: 'peer-dead' }
  | { type: 'peer-resigned'; term: number }
  /** The peer (a backup asked by an operator, or a preempting node) asks this primary to hand over. */
  | { type: 'resign-requested'; reason: 'switchover' | 'preempt' }
  | { type: 'local-health'; ok: boolean; reason: string }
  | { type: 'witnesses'; reachable: boolean }
  | { type: 'switchover-requested' }
  | { type: 'vip-result'; op: 'enable' | 'disable'; ok: boolean; reason?: string }
  | { type: 'tick' };

export type EventType = RoleEvent['type'];

export type RoleAction =
  | { type: 'persist-term'; term: number }
  | { type: 'enable-vip' }
  | { type: 'disable-vip' }
  | { type: 'announce' }
  | { type: 'set-worker-role'; role: 'primary' | 'backup' }
  | { type: 'send-heartbeat' }
  | { type: 'send-resign'; term: number }
  | { type: 'request-resign'; reason: 'switchover' | 'preempt' }
  | { type: 'timeline'; kind: 'promote' | 'demote'; cause: Cause; oldTerm: number; newTerm: number }
  | { type: 'raise-alarm'; alarm: string; detail: string }
  | { type: 'switchover-result'; ok: boolean; detail: string };

export interface StepResult {
  state: RoleState;
  actions: RoleAction[];
}

export function initialState(
  config: RoleConfig,
  persistedTerm: number,
  witnessesConfigured: boolean,
): RoleState {
  return {
    role: 'starting',
    term: persistedTerm,
    config,
    peer: {
      status: 'unknown',
      role: undefined,
      term: 0,
      priority: 0,
      id: '',
      ready: false,
      yielding: false,
    },
    // No witnesses configured: nothing can say we are isolated, so the check passes (like keepalived without
    // track scripts).
    witnesses: witnessesConfigured ? 'unknown' : 'reachable',
    healthy: false,
    healthReason: 'worker not ready',
    released: false,
    releasePending: false,
    hold: 0,
    preemptWait: 0,
    dualPrimary: false,
  };
}

/** True when (term, priority, id) of a beats b: the primary that keeps the VIP in a dual-primary episode. */
export function outranks(
  a: { term: number; priority: number; id: string },
  b: { term: number; priority: number; id: string },
): boolean {
  if (a.term !== b.term) return a.term > b.term;
  if (a.priority !== b.priority) return a.priority > b.priority;
  return a.id < b.id; // lower id wins a full tie: deterministic and the same on both nodes
}

/** What this node would advertise: ready to take over (or to keep) the VIP. */
export function isReady(s: RoleState): boolean {
  return (s.role === 'backup' || s.role === 'primary') && s.healthy && s.witnesses === 'reachable';
}

// ---- guards (named: the table and the tests refer to them) ----

type Guard = (s: RoleState, e: RoleEvent) => boolean;

const me = (s: RoleState) => ({ term: s.term, priority: s.config.priority, id: s.config.id });
const peerAlive = (s: RoleState) => s.peer.status === 'alive';
/** May this node claim the VIP at all: healthy and not isolated. An isolated node never claims the VIP. */
const mayClaim: Guard = (s) => s.healthy && s.witnesses === 'reachable' && !s.releasePending;

export const GUARDS = {
  always: (() => true) as Guard,
  healthy: ((s) => s.healthy) as Guard,
  releasedAndHealthy: ((s) => s.released && s.healthy) as Guard,
  unhealthy: ((_s, e) => e.type === 'local-health' && !e.ok) as Guard,
  healthyNoPending: ((s, e) => e.type === 'local-health' && e.ok && !s.releasePending) as Guard,
  peerDead: ((s) => mayClaim(s, { type: 'tick' }) && s.peer.status === 'dead') as Guard,
  peerFault: ((s) => mayClaim(s, { type: 'tick' }) && peerAlive(s) && s.peer.role === 'fault') as Guard,
  peerYields: ((s) =>
    mayClaim(s, { type: 'tick' }) && peerAlive(s) && s.peer.role !== 'primary' && s.peer.yielding) as Guard,
  /**
   * Nobody is primary and we win the election: the peer is a backup that is not ready, or ranks lower. A peer
   * still starting is waited for (a cold start of the pair elects by priority); its start is bounded, after which
   * it reports fault and the peer-fault row applies.
   */
  electionWon: ((s) =>
    mayClaim(s, { type: 'tick' }) &&
    peerAlive(s) &&
    s.hold === 0 &&
    s.peer.role === 'backup' &&
    (!s.peer.ready || outranks({ ...me(s), term: 0 }, { ...s.peer, term: 0 }))) as Guard,
  /** preempt: a better-priority backup asks the primary to hand over (explicitly, never by a dual primary). */
  preemptDue: ((s) =>
    s.config.preempt &&
    mayClaim(s, { type: 'tick' }) &&
    peerAlive(s) &&
    s.peer.role === 'primary' &&
    s.preemptWait === 0 &&
    (s.config.priority > s.peer.priority ||
      (s.config.priority === s.peer.priority && s.config.id < s.peer.id))) as Guard,
  peerPrimary: ((s) => peerAlive(s) && s.peer.role === 'primary') as Guard,
  peerReady: ((s) => peerAlive(s) && s.peer.role === 'backup' && s.peer.ready) as Guard,
  peerPrimaryWins: ((s, e) =>
    e.type === 'peer-heartbeat' && e.role === 'primary' && outranks(e, me(s))) as Guard,
  dualPrimaryWon: ((s, e) =>
    e.type === 'peer-heartbeat' && e.role === 'primary' && !s.dualPrimary && outranks(me(s), e)) as Guard,
  higherTermFromNonPrimary: ((s, e) =>
    e.type === 'peer-heartbeat' && e.role !== 'primary' && e.term > s.term) as Guard,
  higherTerm: ((s, e) => e.type === 'peer-heartbeat' && e.term > s.term) as Guard,
  /** Lost both the peer and the witnesses: give the VIP up (it may be the only one left, but it is cut off). */
  isolated: ((s) => s.peer.status === 'dead' && s.witnesses === 'unreachable') as Guard,
  /** Lost the witnesses while the peer still sees its own: hand over gracefully. */
  lostWitnessesPeerReady: ((s) =>
    s.witnesses === 'unreachable' && peerAlive(s) && s.peer.role === 'backup' && s.peer.ready) as Guard,
  enableFailed: ((_s, e) => e.type === 'vip-result' && e.op === 'enable' && !e.ok) as Guard,
  disableFailed: ((_s, e) => e.type === 'vip-result' && e.op === 'disable' && !e.ok) as Guard,
  disableOk: ((_s, e) => e.type === 'vip-result' && e.op === 'disable' && e.ok) as Guard,
  /** A retried release finally worked and the node is otherwise healthy: back to backup. */
  disableOkHealthy: ((s, e) =>
    e.type === 'vip-result' && e.op === 'disable' && e.ok && s.releasePending && s.healthy) as Guard,
  releasePending: ((s) => s.releasePending) as Guard,
} satisfies Record<string, Guard>;

export type GuardName = keyof typeof GUARDS;

type Step =
  | { do: 'promote'; cause: PromoteCause }
  | { do: 'demote'; cause: DemoteCause; resign?: boolean; alarm?: string }
  | { do: 'become'; alarm?: string }
  | { do: 'adopt-term' }
  | { do: 'dual-primary-won' }
  | { do: 'request-resign'; reason: 'switchover' | 'preempt'; reply?: boolean }
  | { do: 'refuse'; detail: string }
  | { do: 'release-retry' }
  | { do: 'release-failed' }
  | { do: 'release-ok' };

export interface Row {
  from: readonly Role[];
  on: readonly EventType[];
  when: GuardName;
  to: Role | 'same';
  step: Step;
}

const KNOWLEDGE: readonly EventType[] = [
  'peer-heartbeat',
  'peer-dead',
  'peer-resigned',
  'witnesses',
  'local-health',
  'started',
  'tick',
];
const NOT_FAULT: readonly Role[] = ['starting', 'backup', 'primary'];
const ALL: readonly Role[] = ['starting', 'backup', 'primary', 'fault'];

/** The transition table (the header comment of this file is its readable copy). First match wins. */
export const TABLE: readonly Row[] = [
  // VIP command results come first: they are facts about the VIP, whatever else is going on.
  {
    from: ['primary'],
    on: ['vip-result'],
    when: 'enableFailed',
    to: 'fault',
    step: { do: 'demote', cause: 'vip-failed', alarm: 'vip-enable-failed' },
  },
  // (A primary wants the VIP: a failed release it hears about is stale, from before its promotion.)
  {
    from: ['starting', 'backup', 'fault'],
    on: ['vip-result'],
    when: 'disableFailed',
    to: 'fault',
    step: { do: 'release-failed' },
  },
  { from: ['fault'], on: ['vip-result'], when: 'disableOkHealthy', to: 'backup', step: { do: 'release-ok' } },
  { from: ALL, on: ['vip-result'], when: 'disableOk', to: 'same', step: { do: 'release-ok' } },
  { from: ['fault'], on: ['tick'], when: 'releasePending', to: 'fault', step: { do: 'release-retry' } },
  // Local health: a sick node leaves primary mode and releases the VIP first thing.
  {
    from: NOT_FAULT,
    on: ['local-health'],
    when: 'unhealthy',
    to: 'fault',
    step: { do: 'demote', cause: 'local-fault', alarm: 'local-fault' },
  },
  { from: ['fault'], on: ['local-health'], when: 'healthyNoPending', to: 'backup', step: { do: 'become' } },
  { from: ['starting'], on: ['started'], when: 'healthy', to: 'backup', step: { do: 'become' } },
  {
    from: ['starting'],
    on: ['local-health'],
    when: 'releasedAndHealthy',
    to: 'backup',
    step: { do: 'become' },
  },
  // Two primaries: the loser releases at once, the winner announces again.
  {
    from: ['primary'],
    on: ['peer-heartbeat'],
    when: 'peerPrimaryWins',
    to: 'backup',
    step: { do: 'demote', cause: 'higher-term', alarm: 'dual-primary' },
  },
  {
    from: ['primary'],
    on: ['peer-heartbeat'],
    when: 'dualPrimaryWon',
    to: 'primary',
    step: { do: 'dual-primary-won' },
  },
  {
    from: ['primary'],
    on: ['peer-heartbeat'],
    when: 'higherTermFromNonPrimary',
    to: 'primary',
    step: { do: 'adopt-term' },
  },
  // Isolation and witness loss.
  {
    from: ['primary'],
    on: KNOWLEDGE,
    when: 'isolated',
    to: 'backup',
    step: { do: 'demote', cause: 'isolated', alarm: 'isolated' },
  },
  {
    from: ['primary'],
    on: ['witnesses'],
    when: 'lostWitnessesPeerReady',
    to: 'backup',
    step: { do: 'demote', cause: 'witnesses-lost', resign: true, alarm: 'witnesses-lost' },
  },
  // Operator switchover and preemption: the primary resigns explicitly (VRRP priority 0), no timeout involved.
  {
    from: ['primary'],
    on: ['switchover-requested'],
    when: 'peerReady',
    to: 'backup',
    step: { do: 'demote', cause: 'switchover', resign: true },
  },
  {
    from: ['primary'],
    on: ['resign-requested'],
    when: 'peerReady',
    to: 'backup',
    step: { do: 'demote', cause: 'switchover', resign: true },
  },
  {
    from: ['primary'],
    on: ['switchover-requested'],
    when: 'always',
    to: 'same',
    step: { do: 'refuse', detail: 'the peer is not a ready backup' },
  },
  {
    from: ['backup'],
    on: ['switchover-requested'],
    when: 'peerPrimary',
    to: 'same',
    step: { do: 'request-resign', reason: 'switchover', reply: true },
  },
  {
    from: ALL,
    on: ['switchover-requested'],
    when: 'always',
    to: 'same',
    step: { do: 'refuse', detail: 'neither this node nor its peer is primary' },
  },
  // Promotion of a backup.
  {
    from: ['backup'],
    on: KNOWLEDGE,
    when: 'peerDead',
    to: 'primary',
    step: { do: 'promote', cause: 'peer-dead' },
  },
  {
    from: ['backup'],
    on: KNOWLEDGE,
    when: 'peerFault',
    to: 'primary',
    step: { do: 'promote', cause: 'peer-fault' },
  },
  {
    from: ['backup'],
    on: KNOWLEDGE,
    when: 'peerYields',
    to: 'primary',
    step: { do: 'promote', cause: 'switchover' },
  },
  {
    from: ['backup'],
    on: KNOWLEDGE,
    when: 'electionWon',
    to: 'primary',
    step: { do: 'promote', cause: 'election' },
  },
  {
    from: ['backup'],
    on: KNOWLEDGE,
    when: 'preemptDue',
    to: 'same',
    step: { do: 'request-resign', reason: 'preempt' },
  },
  // Terms only grow: a backup (or a node in fault) adopts a higher term it hears, so its next promotion is above it.
  {
    from: ['starting', 'backup', 'fault'],
    on: ['peer-heartbeat'],
    when: 'higherTerm',
    to: 'same',
    step: { do: 'adopt-term' },
  },
];

/** The machine: fold the event into the state, then apply the first matching row of TABLE. */
export function step(state: RoleState, event: RoleEvent): StepResult {
  const s = learn(state, event);
  const row = TABLE.find(
    (r) => r.from.includes(s.role) && r.on.includes(event.type) && GUARDS[r.when](s, event),
  );
  if (row === undefined) return { state: s, actions: [] };
  const out = expand(s, row, event);
  // Leaving fault (e.g. a SIP link back up): a peer we called dead while our own link was down may be alive and
  // primary. Its silence was ours; it is unknown until heard again or silent for a fresh dead_after window (the
  // node restarts the link's window), so this node cannot promote on that stale verdict.
  if (s.role === 'fault' && out.state.role === 'backup' && out.state.peer.status === 'dead') {
    return { ...out, state: { ...out.state, peer: { ...out.state.peer, status: 'unknown' } } };
  }
  return out;
}

/** The matching row, for tests and logs. */
export function matchRow(state: RoleState, event: RoleEvent): Row | undefined {
  const s = learn(state, event);
  return TABLE.find((r) => r.from.includes(s.role) && r.on.includes(event.type) && GUARDS[r.when](s, event));
}

function learn(state: RoleState, e: RoleEvent): RoleState {
  switch (e.type) {
    case 'started':
      return { ...state, released: true };
    case 'peer-heartbeat': {
      const peer: PeerView = {
        status: 'alive',
        role: e.role,
        term: e.term,
        priority: e.priority,
        id: e.id,
        ready: e.ready,
        yielding: e.yielding,
      };
      // A peer that is primary again means any hold after our resignation is over.
      const hold = e.role === 'primary' ? 0 : state.hold;
      const dualPrimary = e.role === 'primary' ? state.dualPrimary : false;
      return { ...state, peer, hold, dualPrimary };
    }
    case 'peer-dead':
      return {
        ...state,
        peer: { ...state.peer, status: 'dead', ready: false, yielding: false },
        dualPrimary: false,
      };
    case 'peer-resigned':
      return {
        ...state,
        peer: { ...state.peer, role: 'backup', yielding: true, term: Math.max(e.term, state.peer.term) },
      };
    case 'local-health':
      return { ...state, healthy: e.ok, healthReason: e.reason };
    case 'witnesses':
      return { ...state, witnesses: e.reachable ? 'reachable' : 'unreachable' };
    case 'tick':
      return { ...state, hold: Math.max(0, state.hold - 1), preemptWait: Math.max(0, state.preemptWait - 1) };
    default:
      return state;
  }
}

function expand(s: RoleState, row: Row, event: RoleEvent): StepResult {
  const to = row.to === 'same' ? s.role : row.to;
  const st = row.step;
  switch (st.do) {
    case 'promote': {
      const term = Math.max(s.term, s.peer.term) + 1;
      return {
        state: { ...s, role: 'primary', term, hold: 0, dualPrimary: false },
        actions: [
          { type: 'timeline', kind: 'promote', cause: st.cause, oldTerm: s.term, newTerm: term },
          { type: 'persist-term', term },
          { type: 'set-worker-role', role: 'primary' },
          { type: 'enable-vip' },
          { type: 'announce' },
          { type: 'send-heartbeat' },
        ],
      };
    }
    case 'demote': {
      const wasPrimary = s.role === 'primary';
      const adopt = event.type === 'peer-heartbeat' && event.term > s.term ? event.term : s.term;
      const cause: DemoteCause =
        event.type === 'resign-requested' && event.reason === 'preempt' ? 'preempt' : st.cause;
      const actions: RoleAction[] = [];
      // The record opens first (bookkeeping, so that the release is stamped on it); then the release, before any
      // other effect: everything else waits behind it, and only the release prevents two VIP owners.
      if (wasPrimary)
        actions.push({ type: 'timeline', kind: 'demote', cause, oldTerm: s.term, newTerm: adopt });
      actions.push({ type: 'disable-vip' });
      if (st.resign === true) actions.push({ type: 'send-resign', term: s.term });
      actions.push({ type: 'set-worker-role', role: 'backup' });
      if (adopt !== s.term) actions.push({ type: 'persist-term', term: adopt });
      if (st.alarm !== undefined)
        actions.push({ type: 'raise-alarm', alarm: st.alarm, detail: detailOf(s, event) });
      if (st.cause === 'switchover' && event.type === 'switchover-requested')
        actions.push({ type: 'switchover-result', ok: true, detail: 'resigned; the peer takes over' });
      actions.push({ type: 'send-heartbeat' });
      return {
        state: {
          ...s,
          role: to,
          term: adopt,
          hold: st.resign === true ? s.config.holdTicks : s.hold,
          dualPrimary: false,
        },
        actions,
      };
    }
    case 'become':
      return {
        state: { ...s, role: to },
        actions: [{ type: 'set-worker-role', role: 'backup' }, { type: 'send-heartbeat' }],
      };
    case 'adopt-term': {
      const term = event.type === 'peer-heartbeat' ? Math.max(event.term, s.term) : s.term;
      return { state: { ...s, term }, actions: [{ type: 'persist-term', term }] };
    }
    case 'dual-primary-won':
      return {
        state: { ...s, dualPrimary: true },
        actions: [
          { type: 'announce' },
          {
            type: 'raise-alarm',
            alarm: 'dual-primary',
            detail: `${detailOf(s, event)}; this node keeps the VIP`,
          },
          { type: 'send-heartbeat' },
        ],
      };
    case 'request-resign': {
      const actions: RoleAction[] = [{ type: 'request-resign', reason: st.reason }];
      if (st.reply === true)
        actions.push({ type: 'switchover-result', ok: true, detail: 'asked the primary peer to resign' });
      return {
        state: { ...s, preemptWait: st.reason === 'preempt' ? s.config.holdTicks : s.preemptWait },
        actions,
      };
    }
    case 'refuse':
      return {
        state: s,
        actions: [
          {
            type: 'switchover-result',
            ok: false,
            detail: `${st.detail} (${s.role}; peer ${describePeer(s)})`,
          },
        ],
      };
    case 'release-failed':
      return {
        state: { ...s, role: 'fault', releasePending: true, healthy: s.healthy },
        actions: [
          { type: 'set-worker-role', role: 'backup' },
          {
            type: 'raise-alarm',
            alarm: 'vip-release-failed',
            detail: event.type === 'vip-result' ? (event.reason ?? '') : '',
          },
          { type: 'send-heartbeat' },
        ],
      };
    case 'release-ok':
      return {
        state: { ...s, role: to, releasePending: false },
        actions:
          to === s.role ? [] : [{ type: 'set-worker-role', role: 'backup' }, { type: 'send-heartbeat' }],
      };
    case 'release-retry':
      return { state: s, actions: [{ type: 'disable-vip' }] };
  }
}

function describePeer(s: RoleState): string {
  return s.peer.status === 'alive'
    ? `${s.peer.id} ${s.peer.role ?? '?'}${s.peer.ready ? ' ready' : ''}`
    : s.peer.status;
}

function detailOf(s: RoleState, e: RoleEvent): string {
  switch (e.type) {
    case 'peer-heartbeat':
      return `peer ${e.id} is ${e.role} in term ${e.term} (priority ${e.priority}); this node ${s.config.id} term ${s.term} (priority ${s.config.priority})`;
    case 'local-health':
      return e.reason;
    case 'vip-result':
      return e.reason ?? `vip ${e.op} failed`;
    default:
      return `${e.type}: peer ${describePeer(s)}, witnesses ${s.witnesses}`;
  }
}
