// What the role machine knows (src/ha/role-machine.ts): the role, the term, the VIP as this host holds it, the
// peer as last heard and how long it has been silent, in ticks (etcd-io/raft keeps `electionElapsed` in the
// machine the same way). Everything that decides the role, what the peer hears and when the peer is dead lives
// here; the node keeps no role truth of its own.

export type Role = 'starting' | 'backup' | 'primary' | 'fault';
export type PeerStatus = 'unknown' | 'alive' | 'dead';
export type Witnesses = 'unknown' | 'reachable' | 'unreachable';
/** A node's etcd lease as it knows it (cluster mode); `off` without cluster.etcd. */
export type EtcdView = 'off' | 'unknown' | 'reachable' | 'unreachable';
/**
 * The VIP on this host. `releasing` lasts from the decision to give it up until the release is done: meanwhile
 * this host still answers for it, so it still tells the peer "primary" in the term it held it under.
 */
export type VipState = 'released' | 'adding' | 'held' | 'releasing';

/** `peer-gone`: the fast verdict, the peer's kernel said its process is gone and the peer went silent (see tick). */
export type PromoteCause = 'peer-dead' | 'peer-gone' | 'peer-fault' | 'switchover' | 'election';
export type DemoteCause =
  | 'higher-term'
  | 'isolated'
  | 'witnesses-lost'
  | 'switchover'
  | 'preempt'
  | 'vip-failed'
  | 'local-fault'
  | 'quorum-lost'
  | 'fenced'
  | 'stopping';
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
  /** The peer's etcd lease as it reports it (cluster mode; `off` from a peer without etcd or an older one). */
  etcd: EtcdView;
  /** The peer's fencing token: the etcd revision of the permit it won last (0: none). */
  fence: number;
}

/**
 * The pair's quorum in etcd (cluster mode, README "Growing past one pair"): a node adds the VIP only while it holds
 * the pair's permit — a key under its own etcd lease, won by transaction — and the revision it won it at is its
 * fencing token. etcd is the two-node pair's witness: of two nodes that cannot hear each other, only the one etcd
 * granted the permit serves.
 */
export interface Quorum {
  enabled: boolean;
  /**
   * Patroni's failsafe_mode: a primary that cannot renew its lease keeps the VIP while it hears its peer and the
   * peer cannot reach etcd either (nobody can be granted the permit then, so nobody else can serve).
   */
  failsafe: boolean;
  /** This node's lease: renewed in time (reachable), or past its local deadline (unreachable). */
  etcd: EtcdView;
  /**
   * The permit: none; asked for (a campaign is out); held; lapsed (held when the lease ran out: kept only under the
   * failsafe rule, asked for again as soon as etcd answers).
   */
  permit: 'none' | 'campaigning' | 'held' | 'lapsed';
  /** The etcd revision at which this node last won the permit: its fencing token (0: never). */
  fence: number;
  /** Ticks this node's lease has been run out while its peer reported reaching etcd. */
  downTicks: number;
  /**
   * How long that may last before the failsafe ends: the nodes' renewals run on their own schedules, so at the
   * start of an etcd outage, or at its end, one node may report etcd reachable a renewal period before the other.
   * (While it hears this node as primary, the peer does not campaign, so waiting is safe.)
   */
  settleTicks: number;
}

export const NO_QUORUM: Quorum = {
  enabled: false,
  failsafe: false,
  etcd: 'off',
  permit: 'none',
  fence: 0,
  downTicks: 0,
  settleTicks: 0,
};

