// The role machine's transition table. `step` (src/ha/role-machine.ts) first folds the event into what the node
// knows (peer, silence, witnesses, health, VIP), then takes the first EVENT row whose `from`, `on` and guard
// match; if none does, the first CONDITION row whose `from` and guard match (conditions hold whatever the event
// that made them true, like raft's checks on every tick). No row means "no change, no action".
// Entering a role has its own actions (set-worker-role, a heartbeat; PROMOTE adds the VIP), see `expand`.
//
// The table below is generated from EVENT_ROWS and CONDITION_ROWS by test/ha/role-table.test.ts, which fails
// when they drift apart (run it with UPDATE_TABLE=1 to rewrite this block).
//
// BEGIN TABLE
//  on                    from                     guard                      to       step
//  vip-result            primary                  enableFailed               fault    demote(vip-failed) alarm vip-enable-failed
//  vip-result            starting|backup|fault    disableFailed              fault    release-failed
//  vip-result            fault                    disableOkHealthy           backup   release-ok
//  vip-result            *                        disableOk                  same     release-ok
//  tick                  fault                    releaseRetryDue            same     release-retry
//  permit                primary                  permitLost                 backup   demote(fenced) alarm fenced
//  local-health          starting|backup|primary  unhealthy                  fault    demote(local-fault) alarm local-fault
//  local-health          fault                    healthyNoPending           backup   become
//  started               starting                 healthy                    backup   become
//  local-health          starting                 releasedAndHealthy         backup   become
//  peer-heartbeat        primary                  peerPrimaryWins            backup   demote(higher-term) alarm dual-primary
//  peer-heartbeat        primary                  dualPrimaryWon             same     dual-primary-won
//  witnesses             primary                  lostWitnessesPeerReady     backup   demote(witnesses-lost) resign alarm witnesses-lost
//  switchover-requested  primary                  peerReady                  backup   demote(switchover) resign
//  resign-requested      primary                  peerReady                  backup   demote(switchover) resign
//  switchover-requested  primary                  always                     same     refuse
//  switchover-requested  backup                   peerPrimary                same     request-resign(switchover) reply
//  switchover-requested  *                        always                     same     refuse
//  stopping              *                        always                     fault    stop
//  peer-gone             *                        firstEvidence              same     probe
//  (condition)           primary                  isolated                   backup   demote(isolated) alarm isolated
//  (condition)           primary                  quorumLost                 backup   demote(quorum-lost) resign alarm quorum-lost
//  (condition)           primary                  permitLapsedEtcdBack       same     renew
//  (condition)           backup                   peerGone                   primary  promote(peer-gone)
//  (condition)           backup                   peerDeadVipUnserved        primary  promote(peer-dead)
//  (condition)           backup                   peerFault                  primary  promote(peer-fault)
//  (condition)           backup                   peerYields                 primary  promote(switchover)
//  (condition)           backup                   electionWon                primary  promote(election)
//  (condition)           starting|backup|fault    permitUnwanted             same     withdraw
//  (condition)           backup                   preemptDue                 same     request-resign(preempt)
//  (condition)           primary                  peerNonPrimaryTermAhead    same     adopt-term
//  (condition)           starting|backup|fault    peerTermAhead              same     adopt-term
//  (condition)           backup                   vipServedPeerDead          same     vip-served
//  (condition)           backup                   vipCheckDue                same     probe-vip
// END TABLE
//
// PROMOTE = timeline(promote), persist-term(term+1), set-worker-role(primary), enable-vip, announce, heartbeat.
//           (persist before enable: a term must never be reused after a crash)
//           Cluster mode: without the permit, PROMOTE is campaign(wait) instead (once; nothing while it is out),
//           and the promotion happens on the permit event if its row still holds; enable-vip carries the fence.
// RENEW   = campaign(no wait).  WITHDRAW = withdraw (the permit's key is deleted).
// DEMOTE and STOP also withdraw a permit, after disable-vip and before the resignation.
// DEMOTE  = timeline(demote) if primary, disable-vip, [send-resign], set-worker-role(backup), heartbeat; with a
//           resignation the node holds back from elections for `holdTicks` so that the peer can take over.
import type { EventOf, EventType, RoleAlarm } from './role-events.js';
import type { DemoteCause, PromoteCause, Role, RoleState } from './role-state.js';
import { outranks, quorumReachable } from './role-state.js';

