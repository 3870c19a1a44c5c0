// script driver: the user's own programs, told what to do through environment variables.
import type { PlanInput, VipPlan } from './plan.js';
import type { CommandSpec } from './runner.js';

export function scriptEnv(input: PlanInput, operation: string): Record<string, string> {
  const { address } = input;
  return {
    SIPHA_VIP_OPERATION: operation,
    SIPHA_VIP: address.ip,
    SIPHA_VIP_PREFIX: String(address.prefix),
    SIPHA_VIP_CIDR: address.cidr,
    SIPHA_VIP_FAMILY: String(address.family),
    SIPHA_VIP_NETMASK: address.netmask ?? '',
    SIPHA_VIP_INTERFACE: input.interface,
    SIPHA_VIP_LABEL: input.label ?? '',
  };
}

export function planScript(input: PlanInput): VipPlan {
  const script = input.script;
  if (script === undefined) throw new Error('vip.script is required when driver is script');
  const spec = (program: string, operation: string): CommandSpec => ({
    argv: [program],
    env: scriptEnv(input, operation),
  });
  const announce = script.announce;
  return {
    driver: 'script',
    input,
    enable: spec(script.enable, 'enable'),
    disable: spec(script.disable, 'disable'),
    status: spec(script.status, 'status'),
    // status: exit 0 = present, 1 = absent, anything else is a failure.
    statusAccepted: (out) => out.exitCode === 0 || out.exitCode === 1,
    parseStatus: (out) => ({ present: out.exitCode === 0, flags: [] }),
    alreadyDone: () => false,
    announceBurst: (count, intervalMs) =>
      announce === undefined
        ? undefined
        : {
            argv: [announce],
            env: {
              ...scriptEnv(input, 'announce'),
              SIPHA_ANNOUNCE_COUNT: String(count),
              SIPHA_ANNOUNCE_INTERVAL_MS: String(intervalMs),
            },
          },
  };
}