/** The machine's timers, all in ticks (src/ha/timers.ts turns the config's milliseconds into ticks). */
export interface RoleConfig {
  id: string;
  priority: number;
  preempt: boolean;
  /** Ticks a node that resigned stays out of elections. */
  holdTicks: number;
  /** Ticks between two periodic heartbeats (VRRP's Advertisement_Interval). */
  heartbeatTicks: number;
  /** Ticks of silence on every path after which the peer is dead (VRRP's Master_Down_Interval). */
  deadTicks: number;
  /**
   * Ticks of silence on every path after which a peer heard alive is dead when its kernel also refused a
   * heartbeat on every path (`peerGone`); fewer than deadTicks, more than heartbeatTicks (src/ha/timers.ts).
   */
  fastDeadTicks: number;
  /** The HA link's paths (ha.listen): the fast verdict needs a refusal on each. */
  paths: number;
  /** Ticks between retries of a VIP release that failed. */
  retryTicks: number;
  /**
   * The VIP check before a takeover on silence (SIP monitoring on): a backup whose peer has been silent for
   * vipCheckTicks asks the VIP itself, over SIP, whether anyone still serves it; the probe waits vipProbeTicks
   * for an answer. 0 ticks: no check (monitoring off), a silent peer is taken over as before.
   */
  vipCheckTicks: number;
  vipProbeTicks: number;
}

/**
 * What the VIP said when this backup asked it (an OPTIONS from its own SIP address to the VIP), since the peer
 * was last heard: nothing asked yet, a probe out, someone answered (the VIP is served: the HA link is cut, not
 * the peer), or nobody did within the probe's time. Forgotten whenever the peer is heard again.
 */
export interface VipCheck {
  answer: 'unasked' | 'answered' | 'silent';
  /** The probe in flight (its sequence number), if any. */
  pending: number | undefined;
  /** Ticks since the last probe went. */
  elapsed: number;
  /** Sequence of the last probe sent: a result that is not for it is stale. */
  seq: number;
  /** The alarm for this episode is raised (once per episode). */
  alarmed: boolean;
}

export const NO_VIP_CHECK: VipCheck = {
  answer: 'unasked',
  pending: undefined,
  elapsed: 0,
  seq: 0,
  alarmed: false,
};

/**
 * What the peer's kernel said since the peer was last heard: its HA port answered a heartbeat with ICMP port
 * unreachable on some paths, or the replication TCP connection to it was closed or reset. None of it is
 * authenticated, so none of it kills alone: a refusal on every path only shortens the silence that does (tick).
 */
export interface PeerGone {
  /** Paths whose heartbeat came back as ICMP port unreachable, ascending. */
  refused: number[];
  /** The replication TCP connection was closed (FIN) or reset (RST) by the far end. */
  tcp: boolean;
  /** Signals since the peer was last heard; the first one probes every path. */
  count: number;
}

export interface RoleState {
  role: Role;
  /** Highest term known; persisted. A primary's term is the term of its promotion (or adopted since). */
  term: number;
  config: RoleConfig;
  peer: PeerView;
  /** Ticks since the peer was last heard on any path (raft's electionElapsed). */
  peerSilentTicks: number;
  /** Evidence that the peer's process is gone, since it was last heard (cleared by any message from it). */
  peerGone: PeerGone | undefined;
  /** How the peer came to be dead: silence alone (deadTicks) or silence with evidence (fastDeadTicks). */
  peerDeadBy: 'silence' | 'peer-gone' | undefined;
  /** Ticks since the last periodic heartbeat (raft's heartbeatElapsed). */
  heartbeatElapsed: number;
  /** Ticks that came late because this process itself did not run: each bought the peer one more window. */
  stalls: number;
  witnesses: Witnesses;
  healthy: boolean;
  healthReason: string;
  /** The safe-start VIP release is done (`started`). */
  released: boolean;
  vip: VipState;
  /** The term the VIP was held under, advertised while it is released. */
  vipTerm: number;
  /** A VIP release failed; the node retries it every `retryTicks` while in fault. */
  releasePending: boolean;
  retryElapsed: number;
  /** Resignations handed to the node and not sent yet: heartbeats that follow them wait behind them. */
  resigning: number;
  /** Ticks left during which this node does not promote by election (after resigning). */
  hold: number;
  /** Ticks left before a preempting node asks again. */
  preemptWait: number;
  /** A dual-primary episode this node won is going on (announce once, not on every heartbeat). */
  dualPrimary: boolean;
  /** The VIP check of the current silence (see RoleConfig.vipCheckTicks). */
  vipCheck: VipCheck;
  quorum: Quorum;
}

