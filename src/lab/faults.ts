// The fault catalogue: what the lab tests, the demo and the failover benchmark do to a settled pair, each fault
// named and of one shape, inject(pair, host) then heal(pair, host), so that a tool can also pick them at random.
// inject resolves once the fault is in place (it throws when it could not be applied); heal undoes it as an
// operator, or the host coming back, would, and is safe to call on a fault that is already healed. Neither waits
// for the pair to react: that is the caller's business (and settle.ts says when it is over).
import type { Lab } from './lab.js';
import { LabCommandError, run } from './netns.js';
import {
  type AnyPair,
  HA_PORT,
  HOSTS,
  type Host,
  other,
  type Pair,
  REPLICATION_PORT,
  signalPid,
} from './pair.js';
import type { LabHostName } from './topology.js';

export interface Injected {
  /** Date.now() just before the fault was applied. */
  at: number;
  /** What was done, for a log line. */
  detail: string;
}

export interface Fault {
  /** Unique in the catalogue; a variant carries its option after a slash (crashNode/on-exit). */
  readonly name: string;
  readonly summary: string;
  inject(pair: Pair, host: Host): Promise<Injected>;
  heal(pair: Pair, host: Host): Promise<void>;
}

/** When the VIP is released for a crashed node, as the service manager would do it. */
export type VipRelease = 'none' | 'on-exit' | 'before-restart';

/**
 * kill -9 of the node (its SIP worker follows it). `release`: 'on-exit' runs `sipha vip release` as soon as the
 * process is gone (systemd's ExecStopPost) and inject waits for it; 'before-restart' only when heal restarts it;
 * 'none' leaves it to the node (the orphaned worker removes the VIP, and a node releases it when it starts).
 * heal starts the node again.
 */
export function crashNode(o: { release?: VipRelease } = {}): Fault {
  const release = o.release ?? 'none';
  return {
    name: release === 'none' ? 'crashNode' : `crashNode/${release}`,
    summary: `kill -9 of the node${release === 'none' ? '' : `, VIP released ${release}`}`,
    async inject(pair, h) {
      if (pair.pid(h) === undefined) throw new Error(`the node on ${h} is not running`);
      const at = Date.now();
      pair.signal(h, 'SIGKILL');
      if (release !== 'on-exit') return { at, detail: `kill -9 of ${h}'s node` };
      await pair.exited(h);
      await pair.releaseVip(h);
      return { at, detail: `kill -9 of ${h}'s node, VIP released ${Date.now() - at} ms after the kill` };
    },
    async heal(pair, h) {
      if (pair.pid(h) !== undefined) return;
      await pair.exited(h);
      if (release === 'before-restart') await pair.releaseVip(h);
      pair.start(h);
    },
  };
}

/** kill -9 of the node's SIP worker (its pid from the node's status). The node restarts it: heal has nothing to do. */
export function crashWorker(): Fault {
  return {
    name: 'crashWorker',
    summary: 'kill -9 of the SIP worker',
    async inject(pair, h) {
      const pid = (await pair.status(h))?.worker.pid;
      if (typeof pid !== 'number') throw new Error(`no worker pid from ${h}`);
      const at = Date.now();
      process.kill(pid, 'SIGKILL');
      return { at, detail: `kill -9 of ${h}'s worker (${pid})` };
    },
    async heal() {},
  };
}

const frozen = new WeakMap<Pair, Partial<Record<Host, number[]>>>();

/**
 * SIGSTOP of the node's processes: a host that stops (a VM paused, a long stall), heal sends SIGCONT in the same
 * order. `worker: false` stops the node alone, its SIP worker going on.
 */
