// The HA role state machine: pure and deterministic, in the style of etcd-io/raft's step(). Events go in (peer
// messages, local health, witnesses, operator requests, VIP results, ticks); the new state and the actions to
// carry out come out, in the order they must be carried out. No clocks, no I/O, no randomness: time enters as
// ticks, and the node (src/ha/node.ts) turns the world into events and carries out the actions, nothing else.
// Everything that decides the role, what the peer hears (`advertise`) and when the peer is dead is in here.
//
// States (DESIGN.md "Roles"): starting → backup ⇄ primary, fault from any state when local health fails.
// Every promotion takes term+1 and persists it before the VIP is added (like a Raft term: a frozen primary that
// wakes up learns from the higher term that it was replaced). Two primaries compare (term, priority, id); the
// loser releases at once, the winner announces again. The transition table is in src/ha/role-table.ts.
//
// When the peer is dead (tick): silence on every path for deadTicks (dead_after_ms), or — the fast path — for
// fastDeadTicks (1.2 heartbeats) once the peer's kernel refused a heartbeat on every path since the peer
// was last heard alive (`peer-gone` events: ICMP port unreachable). Evidence is forgotten on any authenticated
// message from the peer and on a late tick; it never kills while heartbeats arrive. Its first signal — a
// refusal, or the replication TCP connection closed or reset — sends a heartbeat on every path at once (row
// `firstEvidence`), so that a dead peer refuses on every path at once.
import type { EventOf, RoleAction, RoleEvent } from './role-events.js';
import { NO_VIP_CHECK, type Role, type RoleState } from './role-state.js';
import { type AnyEventRow, CONDITION_ROWS, EVENT_ROWS, type Row } from './role-table.js';

export * from './role-events.js';
export * from './role-state.js';
export { CONDITION_ROWS, EVENT_ROWS, type Row } from './role-table.js';

export interface StepResult {
  state: RoleState;
  actions: RoleAction[];
}

function isEvent<T extends RoleEvent['type']>(row: AnyEventRow, e: RoleEvent, t: T): e is EventOf<T> {
  return row.on === t && e.type === t;
}

function eventRowMatches(r: AnyEventRow, s: RoleState, e: RoleEvent): boolean {
  if (!r.from.includes(s.role) || !isEvent(r, e, r.on)) return false;
  return (r.guard as (s: RoleState, e: RoleEvent) => boolean)(s, e);
}

/** The matching row for an event in a state (after the event is folded in), for tests and logs. */
export function matchRow(state: RoleState, event: RoleEvent): Row | undefined {
  return matchIn(learn(state, event), event);
}

function matchIn(s: RoleState, event: RoleEvent): Row | undefined {
  return (
    EVENT_ROWS.find((r) => eventRowMatches(r, s, event)) ??
    CONDITION_ROWS.find((r) => r.from.includes(s.role) && r.guard(s))
  );
}

/** The machine: fold the event into the state, apply the first matching row, then the tick's own heartbeat. */
export function step(state: RoleState, event: RoleEvent): StepResult {
  const s = learn(state, event);
  const row = matchIn(s, event);
  let out = row === undefined ? { state: s, actions: [] } : expand(s, row, event);
  // The VIP this node held is gone: that is what the peer waits for before it may add it, so it hears at once.
  if (
    state.vip === 'releasing' &&
    s.vip === 'released' &&
    !out.actions.some((a) => a.type === 'send-heartbeat')
  )
    out = { ...out, actions: [...out.actions, heartbeat(out.state)] };
  // The peer is heard again (or this node stalled): the episode the VIP check had reported is over.
  if (state.vipCheck.alarmed && !out.state.vipCheck.alarmed)
    out = {
      ...out,
      actions: [
        ...out.actions,
        { type: 'clear-alarm', alarm: 'peer-silent-vip-served', detail: `peer ${describePeer(out.state)}` },
      ],
    };
  // raft's heartbeatElapsed: the periodic heartbeat is the tick's, unless the row just sent one. After a stall it
  // is due at once: the peer has not heard from this node for that long and may be about to call it dead.
  const due =
    out.state.heartbeatElapsed >= out.state.config.heartbeatTicks || (event.type === 'tick' && event.late);
  if (event.type === 'tick' && due) {
    const sent = out.actions.some((a) => a.type === 'send-heartbeat');
    return {
      state: { ...out.state, heartbeatElapsed: 0 },
      actions: sent ? out.actions : [...out.actions, { type: 'send-heartbeat', queued: false }],
    };
  }
  return out;
}

