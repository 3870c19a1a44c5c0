// solaris driver: the VIP on a logical sub-interface (e1000g0:1) with ifconfig addif / removeif.
import { outputNamesIp } from './address.js';
import type { PlanInput, VipPlan } from './plan.js';

export function planSolaris(input: PlanInput): VipPlan {
  const { address, interface: nic } = input;
  const fam = address.family === 6 ? ['inet6'] : [];
  return {
    driver: 'solaris',
    input,
    enable: { argv: ['ifconfig', nic, ...fam, 'addif', address.cidr, 'up'] },
    disable: { argv: ['ifconfig', nic, ...fam, 'removeif', address.ip] },
    status: { argv: ['ifconfig', '-a'] },
    statusAccepted: (out) => out.exitCode === 0,
    parseStatus: (out) => ({ present: outputNamesIp(blocksOf(out.stdout, nic), address.ip), flags: [] }),
    alreadyDone: (op, out) =>
      op === 'enable' ? /File exists/i.test(out.stderr) : /an.t assign requested address/i.test(out.stderr),
    // Solaris announces the address itself when the logical interface comes up.
    announceBurst: () => undefined,
  };
}

/** Keeps the `ifconfig -a` blocks of NIC and its logical interfaces (NIC:1, NIC:2, ...). */
export function blocksOf(stdout: string, nic: string): string {
  const keep: string[] = [];
  let inside = false;
  for (const line of stdout.split('\n')) {
    if (/^\S/.test(line)) {
      const name = line.split(/:\s/)[0] ?? '';
      inside = name === nic || name.startsWith(`${nic}:`);
    }
    if (inside) keep.push(line);
  }
  return keep.join('\n');
}