export function freeze(o: { worker?: boolean } = {}): Fault {
  const withWorker = o.worker ?? true;
  return {
    name: withWorker ? 'freeze' : 'freeze/node',
    summary: withWorker ? 'SIGSTOP of the node and its worker' : 'SIGSTOP of the node alone',
    async inject(pair, h) {
      const node = pair.pid(h);
      if (node === undefined) throw new Error(`the node on ${h} is not running`);
      const pids = withWorker ? await pair.processes(h) : [node];
      const at = Date.now();
      for (const pid of pids) signalPid(pid, 'SIGSTOP');
      frozen.set(pair, { ...frozen.get(pair), [h]: pids });
      return { at, detail: `SIGSTOP of ${pids.join(', ')} on ${h}` };
    },
    async heal(pair, h) {
      const pids = frozen.get(pair)?.[h] ?? (await pair.processes(h));
      for (const pid of pids) signalPid(pid, 'SIGCONT');
      frozen.set(pair, { ...frozen.get(pair), [h]: undefined });
    },
  };
}

/** The SIP NIC's cable cut at the switch: the host sees its carrier go down. */
export function sipNicDown(): Fault {
  return {
    name: 'sipNicDown',
    summary: 'SIP NIC cable cut (carrier down)',
    async inject(pair, h) {
      const at = Date.now();
      await pair.lab.linkDown(h, 'sip');
      return { at, detail: `${h}'s SIP cable cut` };
    },
    heal: (pair, h) => pair.lab.linkUp(h, 'sip'),
  };
}

/**
 * The host's switch port taken off the SIP bridge: the carrier stays up and nothing passes, so that only the SIP
 * probes and the traffic watch can tell.
 */
export function sipPathCut(): Fault {
  const port = (pair: Pair, h: Host, ...state: string[]) =>
    run(['ip', '-n', pair.lab.topology.switchNetns, 'link', 'set', pair.lab.nic(h).switchPort, ...state]);
  return {
    name: 'sipPathCut',
    summary: 'SIP switch port off the bridge (carrier up)',
    async inject(pair, h) {
      const at = Date.now();
      await port(pair, h, 'nomaster');
      return { at, detail: `${h}'s SIP switch port off the bridge` };
    },
    async heal(pair, h) {
      await port(pair, h, 'master', pair.lab.nic(h).bridge);
    },
  };
}

/**
 * Every path of the HA link between the two nodes dropped, both ways (heartbeats and the replication stream), by
 * blackhole policy routes in both hosts for the peer's HA ports; SIP, the witnesses and the API are untouched.
 * `paths: 'management'` drops only the first path (the management NIC's, in the two-NIC lab): the SIP NIC's path
 * still carries the heartbeats, so the pair must not move (an alarm, not a failover). The host names either end:
 * the link is cut between the two.
 */
export function haLinkDown(o: { paths?: 'all' | 'management' } = {}): Fault {
  const only = o.paths === 'management';
  return {
    name: only ? 'haLinkDown/management' : 'haLinkDown',
    summary: only
      ? 'HA path over the management NIC cut (the SIP NIC path and SIP still up)'
      : 'HA link cut on every path (SIP still up)',
    async inject(pair) {
      if (only && pair.haAddresses('a').length < 2)
        throw new Error('one HA path only: nothing would be left');
      const at = Date.now();
      await haLinkBlackhole(pair, 'add', only);
      return { at, detail: `HA ${only ? 'management path' : 'link'} cut between a and b` };
    },
    heal: (pair) => haLinkBlackhole(pair, 'del', only),
  };
}

/**
 * Adds (or deletes, ignoring rules that are not there) haLinkDown's blackhole rules for a pair of any index:
 * each host drops what it sends to its peer's HA ports, every path or (`firstPathOnly`) the first one.
 */
export async function haLinkBlackhole(
  pair: AnyPair,
  op: 'add' | 'del',
  firstPathOnly = false,
): Promise<void> {
  const rules = pair.hosts.flatMap((h) =>
    pair
      .haAddresses(pair.other(h))
      .slice(0, firstPathOnly ? 1 : undefined)
      .flatMap((to) => [
        { h, spec: ['to', to, 'ipproto', 'udp', 'dport', String(HA_PORT)] },
        { h, spec: ['to', to, 'ipproto', 'tcp', 'dport', String(REPLICATION_PORT)] },
      ]),
  );
  for (const { h, spec } of rules)
    await run(['ip', '-n', pair.lab.netns(h), 'rule', op, ...spec, 'blackhole'], {
      allowFailure: op === 'del',
    });
}