export type Step =
  | { do: 'promote'; cause: PromoteCause }
  | { do: 'demote'; cause: DemoteCause; resign?: boolean; alarm?: RoleAlarm }
  | { do: 'become' }
  | { do: 'adopt-term' }
  | { do: 'dual-primary-won' }
  | { do: 'request-resign'; reason: 'switchover' | 'preempt'; reply?: boolean }
  | { do: 'refuse'; detail: string }
  | { do: 'release-retry' }
  | { do: 'release-failed' }
  | { do: 'release-ok' }
  | { do: 'probe' }
  | { do: 'withdraw' }
  | { do: 'renew' }
  | { do: 'probe-vip' }
  | { do: 'vip-served' }
  | { do: 'stop' };

interface RowBase {
  from: readonly Role[];
  /** The guard's name, for the table above, tests and logs. */
  when: string;
  to: Role | 'same';
  step: Step;
}

export interface EventRow<T extends EventType = EventType> extends RowBase {
  on: T;
  guard: (s: RoleState, e: EventOf<T>) => boolean;
}

export interface ConditionRow extends RowBase {
  on: 'condition';
  guard: (s: RoleState) => boolean;
}

/** One event row of any event type (the union keeps each guard typed by its own event). */
export type AnyEventRow = { [T in EventType]: EventRow<T> }[EventType];
export type Row = AnyEventRow | ConditionRow;

const ALL: readonly Role[] = ['starting', 'backup', 'primary', 'fault'];
const NOT_FAULT: readonly Role[] = ['starting', 'backup', 'primary'];
const NOT_PRIMARY: readonly Role[] = ['starting', 'backup', 'fault'];

const me = (s: RoleState) => ({
  term: s.term,
  priority: s.config.priority,
  id: s.config.id,
  fence: s.quorum.fence,
});
const peerAlive = (s: RoleState) => s.peer.status === 'alive';
/**
 * May this node claim the VIP at all: healthy, not isolated, and (cluster mode) able to ask etcd for the permit.
 * An isolated node never claims the VIP; nor does one cut off from etcd.
 */
const mayClaim = (s: RoleState) =>
  s.healthy && s.witnesses === 'reachable' && !s.releasePending && quorumReachable(s);
/**
 * Cluster mode's failsafe (Patroni's failsafe_mode): the primary's lease ran out, but its peer is heard and cannot
 * reach etcd either — nobody can be granted the permit, so the primary keeps serving rather than nobody.
 */
const failsafeHolds = (s: RoleState) =>
  s.quorum.failsafe &&
  peerAlive(s) &&
  (s.peer.etcd !== 'reachable' || s.quorum.downTicks < s.quorum.settleTicks);
const always = () => true;
/**
 * A silent peer may be taken over: no VIP check (monitoring off), or the VIP itself went unanswered when asked
 * during this silence. A peer that cannot be heard while the VIP still answers SIP is alive behind a cut HA link
 * (every HA path blocked, SIP still up): taking over would put the VIP on two hosts with nothing to end it.
 */
const vipUnserved = (s: RoleState) => s.config.vipCheckTicks === 0 || s.vipCheck.answer === 'silent';
const peerReady = (s: RoleState) => peerAlive(s) && s.peer.role === 'backup' && s.peer.ready;

/** A primary hands over to a ready backup: release, resign explicitly, hold back. */
const HAND_OVER = {
  from: ['primary'],
  when: 'peerReady',
  guard: peerReady,
  to: 'backup',
  step: { do: 'demote', cause: 'switchover', resign: true },
} as const satisfies Omit<EventRow, 'on'>;

function row<T extends EventType>(r: EventRow<T>): AnyEventRow {
  return r as unknown as AnyEventRow;
}