/** Folds an event into what the node knows; no decision is taken here. */
function learn(state: RoleState, e: RoleEvent): RoleState {
  switch (e.type) {
    case 'restored':
      return { ...state, term: Math.max(state.term, e.term) };
    case 'started':
      return { ...state, released: true };
    case 'peer-heartbeat': {
      // A peer that is primary again means any hold after our resignation is over.
      const hold = e.role === 'primary' ? 0 : state.hold;
      const dualPrimary = e.role === 'primary' ? state.dualPrimary : false;
      const { type: _t, etcd, fence, ...seen } = e;
      // An authenticated message proves the peer's process runs: any ICMP or RST heard before it was stale or
      // forged, and is forgotten.
      return {
        ...state,
        peer: { ...seen, etcd: etcd ?? 'off', fence: fence ?? 0, status: 'alive' },
        peerSilentTicks: 0,
        peerGone: undefined,
        peerDeadBy: undefined,
        hold,
        dualPrimary,
        vipCheck: forgotten(state),
      };
    }
    case 'peer-resigned':
      return {
        ...state,
        peerSilentTicks: 0,
        peerGone: undefined,
        peer: { ...state.peer, role: 'backup', yielding: true, term: Math.max(e.term, state.peer.term) },
        vipCheck: forgotten(state),
      };
    case 'resign-requested':
      return { ...state, peerSilentTicks: 0, peerGone: undefined, vipCheck: forgotten(state) };
    case 'vip-probe': {
      // Only the answer to the probe out now counts: one from before the peer was last heard is stale.
      const vc = state.vipCheck;
      if (vc.pending !== e.seq) return state;
      return {
        ...state,
        vipCheck: { ...vc, pending: undefined, answer: e.answered ? 'answered' : 'silent' },
      };
    }
    case 'peer-gone': {
      // Evidence only (ICMP port unreachable, RFC 792 / RFC 1122 §3.2.2.1, or a TCP FIN/RST): anyone on the path
      // can forge it, so it decides nothing alone; tick() weighs it against the peer's silence.
      const was = state.peerGone ?? { refused: [], tcp: false, count: 0 };
      const refused =
        e.via === 'icmp' && !was.refused.includes(e.path)
          ? [...was.refused, e.path].sort((x, y) => x - y)
          : was.refused;
      return {
        ...state,
        peerGone: { refused, tcp: was.tcp || e.via === 'tcp', count: was.count + 1 },
      };
    }
    case 'local-health':
      return { ...state, healthy: e.ok, healthReason: e.reason };
    case 'witnesses':
      return { ...state, witnesses: e.reachable ? 'reachable' : 'unreachable' };
    case 'vip-result': {
      if (!e.ok) return state;
      if (e.op === 'enable') return state.vip === 'adding' ? { ...state, vip: 'held' } : state;
      return state.vip === 'releasing' ? { ...state, vip: 'released' } : state;
    }
    case 'etcd': {
      if (!state.quorum.enabled) return state;
      const q = state.quorum;
      // A held permit whose lease may expire any moment is no longer a grant: it lapses (kept only by failsafe).
      const permit = !e.reachable && q.permit === 'held' ? 'lapsed' : q.permit;
      const etcd = e.reachable ? 'reachable' : 'unreachable';
      return { ...state, quorum: { ...q, etcd, permit, downTicks: 0 } };
    }
    case 'permit': {
      if (!state.quorum.enabled) return state;
      const q = state.quorum;
      return {
        ...state,
        quorum: e.held ? { ...q, permit: 'held', fence: e.fence } : { ...q, permit: 'none' },
      };
    }
    case 'resign-sent':
      return { ...state, resigning: Math.max(0, state.resigning - 1) };
    case 'tick':
      return tick(state, e.late === true);
    default:
      return state;
  }
}

