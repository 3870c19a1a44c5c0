// THE SIP-PATH DECISION TABLE: the one place that decides, from the probes of both nodes, whether this node's SIP
// path is at fault (the guide's "primary disconnect" workflow). Pure: reports in, a verdict out.
//
// Each node watches its own SIP path and sends what it sees to its peer in every HA heartbeat (SipPathReport):
//   carrier  SIP NIC carrier/operstate (/sys/class/net/IF)                           up | down | unknown
//   traffic  SIP received on the VIP within idle_ms (only the VIP holder gets any)   active | idle | unknown
//   gateway  OPTIONS to monitoring.sip_traffic.probe_targets (else the ICMP witnesses) ok | fail | unknown
//   peer     OPTIONS to the peer's unique SIP address                                ok | fail | unknown
//   vip      OPTIONS to the VIP (the cross-probe of a node that does not hold it)    ok | fail | unknown
// All probes leave from the node's unique SIP address through the SIP network, never through loopback.
//
// Both nodes evaluate the same table, each for itself (S = this node, P = the peer's last report, absent when
// the peer is silent). "serving" = holds the VIP (primary). First matching row wins:
//
//  rule                 when                                                          S at fault  alarm
//  own-carrier-down     S.carrier down                                                yes         critical
//  own-path-cut         S reaches nothing (no traffic, gateway fail, peer ≠ ok,       yes         critical
//                       vip ≠ ok unless serving) AND P proves the network works
//                       (P.carrier up, P.gateway ok or P serves traffic) AND P cannot
//                       reach S (S serving: P.vip fail; else P.peer ≠ ok)
//  peer-carrier-down    P.carrier down                                                no          warning
//  peer-path-cut        the row own-path-cut with S and P swapped                     no          warning
//  both-cut             S.gateway fail AND P.gateway fail                             no          critical
//  peer-silent-cut      P silent AND S reaches nothing                                no          warning
//  probes-disagree      any other failed probe that matters (vip only while the       no          warning
//                       peer serves; P.vip while S serves)
//  healthy              otherwise                                                     no          —
//
// So: the primary that sees no traffic and cannot reach the gateway or the backup, while the backup reaches the
// gateway but not the VIP, is at fault (it releases the VIP, the backup takes over on the peer-fault row of the
// role machine); a backup whose own SIP path is down goes to fault and is not eligible; when both sides fail
// nobody moves (a switchover cannot help: the gateway or the whole SIP network is down) and the alarm is critical;
// a silent peer leaves isolation to the witnesses (role machine); any other disagreement only warns.

export type Tri = 'ok' | 'fail' | 'unknown';
export type Carrier = 'up' | 'down' | 'unknown';
export type Traffic = 'active' | 'idle' | 'unknown';
export type Severity = 'warning' | 'critical';

/** What one node sees of its own SIP path; carried in its heartbeats. */
export interface SipPathReport {
  carrier: Carrier;
  traffic: Traffic;
  gateway: Tri;
  peer: Tri;
  vip: Tri;
}

export interface Side {
  /** Holds the VIP (primary, or still releasing it). */
  serving: boolean;
  report: SipPathReport;
}

export interface DecisionInput {
  self: Side;
  /** The peer's last report; undefined when the peer is silent or sent none. */
  peer: Side | undefined;
}

export type RuleId =
  | 'own-carrier-down'
  | 'own-path-cut'
  | 'peer-carrier-down'
  | 'peer-path-cut'
  | 'both-cut'
  | 'peer-silent-cut'
  | 'probes-disagree'
  | 'healthy';

export interface Decision {
  rule: RuleId;
  /** This node's SIP path is at fault: it must not hold or claim the VIP. */
  fault: boolean;
  /** null: nothing to alarm. */
  severity: Severity | null;
  /** A plain sentence for logs, alarms and the management API. */
  message: string;
}

interface DecisionRow {
  rule: RuleId;
  fault: boolean;
  severity: Severity | null;
  when: (i: DecisionInput) => boolean;
  message: (i: DecisionInput) => string;
}

/** No SIP reached S and S reached nothing through the SIP network. */
export function reachesNothing(s: Side): boolean {
  const r = s.report;
  if (s.serving && r.traffic === 'active') return false;
  return r.gateway === 'fail' && r.peer !== 'ok' && (s.serving || r.vip !== 'ok');
}

