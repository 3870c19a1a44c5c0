// The role machine as a table: each row is a state, an event and the exact outcome; then invariants over random
// event sequences (fast-check) that must hold whatever the order of the world's events.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  advertise,
  CONDITION_ROWS,
  EVENT_ROWS,
  initialState,
  matchRow,
  type Role,
  type RoleAction,
  type RoleEvent,
  type RoleState,
  type StepResult,
  step,
} from '../../src/ha/role-machine.js';
import { FAST_DEAD_HEARTBEATS, roleTimers } from '../../src/ha/timers.js';

const CONFIG = {
  id: 'a',
  priority: 100,
  preempt: false,
  holdTicks: 8,
  heartbeatTicks: 5,
  deadTicks: 4,
  fastDeadTicks: 3,
  paths: 2,
  retryTicks: 2,
  vipCheckTicks: 0,
  vipProbeTicks: 0,
};
const TABLE = [...EVENT_ROWS, ...CONDITION_ROWS];
const TICK: RoleEvent = { type: 'tick' };

/** One tick short of dead_after: the next tick declares the peer dead. */
const silent = (s: RoleState): RoleState => ({ ...s, peerSilentTicks: s.config.deadTicks - 1 });

/** A node in `role` with term 5, healthy, witnesses reachable, peer b alive as `peerRole` (term 5, priority 100). */
function st(role: Role, over: Partial<RoleState> = {}, peer: Partial<RoleState['peer']> = {}): RoleState {
  const base = initialState(CONFIG, 5, true);
  return {
    ...base,
    role,
    healthy: true,
    healthReason: 'ok',
    released: true,
    witnesses: 'reachable',
    peer: {
      status: 'alive',
      role: role === 'primary' ? 'backup' : 'primary',
      term: 5,
      priority: 100,
      id: 'b',
      ready: true,
      yielding: false,
      etcd: 'off',
      fence: 0,
      ...peer,
    },
    ...over,
  };
}

/** A node in cluster mode: etcd reachable, the permit held (fence 7) when primary; the peer reaches etcd too. */
function cluster(
  role: Role,
  q: Partial<RoleState['quorum']> = {},
  peer: Partial<RoleState['peer']> = {},
  term = 5,
): RoleState {
  const held = role === 'primary';
  return st(
    role,
    {
      term,
      quorum: {
        enabled: true,
        failsafe: true,
        etcd: 'reachable',
        permit: held ? 'held' : 'none',
        fence: held ? 7 : 0,
        downTicks: 0,
        settleTicks: 3,
        ...q,
      },
    },
    { etcd: 'reachable', fence: 0, ...peer },
  );
}

const hb = (
  role: Role,
  term = 5,
  o: Partial<Extract<RoleEvent, { type: 'peer-heartbeat' }>> = {},
): RoleEvent => ({
  type: 'peer-heartbeat',
  role,
  term,
  priority: 100,
  id: 'b',
  ready: true,
  yielding: false,
  ...o,
});

const PROMOTE = ['timeline', 'persist-term', 'set-worker-role', 'enable-vip', 'announce', 'send-heartbeat'];

interface Case {
  name: string;
  state: RoleState;
  event: RoleEvent;
  role: Role;
  actions: string[];
  term?: number;
  check?: (actions: RoleAction[], s: RoleState) => void;
}

/** The VIP check on: asked at 2 ticks of silence, the probe's answer within 1, dead at 4. */
const CHECK = { ...CONFIG, vipCheckTicks: 2, vipProbeTicks: 1 };
const checking = (over: Partial<RoleState> = {}): RoleState =>
  st('backup', { config: CHECK, heartbeatElapsed: 0, ...over }, { role: 'primary' });