/** First match wins. VIP command results come first: they are facts about the VIP, whatever else goes on. */
export const EVENT_ROWS: readonly AnyEventRow[] = [
  row({
    on: 'vip-result',
    from: ['primary'],
    when: 'enableFailed',
    guard: (_s, e) => e.op === 'enable' && !e.ok,
    to: 'fault',
    step: { do: 'demote', cause: 'vip-failed', alarm: 'vip-enable-failed' },
  }),
  // (A primary wants the VIP: a failed release it hears about is stale, from before its promotion.)
  row({
    on: 'vip-result',
    from: NOT_PRIMARY,
    when: 'disableFailed',
    guard: (_s, e) => e.op === 'disable' && !e.ok,
    to: 'fault',
    step: { do: 'release-failed' },
  }),
  // A retried release finally worked and the node is otherwise healthy: back to backup.
  row({
    on: 'vip-result',
    from: ['fault'],
    when: 'disableOkHealthy',
    guard: (s, e) => e.op === 'disable' && e.ok && s.releasePending && s.healthy,
    to: 'backup',
    step: { do: 'release-ok' },
  }),
  row({
    on: 'vip-result',
    from: ALL,
    when: 'disableOk',
    guard: (_s, e) => e.op === 'disable' && e.ok,
    to: 'same',
    step: { do: 'release-ok' },
  }),
  row({
    on: 'tick',
    from: ['fault'],
    when: 'releaseRetryDue',
    guard: (s) => s.releasePending && s.retryElapsed >= s.config.retryTicks,
    to: 'same',
    step: { do: 'release-retry' },
  }),
  // Cluster mode: etcd says the permit is not this primary's (taken, or deleted under it): release at once.
  row({
    on: 'permit',
    from: ['primary'],
    when: 'permitLost',
    guard: (_s, e) => !e.held,
    to: 'backup',
    step: { do: 'demote', cause: 'fenced', alarm: 'fenced' },
  }),
  // Local health: a sick node leaves primary mode and releases the VIP first thing.
  row({
    on: 'local-health',
    from: NOT_FAULT,
    when: 'unhealthy',
    guard: (_s, e) => !e.ok,
    to: 'fault',
    step: { do: 'demote', cause: 'local-fault', alarm: 'local-fault' },
  }),
  row({
    on: 'local-health',
    from: ['fault'],
    when: 'healthyNoPending',
    guard: (s, e) => e.ok && !s.releasePending,
    to: 'backup',
    step: { do: 'become' },
  }),
  row({
    on: 'started',
    from: ['starting'],
    when: 'healthy',
    guard: (s) => s.healthy,
    to: 'backup',
    step: { do: 'become' },
  }),
  row({
    on: 'local-health',
    from: ['starting'],
    when: 'releasedAndHealthy',
    guard: (s) => s.released && s.healthy,
    to: 'backup',
    step: { do: 'become' },
  }),
  // Two primaries: the loser releases at once, the winner announces again (stale neighbour caches after a
  // dual-primary episode are the most reported keepalived failure).
  row({
    on: 'peer-heartbeat',
    from: ['primary'],
    when: 'peerPrimaryWins',
    guard: (s, e) => e.role === 'primary' && outranks(e, me(s)),
    to: 'backup',
    step: { do: 'demote', cause: 'higher-term', alarm: 'dual-primary' },
  }),
  row({
    on: 'peer-heartbeat',
    from: ['primary'],
    when: 'dualPrimaryWon',
    guard: (s, e) => e.role === 'primary' && !s.dualPrimary && outranks(me(s), e),
    to: 'same',
    step: { do: 'dual-primary-won' },
  }),
  // Lost the witnesses while the peer still sees its own: hand over gracefully.
  row({
    on: 'witnesses',
    from: ['primary'],
    when: 'lostWitnessesPeerReady',
    guard: (s) => s.witnesses === 'unreachable' && peerReady(s),
    to: 'backup',
    step: { do: 'demote', cause: 'witnesses-lost', resign: true, alarm: 'witnesses-lost' },
  }),
  // Operator switchover and preemption: the primary resigns explicitly (VRRP priority 0), no timeout involved.
  row({ on: 'switchover-requested', ...HAND_OVER }),
  row({ on: 'resign-requested', ...HAND_OVER }),
  row({
    on: 'switchover-requested',
    from: ['primary'],
    when: 'always',
    guard: always,
    to: 'same',
    step: { do: 'refuse', detail: 'the peer is not a ready backup' },
  }),
  row({
    on: 'switchover-requested',
    from: ['backup'],
    when: 'peerPrimary',
    guard: (s) => peerAlive(s) && s.peer.role === 'primary',
    to: 'same',
    step: { do: 'request-resign', reason: 'switchover', reply: true },
  }),
  row({
    on: 'switchover-requested',
    from: ALL,
    when: 'always',
    guard: always,
    to: 'same',
    step: { do: 'refuse', detail: 'neither this node nor its peer is primary' },
  }),
  row({ on: 'stopping', from: ALL, when: 'always', guard: always, to: 'fault', step: { do: 'stop' } }),
  // The peer's kernel says its process is gone (ICMP port unreachable, TCP RST/FIN): probe every path at once.
  // Only the first signal since the peer was last heard, so a forger cannot make this node flood the link.
  row({
    on: 'peer-gone',
    from: ALL,
    when: 'firstEvidence',
    guard: (s) => s.peerGone?.count === 1,
    to: 'same',
    step: { do: 'probe' },
  }),
];

