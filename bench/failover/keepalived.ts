// The failover benchmark's baseline: keepalived (VRRPv3) in the same lab topology. Each of A and B runs a
// standalone sipha on udp://VIP:5060 (non-local bind, like sipha's hot backup) and keepalived moving the VIP.
// Same prober, same SIPp load as the sipha trials.
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { eventually } from '../../src/lab/eventually.js';
import { Lab } from '../../src/lab/lab.js';
import { CLI, HOSTS, type Host, other, signalPid, vipHolders } from '../../src/lab/pair.js';
import { formatHostPort } from '../../src/net/address.js';
import { mono, wanted } from './common.js';
import { measure } from './prober.js';
import { type Row, runRow, type Trial, trialOf } from './report.js';

const KA_ADVERTS = [0.1, 1];
type KaFault = 'crash' | 'stop';

function keepalivedConf(lab: Lab, h: Host, advert: number): string {
  const nic = lab.nic(h);
  return `global_defs {
  router_id sipha_lab_${h}
  vrrp_version 3
  enable_script_security
}
vrrp_instance VI_SIP {
  state BACKUP
  nopreempt
  interface ${nic.ifname}
  virtual_router_id 51
  priority ${h === 'a' ? 150 : 100}
  advert_int ${advert}
  unicast_src_ip ${nic.ipv4}
  unicast_peer {
    ${lab.nic(other(h)).ipv4}
  }
  virtual_ipaddress {
    ${lab.topology.vip.ipv4Cidr} dev ${nic.ifname} label ${nic.ifname}:1
  }
}
`;
}

class Keepalived {
  readonly procs: Partial<Record<Host, ChildProcess>> = {};
  readonly sip: Partial<Record<Host, ChildProcess>> = {};
  readonly state: Record<Host, string> = { a: 'down', b: 'down' };
  readonly masters: Record<Host, number> = { a: 0, b: 0 };
  private readonly logs: Record<Host, string[]> = { a: [], b: [] };

  constructor(
    readonly lab: Lab,
    readonly dir: string,
    readonly advert: number,
  ) {
    for (const h of HOSTS) {
      mkdirSync(join(dir, h, 'state'), { recursive: true });
      writeFileSync(join(dir, h, 'keepalived.conf'), keepalivedConf(lab, h, advert));
      const sip = `udp://${formatHostPort({ host: lab.topology.vip.ipv4, port: 5060 })}`;
      writeFileSync(
        join(dir, h, 'sipha.yaml'),
        JSON.stringify({
          node: { id: `sa-${h}`, priority: 100, state_dir: join(dir, h, 'state') },
          sip: { listen: [sip], domain: 'example.test' },
          log: { level: 'warn' },
        }),
      );
    }
  }

  startSip(h: Host): void {
    const child = this.lab.spawn(h, [
      process.execPath,
      CLI,
      'start',
      '--config',
      join(this.dir, h, 'sipha.yaml'),
    ]);
    child.stdout?.resume();
    child.stderr?.resume();
    this.sip[h] = child;
  }

  start(h: Host): void {
    const file = (name: string) => join(this.dir, h, name);
    const child = this.lab.spawn(h, [
      ...['keepalived', '-n', '-l', '-D', '-P', '-f', file('keepalived.conf'), '-p', file('keepalived.pid')],
      ...['-r', file('vrrp.pid'), '-c', file('checkers.pid'), '-b', file('bfd.pid')],
    ]);
    this.procs[h] = child;
    this.state[h] = 'starting';
    let buf = '';
    const onData = (data: Buffer) => {
      buf += data.toString();
      let nl = buf.indexOf('\n');
      while (nl >= 0) {
        this.line(h, buf.slice(0, nl));
        buf = buf.slice(nl + 1);
        nl = buf.indexOf('\n');
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', () => {
      this.state[h] = 'down';
    });
  }

  tail(h: Host): string {
    return this.logs[h].slice(-20).join('\n');
  }

  /** Kills every keepalived process of host h (parent and VRRP child) at once. */
  kill9(h: Host): void {
    const child = this.vrrpPid(h);
    if (child !== undefined) signalPid(child, 'SIGKILL');
    this.procs[h]?.kill('SIGKILL');
  }

  async stopAll(): Promise<void> {
    for (const h of HOSTS) {
      this.kill9(h);
      this.sip[h]?.kill('SIGKILL');
      await exited(this.procs[h]);
      await exited(this.sip[h]);
    }
  }

  /** The master once one host is MASTER, the other BACKUP and the master alone holds the VIP. */
  async settle(): Promise<Host | undefined> {
    let master: Host | undefined;
    const ok = await eventually(
      async () => {
        const m = HOSTS.find((h) => this.state[h] === 'MASTER');
        if (m === undefined || this.state[other(m)] !== 'BACKUP') return false;
        if ((await vipHolders(this.lab)).join() !== m) return false;
        master = m;
        return true;
      },
      30_000,
      100,
    );
    // A backup that has just started hears a few adverts before it counts as settled.
    await sleep(Math.max(500, this.advert * 3000));
    return ok ? master : undefined;
  }