const CASES: Case[] = [
  {
    name: 'starting → backup once released and healthy',
    state: st('starting'),
    event: { type: 'started' },
    role: 'backup',
    actions: ['set-worker-role', 'send-heartbeat'],
  },
  {
    name: 'starting stays while the worker is not ready',
    state: st('starting', { healthy: false }),
    event: { type: 'started' },
    role: 'starting',
    actions: [],
  },
  {
    name: 'starting → backup when the worker becomes ready after the release',
    state: st('starting', { healthy: false }),
    event: { type: 'local-health', ok: true, reason: 'worker ready' },
    role: 'backup',
    actions: ['set-worker-role', 'send-heartbeat'],
  },
  {
    name: 'backup promotes when the peer is dead: term+1, persisted before the VIP is enabled',
    state: silent(st('backup')),
    event: TICK,
    role: 'primary',
    actions: PROMOTE,
    term: 6,
    check: (a) => {
      assert.deepEqual(a[0], {
        type: 'timeline',
        kind: 'promote',
        cause: 'peer-dead',
        oldTerm: 5,
        newTerm: 6,
      });
      assert.deepEqual(a[1], { type: 'persist-term', term: 6 });
    },
  },
  {
    name: 'backup never claims the VIP while its witnesses are unreachable',
    state: silent(st('backup', { witnesses: 'unreachable' })),
    event: TICK,
    role: 'backup',
    actions: [],
  },
  {
    name: 'backup never claims the VIP before its witnesses answered once',
    state: silent(st('backup', { witnesses: 'unknown' })),
    event: TICK,
    role: 'backup',
    actions: [],
  },
  {
    name: 'isolated backup promotes as soon as the witnesses answer again (the peer is still dead)',
    state: st('backup', { witnesses: 'unreachable' }, { status: 'dead' }),
    event: { type: 'witnesses', reachable: true },
    role: 'primary',
    actions: PROMOTE,
  },
  {
    name: 'backup waits while the peer is unknown (not yet dead_after_ms of silence)',
    state: st('backup', {}, { status: 'unknown', role: undefined }),
    event: { type: 'tick' },
    role: 'backup',
    actions: [],
  },
  {
    name: 'backup promotes at once when the peer reports its own fault',
    state: st('backup'),
    event: hb('fault'),
    role: 'primary',
    actions: PROMOTE,
    check: (a) => assert.equal((a[0] as { cause: string }).cause, 'peer-fault'),
  },
  {
    name: 'backup promotes at once on an explicit resign (no timeout)',
    state: st('backup'),
    event: { type: 'peer-resigned', term: 5 },
    role: 'primary',
    actions: PROMOTE,
    term: 6,
    check: (a) => assert.equal((a[0] as { cause: string }).cause, 'switchover'),
  },
  {
    name: 'backup promotes on a heartbeat that says the peer yields (a lost resign message)',
    state: st('backup'),
    event: hb('backup', 5, { yielding: true }),
    role: 'primary',
    actions: PROMOTE,
  },
  {
    name: 'backup stays backup under a live primary (no preemption by default)',
    state: st('backup', { config: { ...CONFIG, priority: 200 } }),
    event: hb('primary'),
    role: 'backup',
    actions: [],
  },
  {
    name: 'with preempt a better backup asks the primary to resign, it never just takes the VIP',
    state: st('backup', { config: { ...CONFIG, priority: 200, preempt: true } }),
    event: hb('primary'),
    role: 'backup',
    actions: ['request-resign'],
    check: (a, s) => {
      assert.deepEqual(a[0], { type: 'request-resign', reason: 'preempt' });
      assert.equal(s.preemptWait, CONFIG.holdTicks, 'asks again only after a while');
    },
  },
  {
    name: 'preempt does nothing for a worse backup',
    state: st('backup', { config: { ...CONFIG, priority: 50, preempt: true } }),
    event: hb('primary'),
    role: 'backup',
    actions: [],
  },
  {
    name: 'election between two backups: the better priority promotes',
    state: st('backup', { config: { ...CONFIG, priority: 150 } }),
    event: hb('backup'),
    role: 'primary',
    actions: PROMOTE,
    check: (a) => assert.equal((a[0] as { cause: string }).cause, 'election'),
  },
  {
    name: 'election between two backups: the worse priority waits',
    state: st('backup', { config: { ...CONFIG, priority: 50 } }),
    event: hb('backup'),
    role: 'backup',
    actions: [],
  },
  {
    name: 'election waits while the peer is still starting (a cold start elects by priority)',
    state: st('backup', { config: { ...CONFIG, priority: 50 } }),
    event: hb('starting'),
    role: 'backup',
    actions: [],
  },
  {
    name: 'election: a backup that is not ready loses to a ready one whatever the priorities',
    state: st('backup', { config: { ...CONFIG, priority: 50 } }),
    event: hb('backup', 5, { ready: false }),
    role: 'primary',
    actions: PROMOTE,
  },
  {
    name: 'election tie on priority: the lower node id wins (a < b)',
    state: st('backup'),
    event: hb('backup'),
    role: 'primary',
    actions: PROMOTE,
  },
  {
    name: 'election tie on priority: the higher node id waits',
    state: st('backup', { config: { ...CONFIG, id: 'c' } }),
    event: hb('backup'),
    role: 'backup',
    actions: [],
  },
  {
    name: 'a node that resigned holds back from elections',
    state: st('backup', { hold: 3 }),
    event: hb('backup'),
    role: 'backup',
    actions: [],
  },
  {
    name: 'backup adopts a higher term it hears, so its next promotion is above it',
    state: st('backup'),
    event: hb('primary', 9),
    role: 'backup',
    actions: ['persist-term'],
    term: 9,
  },
  {
    name: 'primary hearing a primary of a higher term releases at once (frozen primary wakes up)',
    state: st('primary'),
    event: hb('primary', 6),
    role: 'backup',
    actions: ['timeline', 'disable-vip', 'set-worker-role', 'persist-term', 'raise-alarm', 'send-heartbeat'],
    term: 6,
    check: (a) => {
      assert.deepEqual(a[1], { type: 'disable-vip' }, 'the release is the first effect');
      assert.equal((a[0] as { cause: string }).cause, 'higher-term');
    },
  },
  {
    name: 'primary tie on term: the better priority keeps the VIP, the other releases',
    state: st('primary', { config: { ...CONFIG, priority: 50 } }),
    event: hb('primary', 5),
    role: 'backup',
    actions: ['timeline', 'disable-vip', 'set-worker-role', 'raise-alarm', 'send-heartbeat'],
  },
  {
    name: 'primary that wins a dual-primary episode announces again, once',
    state: st('primary', { term: 7 }),
    event: hb('primary', 6),
    role: 'primary',
    actions: ['announce', 'raise-alarm', 'send-heartbeat'],
    check: (_a, s) => assert.equal(s.dualPrimary, true),
  },
  {
    name: '…and not again on the next heartbeat of the same episode',
    state: st('primary', { term: 7, dualPrimary: true }),
    event: hb('primary', 6),
    role: 'primary',
    actions: [],
  },
  {
    name: 'primary that lost both peer and witnesses releases (isolated)',
    state: st('primary', {}, { status: 'dead' }),
    event: { type: 'witnesses', reachable: false },
    role: 'backup',
    actions: ['timeline', 'disable-vip', 'set-worker-role', 'raise-alarm', 'send-heartbeat'],
  },
  {
    name: 'primary that lost its peer only keeps the VIP',
    state: silent(st('primary')),
    event: TICK,
    role: 'primary',
    actions: [],
  },
  {
    name: 'primary that lost its witnesses while the backup sees its own resigns to it',
    state: st('primary'),
    event: { type: 'witnesses', reachable: false },
    role: 'backup',
    actions: ['timeline', 'disable-vip', 'send-resign', 'set-worker-role', 'raise-alarm', 'send-heartbeat'],
  },
  {
    name: 'switchover on the primary: release, then resign, then hold back',
    state: st('primary'),
    event: { type: 'switchover-requested' },
    role: 'backup',
    actions: [
      'timeline',
      'disable-vip',
      'send-resign',
      'set-worker-role',
      'switchover-result',
      'send-heartbeat',
    ],
    check: (a, s) => {
      assert.deepEqual(a[2], { type: 'send-resign', term: 5 });
      assert.equal(s.hold, CONFIG.holdTicks);
    },
  },
  {
    name: 'switchover is refused when the peer is not a ready backup',
    state: st('primary', {}, { ready: false }),
    event: { type: 'switchover-requested' },
    role: 'primary',
    actions: ['switchover-result'],
    check: (a) => assert.equal((a[0] as { ok: boolean }).ok, false),
  },
  {
    name: 'switchover is refused when the peer is dead',
    state: st('primary', {}, { status: 'dead' }),
    event: { type: 'switchover-requested' },
    role: 'primary',
    actions: ['switchover-result'],
  },
  {
    name: 'switchover on the backup asks the primary peer to resign',
    state: st('backup'),
    event: { type: 'switchover-requested' },
    role: 'backup',
    actions: ['request-resign', 'switchover-result'],
    check: (a) => assert.deepEqual(a[0], { type: 'request-resign', reason: 'switchover' }),
  },
  {
    name: 'a resign request from the backup makes the primary resign',
    state: st('primary'),
    event: { type: 'resign-requested', reason: 'switchover' },
    role: 'backup',
    actions: ['timeline', 'disable-vip', 'send-resign', 'set-worker-role', 'send-heartbeat'],
  },
  {
    name: 'worker dead on the primary: release and fault',
    state: st('primary'),
    event: { type: 'local-health', ok: false, reason: 'worker exited with code 1' },
    role: 'fault',
    actions: ['timeline', 'disable-vip', 'set-worker-role', 'raise-alarm', 'send-heartbeat'],
    check: (a) => assert.equal((a[0] as { cause: string }).cause, 'local-fault'),
  },
  {
    name: 'worker dead on the backup: fault (and a release, harmless when absent)',
    state: st('backup'),
    event: { type: 'local-health', ok: false, reason: 'worker silent' },
    role: 'fault',
    actions: ['disable-vip', 'set-worker-role', 'raise-alarm', 'send-heartbeat'],
  },
  {
    name: 'fault → backup when healthy again (the recovered node does not take the VIP back)',
    state: st('fault', { healthy: false }),
    event: { type: 'local-health', ok: true, reason: 'worker ready' },
    role: 'backup',
    actions: ['set-worker-role', 'send-heartbeat'],
  },
  {
    name: 'a VIP that could not be added: fault and release',
    state: st('primary', { term: 6 }),
    event: {
      type: 'vip-result',
      op: 'enable',
      ok: false,
      reason: 'ip: RTNETLINK answers: Operation not permitted',
    },
    role: 'fault',
    actions: ['timeline', 'disable-vip', 'set-worker-role', 'raise-alarm', 'send-heartbeat'],
  },
  {
    name: 'a VIP that could not be removed: fault, release pending',
    state: st('backup'),
    event: { type: 'vip-result', op: 'disable', ok: false, reason: 'timed out' },
    role: 'fault',
    actions: ['set-worker-role', 'raise-alarm', 'send-heartbeat'],
    check: (_a, s) => assert.equal(s.releasePending, true),
  },
  {
    name: 'release pending: retried every retryTicks',
    state: st('fault', { releasePending: true, retryElapsed: 1 }),
    event: { type: 'tick' },
    role: 'fault',
    actions: ['disable-vip'],
  },
  {
    name: 'release pending: a node in fault with the release pending never claims the VIP',
    state: silent(st('backup', { releasePending: true })),
    event: TICK,
    role: 'backup',
    actions: [],
  },
  {
    name: 'release pending: the retried release works → backup',
    state: st('fault', { releasePending: true }),
    event: { type: 'vip-result', op: 'disable', ok: true },
    role: 'backup',
    actions: ['set-worker-role', 'send-heartbeat'],
    check: (_a, s) => assert.equal(s.releasePending, false),
  },
  {
    name: 'a successful release in backup changes nothing but clears the pending flag',
    state: st('backup'),
    event: { type: 'vip-result', op: 'disable', ok: true },
    role: 'backup',
    actions: [],
  },
  {
    name: 'a primary that hears a higher term from a non-primary peer adopts it and keeps the VIP',
    state: st('primary'),
    event: hb('backup', 8),
    role: 'primary',
    actions: ['persist-term'],
    term: 8,
  },
  {
    name: 'switchover is refused in fault',
    state: st('fault'),
    event: { type: 'switchover-requested' },
    role: 'fault',
    actions: ['switchover-result'],
    check: (a) => assert.equal((a[0] as { ok: boolean }).ok, false),
  },
  {
    name: 'a stopping primary releases the VIP, then tells the peer it is gone (behind the release)',
    state: st('primary'),
    event: { type: 'stopping' },
    role: 'fault',
    actions: ['timeline', 'disable-vip', 'set-worker-role', 'send-heartbeat'],
    check: (a, s) => {
      assert.deepEqual(a.at(-1), { type: 'send-heartbeat', queued: true });
      assert.equal(s.vip, 'releasing');
      assert.equal(s.healthReason, 'stopping');
    },
  },
  {
    name: 'the first sign that the peer is gone (ICMP, TCP) probes every path with a heartbeat at once',
    state: st('backup', {}, { role: 'primary' }),
    event: { type: 'peer-gone', via: 'icmp', path: 1 },
    role: 'backup',
    actions: ['send-heartbeat'],
    check: (a, s) => {
      assert.deepEqual(a[0], { type: 'send-heartbeat', queued: false });
      assert.deepEqual(s.peerGone, { refused: [1], tcp: false, count: 1 });
      assert.equal(s.peer.status, 'alive', 'evidence is not a verdict');
    },
  },
  {
    name: 'further signs before the peer is heard again send nothing more',
    state: st('backup', { peerGone: { refused: [0], tcp: false, count: 1 } }, { role: 'primary' }),
    event: { type: 'peer-gone', via: 'tcp' },
    role: 'backup',
    actions: [],
  },
  {
    name: 'backup promotes on the fast verdict with its own cause (peer-gone)',
    state: st(
      'backup',
      { peerGone: { refused: [0, 1], tcp: false, count: 2 }, peerSilentTicks: CONFIG.fastDeadTicks - 1 },
      { role: 'primary' },
    ),
    event: TICK,
    role: 'primary',
    actions: PROMOTE,
    term: 6,
    check: (a, s) => {
      assert.equal((a[0] as { cause: string }).cause, 'peer-gone');
      assert.equal(s.peerDeadBy, 'peer-gone');
    },
  },
  {
    name: 'a stopping backup releases (safe stop) and goes to fault',
    state: st('backup'),
    event: { type: 'stopping' },
    role: 'fault',
    actions: ['disable-vip', 'set-worker-role', 'send-heartbeat'],
  },
  {
    name: 'VIP check: a backup whose peer is silent for vipCheckTicks asks the VIP over SIP',
    state: checking({ peerSilentTicks: CHECK.vipCheckTicks - 1 }),
    event: TICK,
    role: 'backup',
    actions: ['probe-vip'],
    check: (a, s) => {
      assert.deepEqual(a[0], { type: 'probe-vip', seq: 1, timeoutTicks: CHECK.vipProbeTicks });
      assert.equal(s.vipCheck.pending, 1);
    },
  },
  {
    name: 'VIP check: the peer dead but the VIP answered: no takeover, alarm peer-silent-vip-served once',
    state: checking({
      peerSilentTicks: CHECK.deadTicks - 1,
      vipCheck: { answer: 'answered', pending: undefined, elapsed: 0, seq: 1, alarmed: false },
    }),
    event: TICK,
    role: 'backup',
    actions: ['raise-alarm'],
    check: (a, s) => {
      assert.equal((a[0] as { alarm: string }).alarm, 'peer-silent-vip-served');
      assert.equal(s.peer.status, 'dead');
      assert.equal(s.vipCheck.alarmed, true);
    },
  },
  // Cluster mode: etcd's permit gates every promotion and fences the primary (README "Growing past one pair").
  {
    name: 'cluster: a backup whose peer dies asks etcd for the permit first, and waits for it',
    state: silent(cluster('backup')),
    event: TICK,
    role: 'backup',
    actions: ['campaign'],
    check: (a, s) => {
      assert.deepEqual(a[0], { type: 'campaign', wait: true });
      assert.equal(s.quorum.permit, 'campaigning');
    },
  },
  {
    name: 'cluster: the permit won, the promotion follows; enable-vip carries the fencing token',
    state: cluster('backup', { permit: 'campaigning' }, { status: 'dead' }),
    event: { type: 'permit', held: true, fence: 9 },
    role: 'primary',
    actions: PROMOTE,
    term: 6,
    check: (a, s) => {
      assert.deepEqual(
        a.find((x) => x.type === 'enable-vip'),
        { type: 'enable-vip', fence: 9 },
      );
      assert.equal(s.quorum.fence, 9);
      assert.equal(advertise(s).fence, 9);
    },
  },
  {
    name: 'cluster: a backup cut off from etcd never asks and never promotes',
    state: silent(cluster('backup', { etcd: 'unreachable' })),
    event: TICK,
    role: 'backup',
    actions: [],
  },
  {
    name: 'cluster: the peer is heard again while the campaign is out: the permit is given back',
    state: cluster('backup', { permit: 'campaigning' }, { status: 'dead' }),
    event: hb('primary'),
    role: 'backup',
    actions: ['withdraw'],
    check: (_a, s) => assert.equal(s.quorum.permit, 'none'),
  },
  {
    name: 'cluster: a primary whose lease just ran out gives its peer time to notice the same etcd outage',
    state: cluster('primary', {}, { etcd: 'reachable' }),
    event: { type: 'etcd', reachable: false },
    role: 'primary',
    actions: [],
    check: (_a, s) => assert.equal(s.quorum.permit, 'lapsed'),
  },
  {
    name: 'cluster: a primary whose lease ran out while the peer still reaches etcd releases and hands over',
    state: cluster('primary', { etcd: 'unreachable', permit: 'lapsed', downTicks: 2 }, { etcd: 'reachable' }),
    event: TICK,
    role: 'backup',
    actions: [
      'timeline',
      'disable-vip',
      'withdraw',
      'send-resign',
      'set-worker-role',
      'raise-alarm',
      'send-heartbeat',
    ],
    check: (a) => assert.equal((a[5] as { alarm: string }).alarm, 'quorum-lost'),
  },
  {
    name: 'cluster failsafe: lease run out, the peer heard and cut off from etcd too: the primary keeps the VIP',
    state: cluster('primary', {}, { etcd: 'unreachable' }),
    event: { type: 'etcd', reachable: false },
    role: 'primary',
    actions: [],
    check: (_a, s) => assert.equal(s.quorum.permit, 'lapsed'),
  },
  {
    name: 'cluster without failsafe: the same primary gives the VIP up',
    state: cluster('primary', { failsafe: false }, { etcd: 'unreachable' }),
    event: { type: 'etcd', reachable: false },
    role: 'backup',
    actions: [
      'timeline',
      'disable-vip',
      'withdraw',
      'send-resign',
      'set-worker-role',
      'raise-alarm',
      'send-heartbeat',
    ],
  },
  {
    name: 'cluster: a primary cut off from both its peer and etcd releases the VIP',
    state: cluster('primary', {}, { status: 'dead', etcd: 'unreachable' }),
    event: { type: 'etcd', reachable: false },
    role: 'backup',
    actions: [
      'timeline',
      'disable-vip',
      'withdraw',
      'send-resign',
      'set-worker-role',
      'raise-alarm',
      'send-heartbeat',
    ],
  },
  {
    name: 'cluster failsafe over: etcd answers again, the primary renews its permit without queueing',
    state: cluster('primary', { permit: 'lapsed' }, { etcd: 'unreachable' }),
    event: { type: 'etcd', reachable: true },
    role: 'primary',
    actions: ['campaign'],
    check: (a) => assert.deepEqual(a[0], { type: 'campaign', wait: false }),
  },
  {
    name: 'cluster: the permit is taken from the primary (fenced): it releases at once',
    state: cluster('primary', { permit: 'campaigning' }),
    event: { type: 'permit', held: false, detail: 'held by b' },
    role: 'backup',
    actions: ['timeline', 'disable-vip', 'set-worker-role', 'raise-alarm', 'send-heartbeat'],
    check: (a) => assert.equal((a[3] as { alarm: string }).alarm, 'fenced'),
  },
  {
    name: 'cluster: a switchover gives the permit back after the VIP and before the resignation',
    state: cluster('primary'),
    event: { type: 'switchover-requested' },
    role: 'backup',
    actions: [
      'timeline',
      'disable-vip',
      'withdraw',
      'send-resign',
      'set-worker-role',
      'switchover-result',
      'send-heartbeat',
    ],
  },
  {
    name: 'cluster: of two primaries the newer permit wins, whatever the terms',
    state: cluster('primary', { fence: 7 }, { role: 'primary' }, 9),
    event: hb('primary', 5, { fence: 12, etcd: 'reachable' }),
    role: 'backup',
    actions: ['timeline', 'disable-vip', 'withdraw', 'set-worker-role', 'raise-alarm', 'send-heartbeat'],
  },
];