export function initialState(
  config: RoleConfig,
  persistedTerm: number,
  witnessesConfigured: boolean,
  /** Cluster mode: the permit gates every promotion (undefined: no etcd, as before). */
  quorum?: { failsafe: boolean; settleTicks: number },
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
      etcd: 'off',
      fence: 0,
    },
    peerSilentTicks: 0,
    peerGone: undefined,
    peerDeadBy: undefined,
    heartbeatElapsed: 0,
    stalls: 0,
    // No witnesses configured: nothing can say we are isolated, so the check passes (like keepalived without
    // track scripts).
    witnesses: witnessesConfigured ? 'unknown' : 'reachable',
    healthy: false,
    healthReason: 'worker not ready',
    released: false,
    vip: 'released',
    vipTerm: 0,
    releasePending: false,
    retryElapsed: 0,
    resigning: 0,
    hold: 0,
    preemptWait: 0,
    dualPrimary: false,
    vipCheck: NO_VIP_CHECK,
    quorum:
      quorum === undefined
        ? NO_QUORUM
        : {
            ...NO_QUORUM,
            enabled: true,
            failsafe: quorum.failsafe,
            settleTicks: quorum.settleTicks,
            etcd: 'unknown',
          },
  };
}

/**
 * True when a beats b: the primary that keeps the VIP in a dual-primary episode. In cluster mode the newer permit
 * (higher fencing token) wins first: etcd granted it later, so the other is the stale one. Then (term, priority, id).
 */
export function outranks(
  a: { term: number; priority: number; id: string; fence?: number },
  b: { term: number; priority: number; id: string; fence?: number },
): boolean {
  const fa = a.fence ?? 0;
  const fb = b.fence ?? 0;
  if (fa > 0 && fb > 0 && fa !== fb) return fa > fb;
  if (a.term !== b.term) return a.term > b.term;
  if (a.priority !== b.priority) return a.priority > b.priority;
  return a.id < b.id; // lower id wins a full tie: deterministic and the same on both nodes
}

/** Ready to take over (or to keep) the VIP: what a switchover to this node is gated on. */
export function isReady(s: RoleState): boolean {
  return (
    (s.role === 'backup' || s.role === 'primary') &&
    s.healthy &&
    s.witnesses === 'reachable' &&
    quorumReachable(s)
  );
}

/** Cluster mode: this node's etcd lease is renewed (it could be granted the permit). Always true without etcd. */
export function quorumReachable(s: RoleState): boolean {
  return !s.quorum.enabled || s.quorum.etcd === 'reachable';
}

/** This host answers for the VIP: it is primary, or it still holds the VIP it is giving up. */
export function isServing(s: RoleState): boolean {
  return s.role === 'primary' || s.vip === 'releasing';
}

/** What the peer hears about this node in every heartbeat. */
export interface Advert {
  role: Role;
  term: number;
  priority: number;
  ready: boolean;
  yielding: boolean;
  /** Cluster mode only: this node's etcd lease and fencing token (the peer's failsafe rule and fence order). */
  etcd?: EtcdView;
  fence?: number;
}

/**
 * The heartbeat's body, from the state alone. What the peer hears is what is true on this host: while a release
 * (or the resignation after it) is in flight this node still holds the VIP, so it still says primary — in the term it held it under, not one
 * adopted since, so that a higher-term primary still wins — and neither ready nor yielding, or the peer could add
 * the VIP before it is gone here.
 */
export function advertise(s: RoleState): Advert {
  // Until its resignation is out, a resigning primary is still handing over: the peer takes over on the resign
  // (which carries when the VIP went), not on a heartbeat that overtook it.
  const handingOver = s.vip === 'releasing' || s.resigning > 0;
  return {
    role: handingOver ? 'primary' : s.role,
    term: handingOver ? s.vipTerm : s.term,
    priority: s.config.priority,
    ready: !handingOver && isReady(s),
    yielding: !handingOver && s.hold > 0,
    ...(s.quorum.enabled ? { etcd: s.quorum.etcd, fence: s.quorum.fence } : {}),
  };
}