/**
 * A manual switchover asked of the host's management API (either node may be asked); resolves when the new
 * primary serves, throws when the node refuses. Nothing to heal: the pair is settled the other way round.
 */
export function switchover(o: { force?: boolean } = {}): Fault {
  return {
    name: o.force === true ? 'switchover/force' : 'switchover',
    summary: `manual switchover${o.force === true ? ' (forced)' : ''}`,
    async inject(pair, h) {
      const at = Date.now();
      const r = await pair.switchover(h, o.force);
      if (!r.ok) throw new Error(`switchover refused: ${r.body.detail}`);
      return { at, detail: `switchover asked of ${h}: ${r.body.primary} is primary in term ${r.body.term}` };
    },
    async heal() {},
  };
}

/**
 * Runs an nft script (commands separated by semicolons) inside a lab host; one call is one transaction, so a
 * table and its chains and rules appear together or not at all.
 */
const nft = (lab: Lab, host: LabHostName, script: string) => lab.exec(host, ['nft', script]);

/** Removes an nftables table of a fault; nothing to do when it is not there (heal is idempotent). */
export async function dropTable(lab: Lab, host: LabHostName, table: string): Promise<void> {
  const out = await lab.exec(host, ['nft', `delete table ${table}`], { allowFailure: true });
  if (out.exitCode !== 0 && !/No such file or directory/.test(out.stderr))
    throw new LabCommandError(['nft', `delete table ${table}`], out);
}

/** An nftables table of a lab host as `nft list` prints it (counters included), undefined when there is none. */
export async function nftTable(lab: Lab, host: LabHostName, table: string): Promise<string | undefined> {
  const out = await lab.exec(host, ['nft', `list table ${table}`], { allowFailure: true });
  return out.exitCode === 0 ? out.stdout : undefined;
}

/** The HA link's packets from host h to its peer, as nftables matches: one line per port and direction. */
function haMatches(pair: Pair, h: Host): string[] {
  const to = `ip daddr { ${pair.haAddresses(other(h)).join(', ')} }`;
  return [
    `${to} udp dport ${HA_PORT}`,
    `${to} udp sport ${HA_PORT}`,
    `${to} tcp dport ${REPLICATION_PORT}`,
    `${to} tcp sport ${REPLICATION_PORT}`,
  ];
}

export const HA_ONE_WAY_TABLE = 'inet sipha_ha_one_way';

/**
 * An asymmetric HA cut: every packet of the HA link (heartbeats on UDP 7400 and the replication stream on TCP
 * 7401, either port, every path) that host h sends to its peer is dropped by an nftables table in h's namespace,
 * on the output hook: only what h itself sends is matched, so everything the peer sends still reaches h (the
 * input hook is untouched). The peer stops hearing h; h still hears the peer. heal deletes the table.
 */
export function haOneWay(): Fault {
  return {
    name: 'haOneWay',
    summary: 'HA link cut one way: the host sends nothing to its peer, still hears it',
    async inject(pair, h) {
      const rules = haMatches(pair, h).map((m) => `add rule ${HA_ONE_WAY_TABLE} out ${m} drop`);
      const at = Date.now();
      await nft(
        pair.lab,
        h,
        [
          `add table ${HA_ONE_WAY_TABLE}`,
          `add chain ${HA_ONE_WAY_TABLE} out { type filter hook output priority 0 ; policy accept ; }`,
          ...rules,
        ].join(' ; '),
      );
      return { at, detail: `HA link from ${h} to ${other(h)} dropped (${other(h)} to ${h} passes)` };
    },
    heal: (pair, h) => dropTable(pair.lab, h, HA_ONE_WAY_TABLE),
  };
}

export const HA_LOSS_TABLE = 'inet sipha_ha_loss';
const haLossDelay = new WeakMap<Pair, Partial<Record<Host, string[]>>>();

