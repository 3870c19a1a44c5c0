// What a driver is: a pure planner from config to exact argv, plus how to read the answers.
import type { VipAddress } from './address.js';
import type { VipDriverName } from './config.js';
import type { CommandSpec, RunOutput } from './runner.js';

export interface PlanInput {
  address: VipAddress;
  interface: string;
  label: string | undefined;
  script?: { enable: string; disable: string; status: string; announce?: string | undefined } | undefined;
}

export interface PresenceInfo {
  present: boolean;
  /** Address flags reported by the OS, e.g. tentative or dadfailed for an IPv6 VIP that cannot be used. */
  flags: string[];
}

export interface VipPlan {
  readonly driver: VipDriverName;
  readonly input: PlanInput;
  readonly enable: CommandSpec;
  readonly disable: CommandSpec;
  readonly status: CommandSpec;
  /** Which status outputs are answers (others are failures and retried). */
  statusAccepted(out: RunOutput): boolean;
  parseStatus(out: RunOutput): PresenceInfo;
  /** A failed enable/disable whose output means it was already done (another actor raced us). */
  alreadyDone(op: 'enable' | 'disable', out: RunOutput): boolean;
  /** One burst of `count` announcements `intervalMs` apart; undefined when the OS announces by itself. */
  announceBurst(count: number, intervalMs: number): CommandSpec | undefined;
  /**
   * The same three operations as lines for a long-lived `ip -o -force -batch -` (ip-batch.ts); only planners
   * whose tool has a batch mode set it, and then enable/disable run without a status before and after.
   */
  readonly batch?: { enable: string; disable: string; status: string };
  /** A sender kept running between bursts (primed-announcer.ts): "COUNT INTERVAL_MS" lines on its stdin. */
  readonly announceServe?: CommandSpec;
}