describe('role machine: transition table', () => {
  for (const c of CASES) {
    it(c.name, () => {
      const { state, actions } = step(c.state, c.event);
      assert.equal(state.role, c.role);
      assert.deepEqual(
        actions.map((a) => a.type),
        c.actions,
      );
      if (c.term !== undefined) assert.equal(state.term, c.term);
      c.check?.(actions, state);
    });
  }

  it('every row of TABLE is exercised by some case', () => {
    const used = new Set(CASES.map((c) => matchRow(c.state, c.event)).filter((r) => r !== undefined));
    const unused = TABLE.filter((r) => !used.has(r)).map((r) => `${r.from.join('|')} ${r.on} ${r.when}`);
    assert.deepEqual(unused, []);
  });

  it('is deterministic and does not mutate its input', () => {
    const s = st('backup');
    const copy = structuredClone(s);
    const r1 = step(silent(s), TICK);
    const r2 = step(silent(s), TICK);
    assert.deepEqual(s, copy);
    assert.deepEqual(r1, r2);
  });
});

// ---- invariants over random event sequences ----

const eventArb: fc.Arbitrary<RoleEvent> = fc.oneof(
  fc.constant<RoleEvent>({ type: 'started' }),
  fc.record({
    type: fc.constant('peer-heartbeat' as const),
    term: fc.integer({ min: 0, max: 12 }),
    role: fc.constantFrom<Role>('starting', 'backup', 'primary', 'fault'),
    priority: fc.constantFrom(50, 100, 150),
    id: fc.constant('b'),
    ready: fc.boolean(),
    yielding: fc.boolean(),
  }),
  // Silence: runs of ticks long enough for the peer to be declared dead.
  fc.constant<RoleEvent>({ type: 'tick' }),
  fc.constant<RoleEvent>({ type: 'tick' }),
  fc.constant<RoleEvent>({ type: 'tick', late: true }),
  fc.constant<RoleEvent>({ type: 'resign-sent' }),
  fc.record({ type: fc.constant('peer-resigned' as const), term: fc.integer({ min: 0, max: 12 }) }),
  fc.record({
    type: fc.constant('resign-requested' as const),
    reason: fc.constantFrom<'switchover' | 'preempt'>('switchover', 'preempt'),
  }),
  fc.record({ type: fc.constant('local-health' as const), ok: fc.boolean(), reason: fc.constant('x') }),
  fc.record({ type: fc.constant('witnesses' as const), reachable: fc.boolean() }),
  fc.record({
    type: fc.constant('peer-gone' as const),
    via: fc.constantFrom<'icmp' | 'tcp'>('icmp', 'tcp'),
    path: fc.constantFrom(0, 1),
  }),
  fc.constant<RoleEvent>({ type: 'switchover-requested' }),
  fc.record({
    type: fc.constant('vip-result' as const),
    op: fc.constantFrom<'enable' | 'disable'>('enable', 'disable'),
    ok: fc.boolean(),
  }),
  fc.constant<RoleEvent>({ type: 'tick' }),
);