  private vrrpPid(h: Host): number | undefined {
    try {
      return Number(readFileSync(join(this.dir, h, 'vrrp.pid'), 'utf8').trim()) || undefined;
    } catch {
      return undefined;
    }
  }

  private line(h: Host, line: string): void {
    this.logs[h].push(line);
    if (this.logs[h].length > 200) this.logs[h].shift();
    if (/Entering MASTER STATE/.test(line)) {
      this.state[h] = 'MASTER';
      this.masters[h]++;
    } else if (/Entering BACKUP STATE/.test(line)) this.state[h] = 'BACKUP';
    else if (/Entering FAULT STATE/.test(line)) this.state[h] = 'FAULT';
  }
}

async function exited(child: ChildProcess | undefined): Promise<void> {
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
  await new Promise((res) => child.once('exit', res));
}

async function kaTrial(ka: Keepalived, fault: KaFault, n: number): Promise<Trial | string> {
  const { lab } = ka;
  const P = await ka.settle();
  if (P === undefined)
    return `keepalived did not settle: ${ka.state.a}/${ka.state.b}\n${ka.tail('a')}\n${ka.tail('b')}`;
  const Q = other(P);
  const mastersBefore = ka.masters.a + ka.masters.b;
  const m = await measure(lab, 1.5 + ka.advert * 4 + 3, async () => {
    const faultAt = mono();
    let note: string | undefined;
    if (fault === 'crash') {
      // The host's HA daemon and SIP service die together (as a sipha node kill -9 takes its worker along); the
      // VIP is then released at once, as for sipha.
      ka.kill9(P);
      ka.sip[P]?.kill('SIGKILL');
      await lab.exec(P, ['ip', 'addr', 'del', lab.topology.vip.ipv4Cidr, 'dev', lab.nic(P).ifname], {
        allowFailure: true,
      });
      note = `VIP released ${Math.round(mono() - faultAt)} ms after the kill`;
    } else {
      ka.procs[P]?.kill('SIGTERM');
    }
    const tookOver = await eventually(async () => ka.state[Q] === 'MASTER', 15_000, 5);
    return { note, tookOver };
  });
  await exited(ka.procs[P]);
  if (fault === 'crash') {
    await exited(ka.sip[P]);
    ka.startSip(P);
  }
  ka.start(P);
  if (!m.value.tookOver) return `${Q} did not become master`;
  const settled = await ka.settle();
  const falseFailovers =
    Math.max(0, ka.masters.a + ka.masters.b - mastersBefore - 1) + (settled !== Q ? 1 : 0);
  return trialOf(n, { from: P, to: Q }, m, falseFailovers, m.value.note);
}

/** The keepalived rows that BENCH_ONLY names, in a lab of their own. */
export async function runKeepalived(rows: Row[]): Promise<void> {
  const plan = KA_ADVERTS.map((advert) => ({
    advert,
    faults: (['crash', 'stop'] as const).filter((f) => wanted(`ka-${f}-${advert}`)),
  })).filter((p) => p.faults.length > 0);
  if (plan.length === 0) return;
  const dir = mkdtempSync(join(tmpdir(), 'sipha-bench-ka-'));
  const lab = await Lab.create({ twoNic: true, ipv6: false });
  try {
    for (const { advert, faults } of plan) {
      const ka = new Keepalived(lab, join(dir, String(advert)), advert);
      live.add(ka);
      try {
        for (const h of HOSTS) {
          ka.startSip(h);
          ka.start(h);
        }
        for (const f of faults) {
          const what = f === 'crash' ? 'crash (kill -9 + SIP service)' : 'clean stop (SIGTERM)';
          const row: Row = {
            key: `ka-${f}-${advert}`,
            name: `keepalived ${what}, advert ${advert * 1000} ms`,
            // When keepalived drops the VIP after the SIGTERM is not known here: the longest gap in the window.
            measure: f === 'crash' ? 'recovery' : 'window',
            trials: [],
            failures: [],
          };
          rows.push(row);
          await runRow(row, (n) => kaTrial(ka, f, n));
        }
      } finally {
        await ka.stopAll();
        live.delete(ka);
      }
    }
  } finally {
    await lab.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Whether any keepalived row is wanted (keepalived must then be installed). */
export const keepalivedWanted = (): boolean =>
  KA_ADVERTS.some((a) => wanted(`ka-crash-${a}`) || wanted(`ka-stop-${a}`));

// keepalived's VRRP child is not a child of ours: kill it on the way out whatever happens.
const live = new Set<Keepalived>();
export function killKeepalivedSync(): void {
  for (const ka of live) for (const h of HOSTS) ka.kill9(h);
}