/**
 * Loss and delay on the HA link only, from host h to its peer (SIP and the API are untouched). The loss is an
 * nftables table in h's namespace (output hook): each HA packet to the peer goes through one chain that drops
 * it at random (`numgen random mod 100 < P`), exactly once whatever its ports. The delay is netem behind a prio
 * qdisc on each HA NIC of h (egress), a u32 filter steering the HA ports to the netem band; a kernel without
 * sch_prio, sch_netem or cls_u32 gets the loss alone, and the detail says so. heal removes both.
 */
export function haLoss(o: { lossPct?: number; delayMs?: number; jitterMs?: number } = {}): Fault {
  const loss = o.lossPct ?? 20;
  const delay = o.delayMs ?? 20;
  const jitter = o.jitterMs ?? 10;
  const isDefault = o.lossPct === undefined && o.delayMs === undefined && o.jitterMs === undefined;
  if (!(loss >= 0 && loss <= 100 && Number.isInteger(loss))) throw new RangeError(`haLoss: loss ${loss} %`);
  return {
    name: isDefault ? 'haLoss' : `haLoss/${loss}%-${delay}ms`,
    summary: `HA link from the host: ${loss} % loss, ${delay} ms ± ${jitter} ms delay (HA ports only)`,
    async inject(pair, h) {
      const at = Date.now();
      const jumps = haMatches(pair, h).map((m) => `add rule ${HA_LOSS_TABLE} out ${m} jump lossy`);
      await nft(
        pair.lab,
        h,
        [
          `add table ${HA_LOSS_TABLE}`,
          `add chain ${HA_LOSS_TABLE} lossy`,
          `add rule ${HA_LOSS_TABLE} lossy numgen random mod 100 < ${loss} counter drop`,
          `add rule ${HA_LOSS_TABLE} lossy counter accept`,
          `add chain ${HA_LOSS_TABLE} out { type filter hook output priority 0 ; policy accept ; }`,
          ...jumps,
        ].join(' ; '),
      );
      let delayed = 'no delay';
      if (delay > 0) {
        const nics = haNics(pair, h);
        const missing = await netemDelay(pair, h, nics, delay, jitter);
        if (missing === undefined) {
          haLossDelay.set(pair, { ...haLossDelay.get(pair), [h]: nics });
          delayed = `${delay} ms ± ${jitter} ms delay on ${nics.join(', ')}`;
        } else delayed = `no delay: ${missing}`;
      }
      return { at, detail: `HA link from ${h} to ${other(h)}: ${loss} % loss, ${delayed}` };
    },
    async heal(pair, h) {
      await dropTable(pair.lab, h, HA_LOSS_TABLE);
      for (const nic of haLossDelay.get(pair)?.[h] ?? haNics(pair, h))
        await pair.lab.exec(h, ['tc', 'qdisc', 'del', 'dev', nic, 'root'], { allowFailure: true });
      haLossDelay.set(pair, { ...haLossDelay.get(pair), [h]: undefined });
    },
  };
}

/** The interfaces that carry host h's HA paths: the management NIC's, then the SIP NIC's (as haAddresses). */
function haNics(pair: Pair, h: Host): string[] {
  const lab = pair.lab;
  return lab.topology.twoNic ? [lab.nic(h, 'mgmt').ifname, lab.nic(h).ifname] : [lab.nic(h).ifname];
}

/**
 * netem delay for the HA ports on each NIC (egress): prio with a fourth band that the priomap never uses, netem
 * under it, u32 filters for UDP 7400 and TCP 7401 either way to it. Returns why not when the kernel lacks one of
 * them (after removing what it added); throws on any other failure.
 */
