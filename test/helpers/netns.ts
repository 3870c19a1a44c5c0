// A scratch pair of network namespaces joined by a veth pair, for tests and benches that move a real VIP:
// "NS" holds v0 (198.51.100.1/24, 2001:db8::1/64), its peer holds p0 (198.51.100.2/24, 2001:db8::2/64).
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';

export interface ScratchNetns {
  ns: string;
  peer: string;
  /** The wrap that runs a command inside ns. */
  wrap: string[];
  /** Runs `ip ARGS` inside ns (or peer), returns stdout. */
  ip(args: string[], where?: 'ns' | 'peer'): string;
  macOf(iface: 'v0' | 'p0'): string;
  remove(): void;
}

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

export function createScratchNetns(prefix = 'sipha-vt'): ScratchNetns {
  const tag = randomBytes(3).toString('hex');
  const ns = `${prefix}-${tag}`;
  const peer = `${prefix}-${tag}-p`;
  const run = (args: string[]): string => execFileSync('ip', args, { encoding: 'utf8' });
  const s: ScratchNetns = {
    ns,
    peer,
    wrap: ['ip', 'netns', 'exec', ns],
    ip: (args, where = 'ns') => run(['-n', where === 'ns' ? ns : peer, ...args]),
    macOf: (iface) =>
      s
        .ip(['-o', 'link', 'show', 'dev', iface], iface === 'v0' ? 'ns' : 'peer')
        .match(/link\/ether ([0-9a-f:]{17})/)?.[1] ?? '',
    remove: () => {
      for (const n of [ns, peer]) {
        try {
          run(['netns', 'del', n]);
        } catch {
          // already gone
        }
      }
    },
  };
  try {
    run(['netns', 'add', ns]);
    run(['netns', 'add', peer]);
    s.ip(['link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'p0', 'netns', peer]);
    for (const [where, dev, n] of [
      ['ns', 'v0', 1],
      ['peer', 'p0', 2],
    ] as const) {
      s.ip(['link', 'set', 'lo', 'up'], where);
      s.ip(['addr', 'add', `198.51.100.${n}/24`, 'dev', dev], where);
      s.ip(['addr', 'add', `2001:db8::${n}/64`, 'dev', dev, 'nodad'], where);
      s.ip(['link', 'set', dev, 'up'], where);
    }
  } catch (err) {
    s.remove();
    throw err;
  }
  return s;
}

/** pid and command name of every child of this process. */
export function childProcesses(): { pid: number; comm: string }[] {
  const out: { pid: number; comm: string }[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      // Zombies count too: a child nobody waited for is a leak as well.
      const ppid = stat.slice(close + 2).split(' ')[1];
      if (Number(ppid) === process.pid)
        out.push({ pid: Number(name), comm: stat.slice(stat.indexOf('(') + 1, close) });
    } catch {
      // exited meanwhile
    }
  }
  return out;
}
