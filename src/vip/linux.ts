// linux driver: the VIP as a logical sub-interface (label eth0:1) with iproute2; IPv6 with nodad.
import { canonicalIp } from './address.js';
import { announceArgv, announceServeArgv } from './announce-sender.js';
import type { PlanInput, PresenceInfo, VipPlan } from './plan.js';
import type { RunOutput } from './runner.js';

export function defaultLabel(iface: string): string | undefined {
  const label = `${iface}:1`;
  return label.length <= 15 ? label : undefined;
}

export function planLinux(input: PlanInput): VipPlan {
  const { address, interface: dev } = input;
  const v6 = address.family === 6;
  const fam = v6 ? ['-6'] : ['-4'];
  // IPv6 addresses carry no label in Linux; nodad because a tentative or dadfailed VIP is an outage.
  const label = input.label ?? defaultLabel(dev);
  const extra = v6 ? ['nodad'] : label === undefined ? [] : ['label', label];
  return {
    driver: 'linux',
    input,
    enable: { argv: ['ip', ...fam, 'addr', 'add', address.cidr, 'dev', dev, ...extra] },
    disable: { argv: ['ip', ...fam, 'addr', 'del', address.cidr, 'dev', dev] },
    status: { argv: ['ip', ...fam, '-o', 'addr', 'show', 'dev', dev] },
    statusAccepted: (out) => out.exitCode === 0,
    parseStatus: (out) => parseIpAddrShow(out.stdout, address.ip),
    // Older kernels answer EEXIST / EADDRNOTAVAIL; newer ones say it with an extended ack ("Error: ipv4: ...").
    alreadyDone: (op: 'enable' | 'disable', out: RunOutput) =>
      op === 'enable'
        ? /File exists|address already assigned/i.test(out.stderr)
        : /Cannot assign requested address|address not found/i.test(out.stderr),
    announceBurst: (count, intervalMs) => ({
      argv: announceArgv(v6 ? 'na' : 'arp', dev, address.ip, count, intervalMs),
    }),
    // Family options are global in ip (not allowed on a batch line); the address itself picks the family.
    batch: {
      enable: ['addr', 'add', address.cidr, 'dev', dev, ...extra].join(' '),
      disable: ['addr', 'del', address.cidr, 'dev', dev].join(' '),
      status: ['addr', 'show', 'dev', dev].join(' '),
    },
    announceServe: { argv: announceServeArgv(v6 ? 'na' : 'arp', dev, address.ip) },
  };
}

const FLAG_WORDS = new Set(['tentative', 'dadfailed', 'deprecated', 'optimistic', 'nodad', 'secondary']);

/** Reads `ip -o addr show` lines: "2: eth0    inet 198.51.100.10/24 scope global secondary eth0:1\ ...". */
export function parseIpAddrShow(stdout: string, ip: string): PresenceInfo {
  const want = canonicalIp(ip);
  for (const line of stdout.split('\n')) {
    const words = line.split(/\s+/);
    const i = words.findIndex((w) => w === 'inet' || w === 'inet6');
    const addr = i >= 0 ? words[i + 1]?.split('/')[0] : undefined;
    if (addr !== undefined && canonicalIp(addr) === want) {
      return { present: true, flags: words.filter((w) => FLAG_WORDS.has(w)) };
    }
  }
  return { present: false, flags: [] };
}
