// aix driver: the VIP as an alias address on the NIC with ifconfig alias / delete.
import { outputNamesIp } from './address.js';
import type { PlanInput, VipPlan } from './plan.js';

export function planAix(input: PlanInput): VipPlan {
  const { address, interface: nic } = input;
  const enable =
    address.family === 4
      ? ['ifconfig', nic, 'inet', address.ip, 'netmask', address.netmask ?? '', 'alias']
      : ['ifconfig', nic, 'inet6', address.cidr, 'alias'];
  const disable = ['ifconfig', nic, address.family === 4 ? 'inet' : 'inet6', address.ip, 'delete'];
  return {
    driver: 'aix',
    input,
    enable: { argv: enable },
    disable: { argv: disable },
    status: { argv: ['ifconfig', nic] },
    statusAccepted: (out) => out.exitCode === 0,
    parseStatus: (out) => ({ present: outputNamesIp(out.stdout, address.ip), flags: [] }),
    alreadyDone: (op, out) =>
      op === 'enable' ? /File exists/i.test(out.stderr) : /an.t assign requested address/i.test(out.stderr),
    // AIX sends a gratuitous ARP when the alias comes up.
    announceBurst: () => undefined,
  };
}
