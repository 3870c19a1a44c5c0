// windows driver: the VIP as an additional address on the NIC with netsh. skipassource=true keeps Windows
// from picking the VIP as source of other traffic; store=active keeps a reboot from bringing it back.
import { outputNamesIp } from './address.js';
import type { PlanInput, VipPlan } from './plan.js';

export function planWindows(input: PlanInput): VipPlan {
  const { address, interface: nic } = input;
  const enable =
    address.family === 4
      ? ['netsh', 'interface', 'ipv4', 'add', 'address', `name=${nic}`, `address=${address.ip}`].concat([
          `mask=${address.netmask}`,
          'store=active',
          'skipassource=true',
        ])
      : [
          'netsh',
          'interface',
          'ipv6',
          'add',
          'address',
          `interface=${nic}`,
          `address=${address.cidr}`,
        ].concat(['store=active', 'skipassource=true']);
  const disable =
    address.family === 4
      ? ['netsh', 'interface', 'ipv4', 'delete', 'address', `name=${nic}`, `address=${address.ip}`]
      : ['netsh', 'interface', 'ipv6', 'delete', 'address', `interface=${nic}`, `address=${address.ip}`];
  const status =
    address.family === 4
      ? ['netsh', 'interface', 'ipv4', 'show', 'ipaddresses', `interface=${nic}`]
      : ['netsh', 'interface', 'ipv6', 'show', 'addresses', `interface=${nic}`];
  return {
    driver: 'windows',
    input,
    enable: { argv: enable },
    disable: { argv: disable },
    status: { argv: status },
    statusAccepted: (out) => out.exitCode === 0,
    parseStatus: (out) => ({ present: outputNamesIp(out.stdout, address.ip), flags: [] }),
    alreadyDone: (op, out) => op === 'enable' && /already exists/i.test(out.stdout + out.stderr),
    // Windows sends its own gratuitous ARP / NA when the address is added.
    announceBurst: () => undefined,
  };
}