/** The SIP network works from this side: carrier up and the gateway answers, or SIP traffic comes in. */
export function provesNetwork(s: Side): boolean {
  const r = s.report;
  return r.carrier === 'up' && (r.gateway === 'ok' || (s.serving && r.traffic === 'active'));
}

/** `from` cannot reach `to`: the VIP when `to` serves, else its unique address. */
function cannotReach(from: Side, to: Side): boolean {
  return to.serving ? from.report.vip === 'fail' : from.report.peer !== 'ok';
}

function cut(s: Side, p: Side | undefined): boolean {
  return p !== undefined && reachesNothing(s) && provesNetwork(p) && cannotReach(p, s);
}

function seen(r: SipPathReport): string {
  return `carrier ${r.carrier}, traffic ${r.traffic}, gateway ${r.gateway}, peer ${r.peer}, vip ${r.vip}`;
}

function failures(i: DecisionInput): string[] {
  const s = i.self;
  const p = i.peer;
  const out: string[] = [];
  if (s.report.gateway === 'fail') out.push('this node cannot reach the gateway');
  if (s.report.peer === 'fail' && p !== undefined) out.push('this node cannot reach the peer');
  if (!s.serving && p?.serving === true && s.report.vip === 'fail')
    out.push('this node cannot reach the VIP');
  if (p !== undefined) {
    if (p.report.gateway === 'fail') out.push('the peer cannot reach the gateway');
    if (p.report.peer === 'fail') out.push('the peer cannot reach this node');
    if (s.serving && !p.serving && p.report.vip === 'fail') out.push('the peer cannot reach the VIP');
  }
  return out;
}

/** The table (the header comment of this file is its readable copy). First match wins. */
export const DECISION_TABLE: readonly DecisionRow[] = [
  {
    rule: 'own-carrier-down',
    fault: true,
    severity: 'critical',
    when: (i) => i.self.report.carrier === 'down',
    message: () => 'SIP NIC has no carrier (link, cable or switch port down): this node is at fault',
  },
  {
    rule: 'own-path-cut',
    fault: true,
    severity: 'critical',
    when: (i) => cut(i.self, i.peer),
    message: (i) =>
      `SIP path of this node is down: it ${i.self.serving ? 'receives no SIP and ' : ''}reaches neither the gateway nor its peer, while the peer reaches the gateway but not this node (${seen(i.self.report)})`,
  },
  {
    rule: 'peer-carrier-down',
    fault: false,
    severity: 'warning',
    when: (i) => i.peer?.report.carrier === 'down',
    message: (i) =>
      `the peer's SIP NIC has no carrier: the peer is at fault and not eligible${i.self.serving ? '; this node keeps the VIP' : ''}`,
  },
  {
    rule: 'peer-path-cut',
    fault: false,
    severity: 'warning',
    when: (i) => i.peer !== undefined && cut(i.peer, i.self),
    message: () =>
      "the peer's SIP path is down (it reaches neither the gateway nor this node): the peer is at fault",
  },
  {
    rule: 'both-cut',
    fault: false,
    severity: 'critical',
    when: (i) => i.self.report.gateway === 'fail' && i.peer?.report.gateway === 'fail',
    message: () =>
      'neither node reaches the gateway through the SIP network: the gateway or the SIP network is down; no switchover',
  },
  {
    rule: 'peer-silent-cut',
    fault: false,
    severity: 'warning',
    when: (i) => i.peer === undefined && reachesNothing(i.self),
    message: () =>
      'this node reaches nothing through the SIP network and the peer is silent: the witnesses decide (an isolated node gives up the VIP)',
  },
  {
    rule: 'probes-disagree',
    fault: false,
    severity: 'warning',
    when: (i) => failures(i).length > 0,
    message: (i) => `SIP probes disagree (${failures(i).join('; ')}): no switchover`,
  },
  { rule: 'healthy', fault: false, severity: null, when: () => true, message: () => 'SIP path healthy' },
];

export function decide(input: DecisionInput): Decision {
  const row = DECISION_TABLE.find((r) => r.when(input)) as DecisionRow; // the last row always matches
  return { rule: row.rule, fault: row.fault, severity: row.severity, message: row.message(input) };
}

/** A report with nothing known yet. */
export const UNKNOWN_REPORT: SipPathReport = {
  carrier: 'unknown',
  traffic: 'unknown',
  gateway: 'unknown',
  peer: 'unknown',
  vip: 'unknown',
};