export const CONDITION_ROWS: readonly ConditionRow[] = [
  // Lost both the peer and the witnesses: give the VIP up (it may be the only one left, but it is cut off).
  {
    on: 'condition',
    from: ['primary'],
    when: 'isolated',
    guard: (s) => s.peer.status === 'dead' && s.witnesses === 'unreachable',
    to: 'backup',
    step: { do: 'demote', cause: 'isolated', alarm: 'isolated' },
  },
  // Cluster mode: the lease may expire in etcd any moment and the peer could then be granted the permit: release
  // before that, and hand over (the peer can reach etcd, or is not heard) — unless the failsafe rule holds.
  {
    on: 'condition',
    from: ['primary'],
    when: 'quorumLost',
    guard: (s) => s.quorum.enabled && s.quorum.etcd === 'unreachable' && !failsafeHolds(s),
    to: 'backup',
    step: { do: 'demote', cause: 'quorum-lost', resign: true, alarm: 'quorum-lost' },
  },
  // etcd answers again after a failsafe stretch: win the permit again, at once or not at all (never queue).
  {
    on: 'condition',
    from: ['primary'],
    when: 'permitLapsedEtcdBack',
    guard: (s) => s.quorum.permit === 'lapsed' && s.quorum.etcd === 'reachable',
    to: 'same',
    step: { do: 'renew' },
  },
  // Promotion of a backup. The fast verdict first, so that the timeline says the peer's kernel gave it away.
  // (Cluster mode: each asks etcd for the permit first, and promotes when it comes — see PROMOTE below.)
  {
    on: 'condition',
    from: ['backup'],
    when: 'peerGone',
    guard: (s) => mayClaim(s) && s.peer.status === 'dead' && s.peerDeadBy === 'peer-gone',
    to: 'primary',
    step: { do: 'promote', cause: 'peer-gone' },
  },
  {
    on: 'condition',
    from: ['backup'],
    when: 'peerDeadVipUnserved',
    guard: (s) => mayClaim(s) && s.peer.status === 'dead' && vipUnserved(s),
    to: 'primary',
    step: { do: 'promote', cause: 'peer-dead' },
  },
  {
    on: 'condition',
    from: ['backup'],
    when: 'peerFault',
    guard: (s) => mayClaim(s) && peerAlive(s) && s.peer.role === 'fault',
    to: 'primary',
    step: { do: 'promote', cause: 'peer-fault' },
  },
  {
    on: 'condition',
    from: ['backup'],
    when: 'peerYields',
    guard: (s) => mayClaim(s) && peerAlive(s) && s.peer.role !== 'primary' && s.peer.yielding,
    to: 'primary',
    step: { do: 'promote', cause: 'switchover' },
  },
  // Nobody is primary and we win the election: the peer is a backup that is not ready, or ranks lower. A peer
  // still starting is waited for (a cold start of the pair elects by priority); its start is bounded, after which
  // it reports fault and the peer-fault row applies.
  {
    on: 'condition',
    from: ['backup'],
    when: 'electionWon',
    guard: (s) =>
      mayClaim(s) &&
      peerAlive(s) &&
      s.hold === 0 &&
      s.peer.role === 'backup' &&
      (!s.peer.ready || outranks({ ...me(s), term: 0 }, { ...s.peer, term: 0 })),
    to: 'primary',
    step: { do: 'promote', cause: 'election' },
  },
  // Cluster mode: a permit asked for or held while no promotion row holds any more (the peer is back, or this node
  // cannot claim): give it back.
  {
    on: 'condition',
    from: NOT_PRIMARY,
    when: 'permitUnwanted',
    guard: (s) => s.quorum.permit !== 'none',
    to: 'same',
    step: { do: 'withdraw' },
  },
  // preempt: a better-priority backup asks the primary to hand over (explicitly, never by a dual primary).
  {
    on: 'condition',
    from: ['backup'],
    when: 'preemptDue',
    guard: (s) =>
      s.config.preempt &&
      mayClaim(s) &&
      peerAlive(s) &&
      s.peer.role === 'primary' &&
      s.preemptWait === 0 &&
      (s.config.priority > s.peer.priority ||
        (s.config.priority === s.peer.priority && s.config.id < s.peer.id)),
    to: 'same',
    step: { do: 'request-resign', reason: 'preempt' },
  },
  // Terms only grow: a node adopts a higher term it hears, so its next promotion is above it. A primary adopts
  // it from a peer that is not primary (a primary peer is a dual-primary episode, decided above).
  {
    on: 'condition',
    from: ['primary'],
    when: 'peerNonPrimaryTermAhead',
    guard: (s) => peerAlive(s) && s.peer.role !== 'primary' && s.peer.term > s.term,
    to: 'same',
    step: { do: 'adopt-term' },
  },
  {
    on: 'condition',
    from: NOT_PRIMARY,
    when: 'peerTermAhead',
    guard: (s) => s.peer.term > s.term,
    to: 'same',
    step: { do: 'adopt-term' },
  },
  // The VIP check: a peer silent for a third of its dead interval is probed through the VIP itself (in time for the
  // verdict), and again every heartbeat while it stays silent and the VIP answered, so that a peer that then
  // really dies is taken over one probe later.
  {
    on: 'condition',
    from: ['backup'],
    when: 'vipServedPeerDead',
    guard: (s) => s.peer.status === 'dead' && s.vipCheck.answer === 'answered' && !s.vipCheck.alarmed,
    to: 'same',
    step: { do: 'vip-served' },
  },
  {
    on: 'condition',
    from: ['backup'],
    when: 'vipCheckDue',
    guard: (s) =>
      s.config.vipCheckTicks > 0 &&
      s.peerSilentTicks >= s.config.vipCheckTicks &&
      s.vipCheck.pending === undefined &&
      (s.vipCheck.answer === 'unasked' || s.vipCheck.elapsed >= s.config.heartbeatTicks),
    to: 'same',
    step: { do: 'probe-vip' },
  },
];

