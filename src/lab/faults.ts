// The fault catalogue: what the lab tests, the demo and the failover benchmark do to a settled pair, each fault
// named and of one shape, inject(pair, host) then heal(pair, host), so that a tool can also pick them at random.
// inject resolves once the fault is in place (it throws when it could not be applied); heal undoes it as an
// operator, or the host coming back, would, and is safe to call on a fault that is already healed. Neither waits
// for the pair to react: that is the caller's business (and settle.ts says when it is over).
import { run } from './netns.js';
import { HA_PORT, HOSTS, type Host, other, type Pair, REPLICATION_PORT, signalPid } from './pair.js';

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
  const rules = (pair: Pair) =>
    HOSTS.flatMap((h) =>
      pair
        .haAddresses(other(h))
        .slice(0, only ? 1 : undefined)
        .flatMap((to) => [
          [h, 'to', to, 'ipproto', 'udp', 'dport', String(HA_PORT)],
          [h, 'to', to, 'ipproto', 'tcp', 'dport', String(REPLICATION_PORT)],
        ]),
    );
  const rule = (pair: Pair, op: 'add' | 'del', [h, ...spec]: string[]) =>
    run(['ip', '-n', pair.lab.netns(h as Host), 'rule', op, ...spec, 'blackhole'], {
      allowFailure: op === 'del',
    });
  return {
    name: only ? 'haLinkDown/management' : 'haLinkDown',
    summary: only
      ? 'HA path over the management NIC cut (the SIP NIC path and SIP still up)'
      : 'HA link cut on every path (SIP still up)',
    async inject(pair) {
      if (only && pair.haAddresses('a').length < 2)
        throw new Error('one HA path only: nothing would be left');
      const at = Date.now();
      for (const r of rules(pair)) await rule(pair, 'add', r);
      return { at, detail: `HA ${only ? 'management path' : 'link'} cut between a and b` };
    },
    async heal(pair) {
      for (const r of rules(pair)) await rule(pair, 'del', r);
    },
  };
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
];

export function faultNamed(name: string): Fault {
  const f = FAULTS.find((x) => x.name === name);
  if (f === undefined) throw new Error(`no fault named ${name} (${FAULTS.map((x) => x.name).join(', ')})`);
  return f;
}