async function netemDelay(
  pair: Pair,
  h: Host,
  nics: readonly string[],
  delay: number,
  jitter: number,
): Promise<string | undefined> {
  const tc = (args: string[]) => pair.lab.exec(h, ['tc', ...args], { allowFailure: true });
  const netem = ['netem', 'delay', `${delay}ms`, ...(jitter > 0 ? [`${jitter}ms`] : [])];
  for (const nic of nics) {
    const steps: string[][] = [
      ['qdisc', 'add', 'dev', nic, 'root', 'handle', '1:', 'prio', 'bands', '4'],
      ['qdisc', 'add', 'dev', nic, 'parent', '1:4', 'handle', '40:', ...netem],
    ];
    for (const [proto, port] of [
      [17, HA_PORT],
      [6, REPLICATION_PORT],
    ])
      for (const dir of ['dport', 'sport'])
        steps.push([
          ...['filter', 'add', 'dev', nic, 'parent', '1:', 'protocol', 'ip', 'prio', '1', 'u32'],
          ...['match', 'ip', 'protocol', String(proto), '0xff', 'match', 'ip', dir, String(port), '0xffff'],
          ...['flowid', '1:4'],
        ]);
    for (const args of steps) {
      const out = await tc(args);
      if (out.exitCode === 0) continue;
      for (const n of nics) await tc(['qdisc', 'del', 'dev', n, 'root']);
      if (!/unknown|not supported|No such file/i.test(out.stderr))
        throw new LabCommandError(['tc', ...args], out);
      const what = args.includes('u32')
        ? 'u32 filter'
        : args.includes('netem')
          ? 'netem qdisc'
          : 'prio qdisc';
      return `no ${what} in this kernel (${out.stderr.trim().split('\n')[0]})`;
    }
  }
  return undefined;
}

export const WITNESS_TABLE = 'inet sipha_witness_down';

/**
 * The witness (G, the gateway the pair pings: ha.witnesses) unreachable from host h, or from both hosts with
 * `both`: an nftables table in the host's namespace drops everything to and from G's addresses. heal deletes it.
 */
export function witnessDown(o: { both?: boolean } = {}): Fault {
  const both = o.both === true;
  const hosts = (h: Host): Host[] => (both ? [...HOSTS] : [h]);
  return {
    name: both ? 'witnessDown/both' : 'witnessDown',
    summary: both
      ? 'the witness (G) unreachable from both hosts'
      : 'the witness (G) unreachable from the host',
    async inject(pair, h) {
      const g = pair.lab.hosts.g;
      const addrs = [g.sip.ipv4, ...(g.mgmt === undefined ? [] : [g.mgmt.ipv4])].join(', ');
      const script = [
        `add table ${WITNESS_TABLE}`,
        `add chain ${WITNESS_TABLE} in { type filter hook input priority 0 ; policy accept ; }`,
        `add chain ${WITNESS_TABLE} out { type filter hook output priority 0 ; policy accept ; }`,
        `add rule ${WITNESS_TABLE} in ip saddr { ${addrs} } drop`,
        `add rule ${WITNESS_TABLE} out ip daddr { ${addrs} } drop`,
      ].join(' ; ');
      const at = Date.now();
      await Promise.all(hosts(h).map((x) => nft(pair.lab, x, script)));
      return { at, detail: `G (${addrs}) unreachable from ${hosts(h).join(' and ')}` };
    },
    async heal(pair, h) {
      for (const x of hosts(h)) await dropTable(pair.lab, x, WITNESS_TABLE);
    },
  };
}

/** How long a clean stop may take before the service manager kills the node (systemd's TimeoutStopSec). */
const STOP_TIMEOUT_MS = 10_000;

/**
 * A clean restart of the node: SIGTERM, wait for it to exit (SIGKILL after 10 s, as a service manager would, and
 * the detail says so), start it again; inject resolves once it is started. heal starts it if it is not running.
 */
export function restart(): Fault {
  return {
    name: 'restart',
    summary: 'clean restart of the node (SIGTERM, exit, start)',
    async inject(pair, h) {
      if (pair.pid(h) === undefined) throw new Error(`the node on ${h} is not running`);
      const at = Date.now();
      pair.signal(h, 'SIGTERM');
      const timer = setTimeout(() => pair.signal(h, 'SIGKILL'), STOP_TIMEOUT_MS);
      await pair.exited(h);
      clearTimeout(timer);
      const stoppedMs = Date.now() - at;
      const killed = pair.procs[h]?.signalCode === 'SIGKILL';
      pair.start(h);
      return {
        at,
        detail: `${h}'s node ${killed ? `killed after ${stoppedMs} ms of SIGTERM` : `stopped in ${stoppedMs} ms`}, started again`,
      };
    },
    async heal(pair, h) {
      if (pair.pid(h) !== undefined) return;
      await pair.exited(h);
      pair.start(h);
    },
  };
}