/** A step as the table above writes it. */
export function describeStep(st: Step): string {
  switch (st.do) {
    case 'promote':
      return `promote(${st.cause})`;
    case 'demote':
      return [
        `demote(${st.cause})`,
        st.resign === true ? 'resign' : '',
        st.alarm === undefined ? '' : `alarm ${st.alarm}`,
      ]
        .filter((x) => x !== '')
        .join(' ');
    case 'request-resign':
      return `request-resign(${st.reason})${st.reply === true ? ' reply' : ''}`;
    default:
      return st.do;
  }
}

/** The table as the header of this file shows it, one line a row, event rows first. */
export function describeTable(): string[] {
  const pad = (s: string, n: number) => (s.length >= n ? `${s} ` : s.padEnd(n));
  return [
    `${pad('on', 22)}${pad('from', 25)}${pad('guard', 27)}${pad('to', 9)}step`,
    ...[...EVENT_ROWS, ...CONDITION_ROWS].map((r) => {
      const from = r.from.length === ALL.length ? '*' : r.from.join('|');
      const on = r.on === 'condition' ? '(condition)' : r.on;
      return `${pad(on, 22)}${pad(from, 25)}${pad(r.when, 27)}${pad(r.to, 9)}${describeStep(r.step)}`;
    }),
  ];
}
