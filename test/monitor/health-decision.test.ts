// The SIP-path decision table, as a table: each row names the situation, both sides' reports and the verdict.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DECISION_TABLE,
  type DecisionInput,
  decide,
  type RuleId,
  type SipPathReport,
} from '../../src/monitor/health-decision.js';

const OK: SipPathReport = { carrier: 'up', traffic: 'unknown', gateway: 'ok', peer: 'ok', vip: 'unknown' };
/** A primary: receiving traffic, not probing (what it reports while traffic comes in). */
const PRIMARY_ACTIVE: SipPathReport = { ...OK, traffic: 'active', gateway: 'unknown', peer: 'unknown' };
/** A primary cut off without losing carrier (dead switch port): idle, its probes fail. */
const PRIMARY_CUT: SipPathReport = {
  carrier: 'up',
  traffic: 'idle',
  gateway: 'fail',
  peer: 'fail',
  vip: 'unknown',
};
const BACKUP_OK: SipPathReport = { ...OK, traffic: 'idle', vip: 'ok' };
/** A healthy backup that cannot reach the VIP nor the primary's unique address (the primary is cut off). */
const BACKUP_SEES_PRIMARY_CUT: SipPathReport = { ...OK, traffic: 'idle', peer: 'fail', vip: 'fail' };
const BACKUP_CUT: SipPathReport = {
  carrier: 'up',
  traffic: 'idle',
  gateway: 'fail',
  peer: 'fail',
  vip: 'fail',
};
const CARRIER_DOWN: SipPathReport = {
  carrier: 'down',
  traffic: 'idle',
  gateway: 'fail',
  peer: 'fail',
  vip: 'fail',
};

const primary = (report: SipPathReport) => ({ serving: true, report });
const backup = (report: SipPathReport) => ({ serving: false, report });

interface Case {
  name: string;
  input: DecisionInput;
  rule: RuleId;
  fault: boolean;
  severity: 'warning' | 'critical' | null;
}