function tick(state: RoleState, late: boolean): RoleState {
  // A probe whose result never came (the node lost it) counts as unanswered once well past its timeout.
  const vc = { ...state.vipCheck, elapsed: state.vipCheck.elapsed + 1 };
  const lost = vc.pending !== undefined && vc.elapsed > state.config.vipProbeTicks + 2;
  const q = state.quorum;
  const s: RoleState = {
    ...state,
    // How long this node has been cut off from etcd while its peer reports reaching it (the failsafe's end).
    quorum:
      q.etcd === 'unreachable' && state.peer.etcd === 'reachable'
        ? { ...q, downTicks: q.downTicks + 1 }
        : q.downTicks === 0
          ? q
          : { ...q, downTicks: 0 },
    vipCheck: lost ? { ...vc, pending: undefined, answer: 'silent' } : vc,
    hold: Math.max(0, state.hold - 1),
    preemptWait: Math.max(0, state.preemptWait - 1),
    heartbeatElapsed: state.heartbeatElapsed + 1,
    retryElapsed: state.releasePending ? state.retryElapsed + 1 : 0,
  };
  // A tick that comes late means this process did not run: the peer gets a fresh window instead of a verdict,
  // and evidence from before the stall is stale too (the heartbeat sent at once after the stall probes again).
  if (late)
    return { ...s, peerSilentTicks: 0, peerGone: undefined, stalls: s.stalls + 1, vipCheck: forgotten(s) };
  const silent = state.peerSilentTicks + 1;
  // Silence on every path for deadTicks (from start, also when nothing was ever heard): the peer is dead.
  // Fast path: a peer heard alive whose kernel then refused a heartbeat on every path (ICMP port unreachable: no
  // process listens there any more) is dead after fastDeadTicks of silence on every path. Forged evidence cannot
  // do it alone: a live peer's next heartbeat clears it, so the forger must forge on every path and also drop
  // every heartbeat on every path, and then deadTicks would follow a little later anyway. One path refusing, or
  // the replication connection lost (TCP FIN/RST), is not enough: it only probes (row firstEvidence), because a
  // live peer's heartbeat can come late by more than the half interval on a loaded host.
  const fast =
    s.peerGone !== undefined &&
    s.peerGone.refused.length >= s.config.paths &&
    s.peer.status === 'alive' &&
    silent >= s.config.fastDeadTicks;
  if ((silent >= s.config.deadTicks || fast) && s.peer.status !== 'dead') {
    return {
      ...s,
      peerSilentTicks: silent,
      peer: { ...s.peer, status: 'dead', ready: false, yielding: false },
      peerDeadBy: silent >= s.config.deadTicks ? 'silence' : 'peer-gone',
      dualPrimary: false,
    };
  }
  return { ...s, peerSilentTicks: silent };
}

/** The VIP check starts over (the peer was heard, or this node stalled); its sequence goes on. */
function forgotten(s: RoleState): RoleState['vipCheck'] {
  return { ...NO_VIP_CHECK, seq: s.vipCheck.seq };
}

/** Actions on entering a role (FRRouting vrrpd style): the worker's role, and the peer hears at once. */
function entryActions(to: Role): RoleAction[] {
  return [{ type: 'set-worker-role', role: to === 'primary' ? 'primary' : 'backup' }];
}

function heartbeat(s: RoleState): RoleAction {
  return { type: 'send-heartbeat', queued: s.resigning > 0 };
}

