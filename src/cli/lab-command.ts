// `sipha lab up|down`: the network-namespace lab for people (the tests, demo and benchmarks use src/lab).
import { parseArgs } from 'node:util';
import { Lab } from '../lab/lab.js';
import { type LabTopology, labHosts } from '../lab/topology.js';
import { errorMessage } from '../net/errors.js';

const USAGE = 'usage: sipha lab up [--two-nic] [--no-ipv6] | sipha lab down [PREFIX] | sipha lab demo\n';

export async function runLabCommand(args: string[]): Promise<number> {
  let values: { 'two-nic'?: boolean; 'no-ipv6'?: boolean };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: { 'two-nic': { type: 'boolean' }, 'no-ipv6': { type: 'boolean' } },
    }));
  } catch (err) {
    process.stderr.write(`sipha lab: ${errorMessage(err)}\n${USAGE}`);
    return 2;
  }
  const [action, prefix, ...extra] = positionals;
  // The demo checks root and Debian packages itself, with a message naming what is missing.
  if (action === 'demo' && prefix === undefined) return (await import('../lab/demo.js')).runDemo();
  if (process.getuid?.() !== 0) {
    process.stderr.write('sipha lab: needs root (network namespaces)\n');
    return 1;
  }
  if (action === 'up' && prefix === undefined) {
    const lab = await Lab.create({
      persistent: true,
      twoNic: values['two-nic'] === true,
      ipv6: values['no-ipv6'] !== true,
    });
    process.stdout.write(describe(lab.topology));
    return 0;
  }
  if (action === 'down' && extra.length === 0) {
    const labs = (await Lab.kept()).filter((l) => prefix === undefined || l.prefix === prefix);
    for (const lab of labs) {
      await lab.destroy();
      process.stdout.write(`removed ${lab.prefix}\n`);
    }
    const stale = await Lab.cleanupStale();
    if (stale.length > 0) process.stdout.write(`removed leftovers: ${stale.join(' ')}\n`);
    if (prefix !== undefined && labs.length === 0) {
      process.stderr.write(`sipha lab: no lab ${prefix}\n`);
      return 1;
    }
    return 0;
  }
  process.stderr.write(USAGE);
  return 2;
}

export function describe(t: LabTopology): string {
  const lines = [`lab ${t.prefix} is up (sipha lab down to remove it)`, ''];
  for (const name of labHosts(t)) {
    const h = t.hosts[name];
    const nics = [h.sip, h.mgmt, h.lan]
      .filter((n) => n !== undefined)
      .map((n) => `${n.ifname} ${n.ipv4}${n.ipv6 === undefined ? '' : ` ${n.ipv6}`} ${n.mac}`);
    lines.push(`  ${name.toUpperCase()}  ${h.netns.padEnd(24)} ${nics.join(' | ')}`);
  }
  lines.push(
    '',
    `  VIP ${t.vip.ipv4Cidr}${t.ipv6 ? ` and ${t.vip.ipv6Cidr}` : ''} on ${t.vip.ifname} (held by nobody yet)`,
    `  a shell on A: ip netns exec ${t.hosts.a.netns} bash`,
    '',
  );
  return lines.join('\n');
}