const CASES: Case[] = [
  {
    name: 'primary idle, its probes fail, backup reaches the gateway but not the VIP → primary at fault',
    input: { self: primary(PRIMARY_CUT), peer: backup(BACKUP_SEES_PRIMARY_CUT) },
    rule: 'own-path-cut',
    fault: true,
    severity: 'critical',
  },
  {
    name: '…the same seen from the backup → backup healthy, warns that the peer is at fault',
    input: { self: backup(BACKUP_SEES_PRIMARY_CUT), peer: primary(PRIMARY_CUT) },
    rule: 'peer-path-cut',
    fault: false,
    severity: 'warning',
  },
  {
    name: 'primary carrier down → primary at fault (whatever the peer says)',
    input: { self: primary(CARRIER_DOWN), peer: backup(BACKUP_OK) },
    rule: 'own-carrier-down',
    fault: true,
    severity: 'critical',
  },
  {
    name: 'primary carrier down, peer silent (one NIC: the HA link went too) → primary at fault',
    input: { self: primary(CARRIER_DOWN), peer: undefined },
    rule: 'own-carrier-down',
    fault: true,
    severity: 'critical',
  },
  {
    name: 'primary carrier down, seen from the backup → backup healthy, warning',
    input: { self: backup(BACKUP_SEES_PRIMARY_CUT), peer: primary(CARRIER_DOWN) },
    rule: 'peer-carrier-down',
    fault: false,
    severity: 'warning',
  },
  {
    name: 'backup carrier down → backup at fault (not eligible)',
    input: { self: backup(CARRIER_DOWN), peer: primary(PRIMARY_ACTIVE) },
    rule: 'own-carrier-down',
    fault: true,
    severity: 'critical',
  },
  {
    name: 'backup carrier down, seen from the primary → primary keeps the VIP, warning',
    input: { self: primary({ ...PRIMARY_ACTIVE }), peer: backup(CARRIER_DOWN) },
    rule: 'peer-carrier-down',
    fault: false,
    severity: 'warning',
  },
  {
    name: 'backup path cut with carrier up, primary serving traffic → backup at fault',
    input: { self: backup(BACKUP_CUT), peer: primary(PRIMARY_ACTIVE) },
    rule: 'own-path-cut',
    fault: true,
    severity: 'critical',
  },
  {
    name: 'backup path cut, seen from an idle primary that reaches the gateway → primary stays, warning',
    input: { self: primary({ ...OK, traffic: 'idle', peer: 'fail' }), peer: backup(BACKUP_CUT) },
    rule: 'peer-path-cut',
    fault: false,
    severity: 'warning',
  },
  {
    name: 'both sides fail the gateway (gateway or SIP network down) → no switchover, critical',
    input: { self: primary(PRIMARY_CUT), peer: backup(BACKUP_CUT) },
    rule: 'both-cut',
    fault: false,
    severity: 'critical',
  },
  {
    name: '…the same seen from the backup',
    input: { self: backup(BACKUP_CUT), peer: primary(PRIMARY_CUT) },
    rule: 'both-cut',
    fault: false,
    severity: 'critical',
  },
  {
    name: 'gateway down but the nodes reach each other and the VIP → no switchover, critical',
    input: {
      self: primary({ ...OK, traffic: 'idle', gateway: 'fail' }),
      peer: backup({ ...BACKUP_OK, gateway: 'fail' }),
    },
    rule: 'both-cut',
    fault: false,
    severity: 'critical',
  },
  {
    name: 'primary idle and cut off but the peer is silent → not decided here (witnesses), warning',
    input: { self: primary(PRIMARY_CUT), peer: undefined },
    rule: 'peer-silent-cut',
    fault: false,
    severity: 'warning',
  },
  {
    name: 'primary idle, reaches the gateway, backup cannot reach the VIP → probes disagree, no switchover',
    input: { self: primary({ ...OK, traffic: 'idle' }), peer: backup({ ...BACKUP_OK, vip: 'fail' }) },
    rule: 'probes-disagree',
    fault: false,
    severity: 'warning',
  },
  {
    name: 'primary cut off but the backup still reaches the VIP → disagree, no switchover',
    input: { self: primary(PRIMARY_CUT), peer: backup(BACKUP_OK) },
    rule: 'probes-disagree',
    fault: false,
    severity: 'warning',
  },
  {
    name: 'primary idle, probes fail, backup cannot reach the VIP but its own gateway state is unknown → disagree',
    input: { self: primary(PRIMARY_CUT), peer: backup({ ...BACKUP_SEES_PRIMARY_CUT, gateway: 'unknown' }) },
    rule: 'probes-disagree',
    fault: false,
    severity: 'warning',
  },
  {
    name: 'primary receiving traffic: its path is proven even if the backup cannot reach the VIP',
    input: { self: primary(PRIMARY_ACTIVE), peer: backup({ ...BACKUP_OK, vip: 'fail' }) },
    rule: 'probes-disagree',
    fault: false,
    severity: 'warning',
  },
  {
    name: 'two backups (nobody serving): a failing VIP probe is expected, not a disagreement',
    input: { self: backup({ ...BACKUP_OK, vip: 'fail' }), peer: backup({ ...BACKUP_OK, vip: 'fail' }) },
    rule: 'healthy',
    fault: false,
    severity: null,
  },
  {
    name: 'all healthy',
    input: { self: primary(PRIMARY_ACTIVE), peer: backup(BACKUP_OK) },
    rule: 'healthy',
    fault: false,
    severity: null,
  },
  {
    name: 'nothing known yet → healthy (no verdict without evidence)',
    input: {
      self: backup({
        carrier: 'unknown',
        traffic: 'unknown',
        gateway: 'unknown',
        peer: 'unknown',
        vip: 'unknown',
      }),
      peer: undefined,
    },
    rule: 'healthy',
    fault: false,
    severity: null,
  },
];

describe('SIP-path decision table', () => {
  for (const c of CASES) {
    it(c.name, () => {
      const d = decide(c.input);
      assert.deepEqual(
        { rule: d.rule, fault: d.fault, severity: d.severity },
        {
          rule: c.rule,
          fault: c.fault,
          severity: c.severity,
        },
      );
      assert.ok(d.message.length > 10);
    });
  }

  it('every row of the table is exercised by a case', () => {
    const hit = new Set(CASES.map((c) => c.rule));
    for (const row of DECISION_TABLE) assert.ok(hit.has(row.rule), `no case for ${row.rule}`);
  });

  it('the two nodes never both find themselves at fault from the same pair of reports', () => {
    for (const c of CASES) {
      if (c.input.peer === undefined) continue;
      const mine = decide(c.input);
      const theirs = decide({ self: c.input.peer, peer: c.input.self });
      // Both down on carrier is the only honest exception: no such case in the table.
      assert.ok(!(mine.fault && theirs.fault), c.name);
    }
  });
});