/**
 * Three manual switchovers in a row, each asked as soon as the previous one answered, of the host, its peer,
 * then the host again. The last one, refused because the backup is not synced (it has barely resynced), is
 * asked again with force. Resolves after the last answer, throws only when none was accepted; the detail lists
 * the answers. Nothing to heal.
 */
export function switchoverStorm(o: { count?: number } = {}): Fault {
  const count = o.count ?? 3;
  return {
    name: o.count === undefined ? 'switchoverStorm' : `switchoverStorm/${count}`,
    summary: `${count} manual switchovers in a row, alternating the node asked`,
    async inject(pair, h) {
      const at = Date.now();
      const outcomes: string[] = [];
      let accepted = 0;
      for (let i = 0; i < count; i++) {
        const asked = i % 2 === 0 ? h : other(h);
        let r = await pair.switchover(asked);
        let forced = false;
        if (!r.ok && i === count - 1 && /not synced|did not drain/.test(r.body.detail)) {
          outcomes.push(`${asked} refused (${r.body.detail})`);
          r = await pair.switchover(asked, true);
          forced = true;
        }
        if (r.ok) accepted++;
        outcomes.push(
          `${asked}${forced ? ' forced' : ''}: ${r.ok ? `${r.body.primary} primary in term ${r.body.term}` : `refused (${r.body.detail})`}`,
        );
      }
      if (accepted === 0) throw new Error(`every switchover refused: ${outcomes.join('; ')}`);
      return { at, detail: `${accepted} of ${count} switchovers: ${outcomes.join('; ')}` };
    },
    async heal() {},
  };
}

export const ANNOUNCE_LOSS_TABLE = 'arp sipha_announce_loss';

/**
 * The VIP's announcements lost on their way to the client: an nftables arp table in C's namespace (input hook)
 * drops every ARP packet whose sender address is the VIP, gratuitous or not, for as long as the fault holds; C
 * learns the VIP's owner again only from an announcement, a refresh or its own ARP once it is healed. The host
 * is not used: the fault is on the client's side. heal deletes the table.
 */
export function announceLoss(): Fault {
  return {
    name: 'announceLoss',
    summary: "the VIP's ARP (announcements included) lost at the client",
    async inject(pair) {
      const vip = pair.lab.topology.vip.ipv4;
      const at = Date.now();
      await nft(
        pair.lab,
        'c',
        [
          `add table ${ANNOUNCE_LOSS_TABLE}`,
          `add chain ${ANNOUNCE_LOSS_TABLE} in { type filter hook input priority 0 ; policy accept ; }`,
          `add rule ${ANNOUNCE_LOSS_TABLE} in arp saddr ip ${vip} drop`,
        ].join(' ; '),
      );
      return { at, detail: `ARP from the VIP ${vip} dropped at C` };
    },
    heal: (pair) => dropTable(pair.lab, 'c', ANNOUNCE_LOSS_TABLE),
  };
}

/** Every fault in its default form. */
export const FAULTS: readonly Fault[] = [
  crashNode(),
  crashWorker(),
  freeze(),
  sipNicDown(),
  sipPathCut(),
  haLinkDown(),
  haLinkDown({ paths: 'management' }),
  switchover(),
  haOneWay(),
  haLoss(),
  witnessDown(),
  witnessDown({ both: true }),
  restart(),
  switchoverStorm(),
  announceLoss(),
];

export function faultNamed(name: string): Fault {
  const f = FAULTS.find((x) => x.name === name);
  if (f === undefined) throw new Error(`no fault named ${name} (${FAULTS.map((x) => x.name).join(', ')})`);
  return f;
}