describe('role machine: invariants over random event sequences', () => {
  it('terms only grow, a promotion persists a fresh term before the VIP, claims need witnesses and health', () => {
    fc.assert(
      fc.property(fc.array(eventArb, { maxLength: 60 }), fc.boolean(), (events, preempt) => {
        let s = initialState({ ...CONFIG, preempt }, 3, true);
        let highestPersisted = 3;
        for (const e of events) {
          const before = s;
          const r = step(s, e);
          s = r.state;
          assert.ok(s.term >= before.term, 'term never decreases');
          const enable = r.actions.findIndex((a) => a.type === 'enable-vip');
          if (enable >= 0) {
            const persist = r.actions.findIndex((a) => a.type === 'persist-term');
            assert.ok(persist >= 0 && persist < enable, 'persist-term comes before enable-vip');
            const t = (r.actions[persist] as { term: number }).term;
            assert.ok(t > highestPersisted, 'a promotion never reuses a persisted term');
            assert.equal(s.role, 'primary');
            assert.equal(s.witnesses, 'reachable', 'never claim the VIP while witnesses are not reachable');
            assert.equal(s.healthy, true, 'never claim the VIP while unhealthy');
            assert.notEqual(
              s.peer.status === 'alive' && s.peer.role,
              'primary',
              'never claim under a live primary',
            );
          }
          for (const a of r.actions)
            if (a.type === 'persist-term') highestPersisted = Math.max(highestPersisted, a.term);
          if (before.role === 'primary' && s.role !== 'primary') {
            const effects = r.actions.filter((a) => a.type !== 'timeline');
            assert.deepEqual(effects[0], { type: 'disable-vip' }, 'leaving primary releases the VIP first');
          }
          if (s.role !== 'primary')
            assert.ok(!r.actions.some((a) => a.type === 'announce'), 'only a primary announces');
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('two machines wired together end with exactly one primary, whatever the priorities', () => {
    fc.assert(
      fc.property(fc.constantFrom(50, 100, 150), fc.constantFrom(50, 100, 150), (pa, pb) => {
        let a = step(initialState({ ...CONFIG, id: 'a', priority: pa }, 0, false), { type: 'started' }).state;
        let b = step(initialState({ ...CONFIG, id: 'b', priority: pb }, 0, false), { type: 'started' }).state;
        const ok: RoleEvent = { type: 'local-health', ok: true, reason: 'ready' };
        a = step(a, ok).state;
        b = step(b, ok).state;
        // What each hears is the other's advertise(state); VIP commands succeed at once.
        const hbOf = (s: RoleState): RoleEvent => ({
          type: 'peer-heartbeat',
          ...advertise(s),
          id: s.config.id,
        });
        const deliver = (s: RoleState, e: RoleEvent): RoleState => {
          const r = step(s, e);
          let next = r.state;
          for (const x of r.actions)
            if (x.type === 'enable-vip' || x.type === 'disable-vip')
              next = step(next, {
                type: 'vip-result',
                op: x.type === 'enable-vip' ? 'enable' : 'disable',
                ok: true,
              }).state;
          return next;
        };
        for (let i = 0; i < 6; i++) {
          const ha = hbOf(a);
          const hbB = hbOf(b);
          a = deliver(a, hbB);
          b = deliver(b, ha);
        }
        assert.equal([a, b].filter((s) => s.role === 'primary').length, 1);
        const winner = a.role === 'primary' ? a : b;
        assert.equal(winner.config.priority, Math.max(pa, pb));
      }),
    );
  });
});

describe('leaving fault with a stale "peer dead" verdict', () => {
  it('forgets it: back to backup with the peer unknown, and no promotion on the next tick', () => {
    // A's SIP link was down: it went to fault and called the peer dead meanwhile (the silence was its own).
    const s = st(
      'fault',
      { healthy: false, releasePending: false },
      { status: 'dead', role: 'backup', term: 5 },
    );
    const back = step(s, { type: 'local-health', ok: true, reason: 'SIP path healthy' });
    assert.equal(back.state.role, 'backup');
    assert.equal(back.state.peer.status, 'unknown');
    const tick = step(back.state, { type: 'tick' });
    assert.equal(tick.state.role, 'backup', 'an unknown peer is not a dead one');
    assert.ok(!tick.actions.some((a) => a.type === 'enable-vip'));
    // A fresh window of silence lets it promote as usual: not one tick before deadTicks.
    let t = tick.state;
    for (let i = 1; i < CONFIG.deadTicks - 1; i++) t = step(t, TICK).state;
    assert.equal(t.peer.status, 'unknown');
    const promoted = step(t, TICK);
    assert.equal(promoted.state.peer.status, 'dead');
    assert.equal(promoted.state.role, 'primary');
  });
});

describe('time in the machine: peer silence, heartbeats, stalls', () => {
  const alive = () => st('backup', { heartbeatElapsed: 0 }, { status: 'alive', role: 'primary' });

  it('the peer is dead after deadTicks ticks of silence, not one tick before; a message restarts the count', () => {
    let s = alive();
    for (let i = 1; i < CONFIG.deadTicks; i++) s = step(s, TICK).state;
    assert.equal(s.peer.status, 'alive');
    const heard = step(s, hb('primary')).state;
    assert.equal(heard.peerSilentTicks, 0);
    const r = step(s, TICK);
    assert.equal(r.state.peer.status, 'dead');
    assert.equal(r.state.role, 'primary', 'a dead primary peer: the backup takes over');
  });

  it('a late tick (this process stalled) gives the peer a fresh window and is counted', () => {
    const r = step(silent(alive()), { type: 'tick', late: true });
    assert.equal(r.state.peer.status, 'alive');
    assert.equal(r.state.peerSilentTicks, 0);
    assert.equal(r.state.stalls, 1);
    assert.deepEqual(
      r.actions,
      [{ type: 'send-heartbeat', queued: false }],
      'the peer hears at once after a stall',
    );
  });

  it('a heartbeat goes out every heartbeatTicks ticks, at once (never behind VIP commands)', () => {
    let s = alive();
    const sent: number[] = [];
    for (let i = 1; i <= 3 * CONFIG.heartbeatTicks; i++) {
      const r = step({ ...s, peerSilentTicks: 0 }, TICK);
      s = r.state;
      for (const a of r.actions) if (a.type === 'send-heartbeat') sent.push(a.queued ? -i : i);
    }
    assert.deepEqual(sent, [5, 10, 15]);
  });

  it('while a resignation is queued, heartbeats of role changes wait behind it; resign-sent releases them', () => {
    const r = step(st('primary'), { type: 'switchover-requested' });
    assert.equal(r.state.resigning, 1);
    assert.deepEqual(r.actions.at(-1), { type: 'send-heartbeat', queued: true });
    assert.equal(step(r.state, { type: 'resign-sent' }).state.resigning, 0);
  });
});

describe('fast detection: the peer process gone (ICMP port unreachable, TCP RST/FIN), never on that alone', () => {
  // The default timers: a heartbeat every 5 ticks, dead after 21, fast verdict after 9 (src/ha/timers.ts).
  const FAST = { ...CONFIG, heartbeatTicks: 5, deadTicks: 21, fastDeadTicks: 9 };
  const alive = (): RoleState => ({
    ...st('backup', { heartbeatElapsed: 0 }, { status: 'alive', role: 'primary' }),
    config: FAST,
  });
  const ICMP: RoleEvent = { type: 'peer-gone', via: 'icmp', path: 0 };
  const ICMP1: RoleEvent = { type: 'peer-gone', via: 'icmp', path: 1 };
  const TCP: RoleEvent = { type: 'peer-gone', via: 'tcp' };
  /** The kernel of a dead peer: every path refuses (the probe makes sure of it). */
  const gone = (s: RoleState): RoleState => step(step(s, ICMP).state, ICMP1).state;
  const ticks = (s: RoleState, n: number): StepResult[] => {
    const out: StepResult[] = [];
    let cur = s;
    for (let i = 0; i < n; i++) {
      const r = step(cur, TICK);
      out.push(r);
      cur = r.state;
    }
    return out;
  };
  const promotion = (rs: StepResult[]) =>
    rs.findIndex((r) => r.actions.some((a) => a.type === 'timeline' && a.kind === 'promote'));

  it('a refusal on every path and silence on every path for fastDeadTicks: dead, promoted with cause peer-gone', () => {
    const rs = ticks(gone(alive()), FAST.deadTicks);
    const at = promotion(rs);
    assert.equal(at + 1, FAST.fastDeadTicks, 'not one tick before fastDeadTicks, not one after');
    const r = rs[at] as StepResult;
    assert.equal(r.state.peer.status, 'dead');
    assert.equal(r.state.peerDeadBy, 'peer-gone');
    assert.equal(r.state.role, 'primary');
    assert.deepEqual(r.actions[0], {
      type: 'timeline',
      kind: 'promote',
      cause: 'peer-gone',
      oldTerm: 5,
      newTerm: 6,
    });
  });

  it('refusals that come late in the silence kill at the next tick', () => {
    const quiet = (ticks(alive(), 12).at(-1) as StepResult).state;
    assert.equal(quiet.peer.status, 'alive');
    const r = step(gone(quiet), TICK);
    assert.equal(r.state.role, 'primary');
    assert.equal((r.actions[0] as { cause: string }).cause, 'peer-gone');
  });

  it('evidence while heartbeats arrive every heartbeat interval never kills (forged ICMP and RST after each)', () => {
    let s = alive();
    for (let i = 1; i <= 2000; i++) {
      if (i % FAST.heartbeatTicks === 0) s = step(s, hb('primary')).state;
      // The forger answers every heartbeat on every path, right after each one, and resets the TCP mid-interval.
      if (i % FAST.heartbeatTicks === 1) s = gone(s);
      if (i % FAST.heartbeatTicks === 3) s = step(s, TCP).state;
      s = step(s, TICK).state;
      assert.equal(s.peer.status, 'alive', `tick ${i}`);
      assert.equal(s.role, 'backup');
    }
  });

  it('the probe is sent once per silence: evidence after evidence sends nothing until the peer is heard', () => {
    let s = alive();
    const probes: number[] = [];
    for (let i = 0; i < 4; i++) {
      const r = step(s, i === 2 ? hb('primary') : ICMP);
      s = r.state;
      probes.push(r.actions.filter((a) => a.type === 'send-heartbeat').length);
    }
    assert.deepEqual(probes, [1, 0, 0, 1], 'a heartbeat clears the evidence; the next sign probes again');
  });

  it('one path refusing, or the replication connection lost, with silence: only deadTicks kills (peer-dead)', () => {
    for (const evidence of [[ICMP], [ICMP1, ICMP1], [TCP], [TCP, ICMP1]]) {
      let s = alive();
      for (const e of evidence) s = step(s, e).state;
      const rs = ticks(s, FAST.deadTicks);
      assert.equal(promotion(rs) + 1, FAST.deadTicks, JSON.stringify(evidence));
      assert.equal(((rs.at(-1) as StepResult).actions[0] as { cause: string }).cause, 'peer-dead');
    }
  });

  it('the replication connection lost, then the probe refused on every path: the fast verdict', () => {
    const r = step(alive(), TCP);
    assert.deepEqual(
      r.actions,
      [{ type: 'send-heartbeat', queued: false }],
      'the TCP close probes every path',
    );
    const rs = ticks(gone(r.state), FAST.deadTicks);
    assert.equal(promotion(rs) + 1, FAST.fastDeadTicks);
    assert.deepEqual((rs.at(-1) as StepResult).state.peerGone, { refused: [0, 1], tcp: true, count: 3 });
  });

  it('silence without evidence: dead only at deadTicks, with cause peer-dead', () => {
    const rs = ticks(alive(), FAST.deadTicks);
    assert.equal(promotion(rs) + 1, FAST.deadTicks);
    assert.equal((rs.at(-1) as StepResult).state.peerDeadBy, 'silence');
    assert.equal(((rs.at(-1) as StepResult).actions[0] as { cause: string }).cause, 'peer-dead');
  });

  it('evidence, then a heartbeat: the evidence is gone and silence needs deadTicks again', () => {
    const s = step(gone(alive()), hb('primary')).state;
    assert.equal(s.peerGone, undefined);
    const rs = ticks(s, FAST.deadTicks);
    assert.equal(promotion(rs) + 1, FAST.deadTicks);
  });

  it('a late tick after evidence (this process stalled): fresh window, evidence dropped, no verdict', () => {
    let s = gone(alive());
    s = (ticks(s, FAST.fastDeadTicks - 2).at(-1) as StepResult).state;
    const late = step(s, { type: 'tick', late: true });
    assert.equal(late.state.peerSilentTicks, 0);
    assert.equal(late.state.peerGone, undefined);
    assert.equal(late.state.stalls, 1);
    assert.deepEqual(late.actions, [{ type: 'send-heartbeat', queued: false }], 'probes at once');
    const rs = ticks(late.state, FAST.deadTicks - 1);
    assert.equal(promotion(rs), -1, 'no conclusion from before the stall');
    assert.equal((rs.at(-1) as StepResult).state.peer.status, 'alive');
  });

  it('a peer never heard (cold start) or unknown gets the full window: evidence does not shorten it', () => {
    const cold = { ...initialState(FAST, 0, false), healthy: true, released: true };
    const b = step(cold, { type: 'started' }).state;
    assert.equal(b.role, 'backup');
    const rs = ticks(gone(b), FAST.deadTicks);
    assert.equal(promotion(rs) + 1, FAST.deadTicks);
    assert.equal(((rs.at(-1) as StepResult).actions[0] as { cause: string }).cause, 'peer-dead');
  });

  it('fastDeadTicks from the config: FAST_DEAD_HEARTBEATS, above one heartbeat, below deadTicks', () => {
    const d = roleTimers({ heartbeat_ms: 50, dead_after_ms: 200 }).config;
    assert.equal(d.fastDeadTicks, Math.ceil(FAST_DEAD_HEARTBEATS * d.heartbeatTicks) + 1);
    assert.ok(d.fastDeadTicks > d.heartbeatTicks && d.fastDeadTicks < d.deadTicks);
    const tight = roleTimers({ heartbeat_ms: 50, dead_after_ms: 100 }).config;
    assert.ok(tight.fastDeadTicks > tight.heartbeatTicks && tight.fastDeadTicks < tight.deadTicks);
  });
});

describe('the VIP check: a silent peer is taken over only when the VIP itself goes unanswered', () => {
  /** Ticks until the probe goes; returns its seq. */
  const untilProbe = (s0: RoleState): { s: RoleState; seq: number } => {
    let s = s0;
    for (let i = 0; i < 10; i++) {
      const r = step(s, TICK);
      s = r.state;
      const p = r.actions.find((a) => a.type === 'probe-vip');
      if (p !== undefined) return { s, seq: (p as { seq: number }).seq };
    }
    throw new Error('no probe-vip');
  };
  const tickUntilDead = (s0: RoleState): StepResult[] => {
    const out: StepResult[] = [];
    let s = s0;
    while (s.peer.status !== 'dead') {
      const r = step(s, TICK);
      out.push(r);
      s = r.state;
    }
    return out;
  };

  it('no answer to the probe: promoted at deadTicks with cause peer-dead, not later', () => {
    const { s, seq } = untilProbe(checking());
    assert.equal(s.peerSilentTicks, CHECK.vipCheckTicks);
    const after = step(s, { type: 'vip-probe', seq, answered: false }).state;
    const rs = tickUntilDead(after);
    const last = rs.at(-1) as StepResult;
    assert.equal(last.state.peerSilentTicks, CHECK.deadTicks);
    assert.equal(last.state.role, 'primary');
    assert.equal((last.actions[0] as { cause: string }).cause, 'peer-dead');
  });

  it('the VIP answered: the silent peer stays dead without a takeover, re-asked every heartbeat, taken over once the VIP goes quiet', () => {
    const { s, seq } = untilProbe(checking());
    let x = step(s, { type: 'vip-probe', seq, answered: true }).state;
    const rs = tickUntilDead(x);
    x = (rs.at(-1) as StepResult).state;
    assert.equal(x.role, 'backup');
    assert.deepEqual(
      (rs.at(-1) as StepResult).actions.map((a) => a.type),
      ['raise-alarm'],
    );
    // Ticks on: no second alarm, and a new probe once a heartbeat interval has passed since the last.
    const again = untilProbe(x);
    assert.equal(again.seq, seq + 1);
    assert.equal(again.s.role, 'backup', 'still served while the new probe is out');
    const quiet = step(again.s, { type: 'vip-probe', seq: again.seq, answered: false });
    assert.equal(quiet.state.role, 'primary');
    assert.equal((quiet.actions[0] as { cause: string }).cause, 'peer-dead');
  });

  it('the peer heard again ends the episode: the alarm is cleared and the check starts over', () => {
    const x = checking({
      peerSilentTicks: CHECK.deadTicks,
      peer: { ...checking().peer, status: 'dead' },
      vipCheck: { answer: 'answered', pending: undefined, elapsed: 1, seq: 3, alarmed: true },
    });
    const r = step(x, hb('primary'));
    assert.ok(r.actions.some((a) => a.type === 'clear-alarm' && a.alarm === 'peer-silent-vip-served'));
    assert.deepEqual(r.state.vipCheck, {
      answer: 'unasked',
      pending: undefined,
      elapsed: 0,
      seq: 3,
      alarmed: false,
    });
  });

  it('an answer to an older probe is stale and ignored; a result that never comes counts as silence', () => {
    const { s, seq } = untilProbe(checking());
    const stale = step(s, { type: 'vip-probe', seq: seq - 1, answered: true }).state;
    assert.equal(stale.vipCheck.answer, 'unasked');
    let x = stale;
    for (let i = 0; i < CHECK.vipProbeTicks + 3 && x.role === 'backup'; i++) x = step(x, TICK).state;
    assert.equal(x.vipCheck.pending, undefined);
    assert.equal(x.role, 'primary', 'a lost answer cannot hold a takeover forever');
  });

  it("the fast verdict (the peer process gone) needs no VIP check: a crashed node's orphaned worker may still answer", () => {
    const x = checking({
      peerGone: { refused: [0, 1], tcp: false, count: 2 },
      peerSilentTicks: CHECK.fastDeadTicks - 1,
    });
    const r = step(x, TICK);
    assert.equal(r.state.role, 'primary');
    assert.equal((r.actions[0] as { cause: string }).cause, 'peer-gone');
  });

  it('timers: asked at a third of the dead interval, answered two ticks before the verdict; off without monitoring', () => {
    const on = roleTimers({ heartbeat_ms: 50, dead_after_ms: 200 }, true).config;
    assert.equal(on.vipCheckTicks, Math.floor(on.deadTicks / 3));
    assert.equal(on.vipCheckTicks + on.vipProbeTicks + 2, on.deadTicks);
    const off = roleTimers({ heartbeat_ms: 50, dead_after_ms: 200 }).config;
    assert.equal(off.vipCheckTicks, 0);
  });
});

describe('advertise: what the peer hears is a function of the state', () => {
  it('a releasing ex-primary still says primary in the term it held the VIP under, neither ready nor yielding', () => {
    const demoted = step(st('primary', { vip: 'held' }), hb('primary', 9)).state;
    assert.equal(demoted.role, 'backup');
    assert.equal(demoted.term, 9);
    assert.deepEqual(advertise(demoted), {
      role: 'primary',
      term: 5,
      priority: 100,
      ready: false,
      yielding: false,
    });
    const done = step(demoted, { type: 'vip-result', op: 'disable', ok: true });
    assert.deepEqual(done.actions, [{ type: 'send-heartbeat', queued: false }], 'the peer hears at once');
    const released = done.state;
    assert.equal(released.vip, 'released');
    assert.deepEqual(advertise(released), {
      role: 'backup',
      term: 9,
      priority: 100,
      ready: true,
      yielding: false,
    });
  });

  it('the VIP goes adding → held on promotion, and a resigned node yields once released', () => {
    const p = step(silent(st('backup')), TICK).state;
    assert.equal(p.vip, 'adding');
    assert.equal(step(p, { type: 'vip-result', op: 'enable', ok: true }).state.vip, 'held');
    const resigned = step(st('primary', { vip: 'held' }), { type: 'switchover-requested' }).state;
    const gone = step(resigned, { type: 'vip-result', op: 'disable', ok: true }).state;
    assert.deepEqual(advertise(gone), {
      role: 'primary',
      term: 5,
      priority: 100,
      ready: false,
      yielding: false,
    });
    const sent = step(gone, { type: 'resign-sent' }).state;
    assert.equal(advertise(sent).yielding, true, 'the resignation is out: now it yields');
    assert.equal(advertise(sent).role, 'backup');
  });
});