function expand(s: RoleState, row: Row, event: RoleEvent): StepResult {
  const to = row.to === 'same' ? s.role : row.to;
  const st = row.step;
  switch (st.do) {
    case 'promote': {
      // Cluster mode: no VIP without the pair's permit from etcd. Ask for it once and wait for the answer; the
      // promotion happens when it comes, if the row still holds then (else the permit is given back, below).
      const q = s.quorum;
      if (q.enabled && q.permit !== 'held') {
        if (q.permit === 'campaigning') return { state: s, actions: [] };
        return {
          state: { ...s, quorum: { ...q, permit: 'campaigning' } },
          actions: [{ type: 'campaign', wait: true }],
        };
      }
      const term = Math.max(s.term, s.peer.term) + 1;
      const next: RoleState = { ...s, role: 'primary', term, hold: 0, dualPrimary: false, vip: 'adding' };
      return {
        state: next,
        actions: [
          { type: 'timeline', kind: 'promote', cause: st.cause, oldTerm: s.term, newTerm: term },
          { type: 'persist-term', term },
          ...entryActions('primary'),
          q.enabled ? { type: 'enable-vip', fence: q.fence } : { type: 'enable-vip' },
          { type: 'announce' },
          heartbeat(next),
        ],
      };
    }
    case 'demote':
    case 'stop': {
      const wasPrimary = s.role === 'primary';
      const adopt = event.type === 'peer-heartbeat' && event.term > s.term ? event.term : s.term;
      const cause =
        st.do === 'stop'
          ? 'stopping'
          : event.type === 'resign-requested' && event.reason === 'preempt'
            ? 'preempt'
            : st.cause;
      const resign = st.do === 'demote' && st.resign === true;
      const withdraw = s.quorum.permit !== 'none';
      const next: RoleState = {
        ...s,
        role: to,
        term: adopt,
        hold: resign ? s.config.holdTicks : s.hold,
        dualPrimary: false,
        vip: wasPrimary ? 'releasing' : s.vip,
        vipTerm: wasPrimary ? s.term : s.vipTerm,
        resigning: resign ? s.resigning + 1 : s.resigning,
        ...(st.do === 'stop' ? { healthy: false, healthReason: 'stopping' } : {}),
        quorum: withdraw ? { ...s.quorum, permit: 'none' } : s.quorum,
      };
      const actions: RoleAction[] = [];
      // The record opens first (bookkeeping, so that the release is stamped on it); then the release, before any
      // other effect: everything else waits behind it, and only the release prevents two VIP owners.
      if (wasPrimary)
        actions.push({ type: 'timeline', kind: 'demote', cause, oldTerm: s.term, newTerm: adopt });
      actions.push({ type: 'disable-vip' });
      // The permit goes back once the VIP is gone, and before the resignation: the peer's campaign wins at once.
      if (withdraw) actions.push({ type: 'withdraw' });
      if (resign) actions.push({ type: 'send-resign', term: s.term });
      actions.push(...entryActions(to));
      if (adopt !== s.term) actions.push({ type: 'persist-term', term: adopt });
      if (st.do === 'demote' && st.alarm !== undefined)
        actions.push({ type: 'raise-alarm', alarm: st.alarm, detail: detailOf(s, event) });
      if (st.do === 'demote' && st.cause === 'switchover' && event.type === 'switchover-requested')
        actions.push({ type: 'switchover-result', ok: true, detail: 'resigned; the peer takes over' });
      // A stopping node's last word comes after its release: the peer must not add the VIP before it is gone.
      actions.push(st.do === 'stop' ? { type: 'send-heartbeat', queued: true } : heartbeat(next));
      return { state: next, actions };
    }
    case 'become':
      return enter(s, to, { ...s, role: to }, []);
    case 'adopt-term': {
      const term = Math.max(s.peer.term, s.term);
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
          heartbeat(s),
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
    case 'release-failed': {
      const alarm: RoleAction = {
        type: 'raise-alarm',
        alarm: 'vip-release-failed',
        detail: event.type === 'vip-result' ? (event.reason ?? '') : '',
      };
      return enter(s, 'fault', { ...s, role: 'fault', releasePending: true, retryElapsed: 0 }, [alarm]);
    }
    case 'release-ok': {
      const next: RoleState = { ...s, role: to, releasePending: false };
      return to === s.role ? { state: next, actions: [] } : enter(s, to, next, []);
    }
    case 'release-retry':
      return { state: { ...s, retryElapsed: 0 }, actions: [{ type: 'disable-vip' }] };
    case 'probe-vip': {
      const seq = s.vipCheck.seq + 1;
      return {
        state: { ...s, vipCheck: { ...s.vipCheck, pending: seq, elapsed: 0, seq } },
        actions: [{ type: 'probe-vip', seq, timeoutTicks: s.config.vipProbeTicks }],
      };
    }
    case 'vip-served':
      return {
        state: { ...s, vipCheck: { ...s.vipCheck, alarmed: true } },
        actions: [
          {
            type: 'raise-alarm',
            alarm: 'peer-silent-vip-served',
            detail:
              'the peer is silent on every HA path but the VIP answers SIP (the HA link is cut, or the peer ' +
              'node is stopped while its SIP worker serves): no takeover while the VIP is served',
          },
        ],
      };
    case 'withdraw':
      return { state: { ...s, quorum: { ...s.quorum, permit: 'none' } }, actions: [{ type: 'withdraw' }] };
    case 'renew':
      return {
        state: { ...s, quorum: { ...s.quorum, permit: 'campaigning' } },
        actions: [{ type: 'campaign', wait: false }],
      };
    case 'probe':
      // The first evidence: a heartbeat on every path now, not at the next period, so that the other paths are
      // probed too (a dead peer refuses there as well) and a live one is heard sooner.
      return { state: s, actions: [heartbeat(s)] };
  }
}

/**
 * Entering backup or fault: the worker's role, then `extra`, then a heartbeat. Leaving fault, a peer called dead
 * while this node's own link was down may be alive and primary: the silence was ours, so the peer is unknown
 * until heard again or silent for a fresh window, and this node cannot promote on that stale verdict.
 */
function enter(s: RoleState, to: Role, next: RoleState, extra: RoleAction[]): StepResult {
  const fresh =
    s.role === 'fault' && to === 'backup' && next.peer.status === 'dead'
      ? {
          ...next,
          peer: { ...next.peer, status: 'unknown' as const },
          peerSilentTicks: 0,
          peerGone: undefined,
          peerDeadBy: undefined,
        }
      : next;
  return { state: fresh, actions: [...entryActions(to), ...extra, heartbeat(fresh)] };
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
