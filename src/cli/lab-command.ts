// `sipha lab up|down|demo`: the network-namespace lab for people (the tests, demo and benchmarks use src/lab).
import { type LabTopology, labHosts } from '../lab/topology.js';
import { type CommandSpec, EXIT_FAILURE, EXIT_OK, flag, type ParsedArgs, UsageError } from './args.js';
import type { CliCommand } from './command.js';
import { callerUid, forgetOwner, labsToRemove, readOwnerUid, recordOwner } from './lab-owners.js';

export const spec: CommandSpec = {
  name: 'lab',
  summary: 'up|down|demo: the network-namespace lab (hosts A, B, client C, gateway G); needs root',
  options: [
    { name: 'two-nic', description: 'up: give A and B a second NIC (a separate management network)' },
    { name: 'no-ipv6', description: 'up: IPv4 only' },
  ],
  args: [
    { name: 'ACTION', choices: ['up', 'down', 'demo'], description: 'build, remove, or run the demo' },
    {
      name: 'PREFIX',
      optional: true,
      description: 'down: the lab to remove (without it: the labs you started, never anyone else’s)',
    },
  ],
  synopsis: ['up [--two-nic] [--no-ipv6]', 'down [PREFIX]', 'demo'],
  exitCodes: [[1, 'not root, the lab failed to build, or no lab PREFIX']],
};

export async function runLabCommand({ values, positionals }: ParsedArgs): Promise<number> {
  const [action, prefix] = positionals;
  if (prefix !== undefined && action !== 'down')
    throw new UsageError(`${action} takes no PREFIX (only down does)`);
  // The demo checks root and Debian packages itself, with a message naming what is missing.
  if (action === 'demo') return (await import('../lab/demo.js')).runDemo();
  const uid = process.getuid?.();
  if (uid !== 0) {
    process.stderr.write('sipha lab: needs root (network namespaces)\n');
    return EXIT_FAILURE;
  }
  const { Lab, LAB_STATE_DIR } = await import('../lab/lab.js');
  const me = callerUid(uid);
  if (action === 'up') {
    const lab = await Lab.create({
      persistent: true,
      twoNic: flag(values, 'two-nic'),
      ipv6: !flag(values, 'no-ipv6'),
    });
    await recordOwner(LAB_STATE_DIR, lab.prefix, me);
    process.stdout.write(describe(lab.topology));
    return EXIT_OK;
  }
  const labs = await Lab.kept();
  const owners = await Promise.all(
    labs.map(async (l) => ({ prefix: l.prefix, uid: await readOwnerUid(LAB_STATE_DIR, l.prefix) })),
  );
  const { remove, kept } = labsToRemove(owners, prefix, me);
  for (const lab of labs.filter((l) => remove.includes(l.prefix))) {
    await lab.destroy();
    await forgetOwner(LAB_STATE_DIR, lab.prefix);
    process.stdout.write(`removed ${lab.prefix}\n`);
  }
  const stale = await Lab.cleanupStale();
  if (stale.length > 0) process.stdout.write(`removed leftovers: ${stale.join(' ')}\n`);
  if (kept.length > 0)
    process.stdout.write(`left alone (started by someone else): ${kept.join(' ')}; name one to remove it\n`);
  if (prefix !== undefined && remove.length === 0) {
    process.stderr.write(`sipha lab: no lab ${prefix}\n`);
    return EXIT_FAILURE;
  }
  return EXIT_OK;
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

export const labCommand: CliCommand = { spec, run: runLabCommand };
