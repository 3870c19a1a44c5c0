// The node's alarms: raised with a severity and cleared again, each change an event, the last 100 kept. The role
// machine's alarms have their severities here (typed: a new machine alarm without one does not compile).
import type { Logger } from 'pino';
import type { Decision } from '../monitor/health-decision.js';
import type { RoleAlarm } from './role-events.js';
import type { Alarm, AlarmSeverity } from './status.js';

export const ROLE_ALARM_SEVERITY: Record<RoleAlarm, AlarmSeverity> = {
  'local-fault': 'critical',
  'dual-primary': 'critical',
  isolated: 'critical',
  'vip-enable-failed': 'critical',
  'vip-release-failed': 'critical',
  'witnesses-lost': 'warning',
  'peer-silent-vip-served': 'critical',
  'quorum-lost': 'critical',
  fenced: 'critical',
};

const KEEP = 100;

export class AlarmLog {
  private readonly events: Alarm[] = [];
  private readonly active = new Map<string, Alarm>();
  /** The SIP path alarm raised now (one at a time: a new verdict replaces the last). */
  private sipAlarm: string | undefined;

  constructor(
    private readonly log: Logger,
    private readonly now: () => number,
    private readonly onAlarm: (a: Alarm) => void,
  ) {}

  raise(alarm: string, severity: AlarmSeverity, detail: string): void {
    const a: Alarm = { at: this.now(), alarm, detail, severity, state: 'raised' };
    this.active.set(alarm, a);
    this.record(a);
  }

  raiseRole(alarm: RoleAlarm, detail: string): void {
    this.raise(alarm, ROLE_ALARM_SEVERITY[alarm], detail);
  }

  /** A SIP traffic monitoring verdict: its rule's alarm, raised or cleared. */
  sipPath(d: Pick<Decision, 'rule' | 'severity' | 'message'>): void {
    const name = `sip-${d.rule}`;
    if (this.sipAlarm !== undefined && this.sipAlarm !== name)
      this.clear(this.sipAlarm, d.severity === null ? 'SIP path healthy again' : `now: ${d.message}`);
    this.sipAlarm = d.severity === null ? undefined : name;
    if (d.severity !== null) this.raise(name, d.severity, d.message);
  }

  /** Clearing is an event too, for an alarm that is raised. */
  clear(alarm: string, detail: string): void {
    if (!this.active.delete(alarm)) return;
    this.record({ at: this.now(), alarm, detail, severity: 'info', state: 'cleared' });
  }

  list(): Alarm[] {
    return [...this.events];
  }

  raised(): Alarm[] {
    return [...this.active.values()];
  }

  private record(a: Alarm): void {
    this.events.push(a);
    if (this.events.length > KEEP) this.events.shift();
    this.onAlarm(a);
    if (a.state === 'raised')
      this.log.warn({ alarm: a.alarm, severity: a.severity, detail: a.detail }, 'alarm');
    else this.log.info({ alarm: a.alarm, detail: a.detail }, 'alarm cleared');
  }
}
