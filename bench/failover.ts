// Failover benchmark (issue 9): how long the VIP goes unanswered after a fault, for sipha and for keepalived in the
// same lab (two-NIC topology, same SIP service on the VIP, same probe). A prober on host C
// (bench/failover-prober.ts) sends an OPTIONS to the VIP every 5 ms, each a new transaction; SIPp loads the VIP with
// OPTIONS+REGISTER during every trial and counts its failed calls. Per trial:
//   recovery = fault instant → the first 200 after the longest run without answers (the outage's end);
//   gap      = the longest interval between two consecutive 200s after the fault (what a planned move costs).
// Crashes are reported by recovery, planned moves (manual switchover, keepalived clean stop) by gap.
// Prints a table and writes bench/results/failover.json. Needs root (network namespaces), sipp and keepalived.
//   BENCH_TRIALS (20)  BENCH_ONLY=kill9,sigstop,worker,nicdown,switchover,kill9-late,ka-crash-0.1,… (all)
//   BENCH_SIPP_RATE (50 OPTIONS+REGISTER pairs/s per trial)  BENCH_SOAK_S (0: no soak)  BENCH_SOAK_RATE (500)
import { type ChildProcess, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { HaStatus } from '../src/ha/node.js';
import { eventually } from '../src/lab/eventually.js';
import { Lab } from '../src/lab/lab.js';
import { CLI, type Host, Pair, TOKEN } from '../src/lab/pair.js';
import { type SippResult, sipp } from '../src/lab/sipp.js';

const TRIALS = Number(process.env.BENCH_TRIALS ?? 20);
const ONLY = process.env.BENCH_ONLY?.split(',').filter((s) => s !== '');
const SIPP_RATE = Number(process.env.BENCH_SIPP_RATE ?? 50);
const SOAK_S = Number(process.env.BENCH_SOAK_S ?? 0);
const SOAK_RATE = Number(process.env.BENCH_SOAK_RATE ?? 500);
const SCENARIO = join(process.cwd(), 'test', 'ha', 'sipp', 'options-register.xml');
const PROBER = join(process.cwd(), 'dist', 'bench', 'failover-prober.js');
const PROBE_INTERVAL_MS = 5;
const RESULTS = join(process.cwd(), 'bench', 'results', 'failover.json');

const mono = () => Number(process.hrtime.bigint()) / 1e6;
const other = (h: Host): Host => (h === 'a' ? 'b' : 'a');
const log = (s: string) => process.stderr.write(`${s}\n`);

/**
 * A node's status from its management API with curl inside the host: a few ms of CPU, where `sipha status` (Pair's
 * way) starts a Node process per poll, enough on a loaded 2-core machine to delay the very takeover it watches.
 */
async function status(pair: Pair, h: Host): Promise<HaStatus | undefined> {
  const lab = pair.lab;
  const addr = lab.topology.twoNic ? lab.nic(h, 'mgmt').ipv4 : lab.nic(h).ipv4;
  const out = await lab.exec(
    h,
    ['curl', '-s', '-m', '2', '-H', `Authorization: Bearer ${TOKEN}`, `http://${addr}:8080/api/v1/status`],
    { allowFailure: true },
  );
  if (out.exitCode !== 0) return undefined;
  try {
    return JSON.parse(out.stdout) as HaStatus;
  } catch {
    return undefined;
  }
}

function waitRole(pair: Pair, h: Host, role: string, timeoutMs: number): Promise<boolean> {
  return eventually(async () => (await status(pair, h))?.role === role, timeoutMs, 50);
}

// ---------------------------------------------------------------------------------------------------------------
// Probe

interface Answer {
  seq: number;
  sent: number;
  received: number;
  status: number;
}

class Prober {
  readonly answers: Answer[] = [];
  sent = 0;
  private buf = '';
  private readonly done: Promise<void>;

  private constructor(
    private readonly child: ChildProcess,
    ready: () => void,
  ) {
    child.stdout?.on('data', (d: Buffer) => {
      this.buf += d.toString();
      let nl = this.buf.indexOf('\n');
      while (nl >= 0) {
        const line = this.buf.slice(0, nl);
        this.buf = this.buf.slice(nl + 1);
        nl = this.buf.indexOf('\n');
        const w = line.split(' ');
        if (w[0] === 'R')
          this.answers.push({
            seq: Number(w[1]),
            sent: Number(w[2]),
            received: Number(w[3]),
            status: Number(w[4]),
          });
        else if (w[0] === 'S') this.sent = Number(w[1]);
        else if (w[0] === 'READY') ready();
      }
    });
    this.done = new Promise((res) => child.once('exit', () => res()));
  }

  static async start(lab: Lab): Promise<Prober> {
    const child = lab.spawn('c', [
      process.execPath,
      PROBER,
      lab.topology.vip.ipv4,
      '5060',
      lab.nic('c').ipv4,
      String(PROBE_INTERVAL_MS),
    ]);
    let ready = () => {};
    const isReady = new Promise<void>((res) => {
      ready = res;
    });
    const p = new Prober(child, ready);
    await Promise.race([isReady, sleep(5000).then(() => Promise.reject(new Error('prober did not start')))]);
    // Served before the fault: at least 20 answers.
    if (!(await eventually(async () => p.answers.length >= 20, 5000, 20)))
      throw new Error('the VIP does not answer the prober');
    return p;
  }

  async stop(): Promise<void> {
    this.child.kill('SIGTERM');
    await this.done;
  }
}

interface Outage {
  /** Fault → first 200 after the longest silence (ms). */
  recoveryMs: number;
  /** Longest interval between consecutive 200s from the fault on (ms). */
  gapMs: number;
  /** Probes sent and not answered with a 200. */
  lost: number;
  /** The first 200 for a probe sent after the fault (ms after the fault). */
  firstAfterFaultMs: number | null;
}

function analyse(p: Prober, faultAt: number): Outage {
  const ok = p.answers.filter((a) => a.status === 200).sort((x, y) => x.received - y.received);
  let prev = faultAt;
  for (const a of ok) if (a.received < faultAt) prev = a.received;
  let gap = 0;
  let end = faultAt;
  for (const a of ok) {
    if (a.received < faultAt) continue;
    if (a.received - prev > gap) {
      gap = a.received - prev;
      end = a.received;
    }
    prev = a.received;
  }
  const first = ok.find((a) => a.sent >= faultAt);
  return {
    recoveryMs: round(end - faultAt),
    gapMs: round(gap),
    lost: Math.max(0, p.sent - ok.length),
    firstAfterFaultMs: first === undefined ? null : round(first.received - faultAt),
  };
}

const round = (x: number) => Math.round(x * 10) / 10;

// ---------------------------------------------------------------------------------------------------------------
// Load

function load(lab: Lab, seconds: number, rate: number, port: number): Promise<SippResult> {
  return sipp(
    [
      `${lab.topology.vip.ipv4}:5060`,
      '-sf',
      SCENARIO,
      '-i',
      lab.nic('c').ipv4,
      '-p',
      String(port),
      '-r',
      String(rate),
      '-m',
      String(Math.round(rate * seconds)),
      '-l',
      String(Math.max(500, rate * 4)),
      '-max_non_invite_retrans',
      '6',
    ],
    { wrap: lab.wrap('c'), timeoutMs: (seconds + 60) * 1000 },
  ).result;
}

// ---------------------------------------------------------------------------------------------------------------
// Results

interface Trial extends Outage {
  trial: number;
  from: string;
  to: string;
  sippFailed: number;
  sippSuccessful: number;
  falseFailovers: number;
  /** Anything notable (e.g. how long the VIP release took after kill -9). */
  note?: string;
  /** sipha: every promotion recorded by the nodes during the trial (ms after the fault, cause). */
  promotions?: string[];
}

interface Row {
  key: string;
  name: string;
  measure: 'recovery' | 'gap';
  trials: Trial[];
  /** Set when the scenario could not be measured (e.g. a feature not implemented yet). */
  pending?: string;
  /** Trials that did not complete (no takeover, switchover refused, …): the reason of each. */
  failures: string[];
}

function pct(xs: number[], p: number): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))] ?? null;
}

function summary(r: Row) {
  const xs = r.trials.map((t) => (r.measure === 'recovery' ? t.recoveryMs : t.gapMs));
  return {
    trials: r.trials.length,
    p50: pct(xs, 0.5),
    p95: pct(xs, 0.95),
    max: pct(xs, 1),
    sippFailed: r.trials.reduce((s, t) => s + t.sippFailed, 0),
    sippTotal: r.trials.reduce((s, t) => s + t.sippFailed + t.sippSuccessful, 0),
    falseFailovers: r.trials.reduce((s, t) => s + t.falseFailovers, 0),
    failedTrials: r.failures.length,
    lostProbesPerTrial:
      r.trials.length === 0 ? null : round(r.trials.reduce((s, t) => s + t.lost, 0) / r.trials.length),
  };
}

function table(rows: Row[]): string {
  const ms = (x: number | null) => (x === null ? '—' : x.toFixed(0));
  const lines = [
    '| scenario | measure | trials | p50 ms | p95 ms | max ms | SIPp failed / total | false failovers | probes lost per trial |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    const s = summary(r);
    const measure = r.measure === 'recovery' ? 'fault → first answer' : 'longest gap';
    if (r.pending !== undefined && r.trials.length === 0) {
      lines.push(`| ${r.name} | ${measure} | 0 | pending: ${r.pending} | | | | | |`);
      continue;
    }
    const pend =
      r.pending !== undefined
        ? ` (stopped: ${r.pending})`
        : r.failures.length > 0
          ? ` (+${r.failures.length} failed: ${r.failures[0]})`
          : '';
    lines.push(
      `| ${r.name}${pend} | ${measure} | ${s.trials} | ${ms(s.p50)} | ${ms(s.p95)} | ${ms(s.max)} | ${s.sippFailed} / ${s.sippTotal} | ${s.falseFailovers} | ${s.lostProbesPerTrial ?? '—'} |`,
    );
  }
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------------------------
// sipha

type SiphaFault = 'kill9' | 'kill9-late' | 'sigstop' | 'worker' | 'nicdown' | 'switchover';

const SIPHA: Array<{ key: SiphaFault; name: string; measure: Row['measure'] }> = [
  { key: 'kill9', name: 'sipha node kill -9 (VIP released at once, as systemd)', measure: 'recovery' },
  { key: 'kill9-late', name: 'sipha node kill -9 (VIP released only at restart)', measure: 'recovery' },
  { key: 'sigstop', name: 'sipha host freeze (SIGSTOP node + worker)', measure: 'recovery' },
  { key: 'worker', name: 'sipha worker crash (kill -9)', measure: 'recovery' },
  { key: 'nicdown', name: 'sipha SIP-NIC down', measure: 'recovery' },
  { key: 'switchover', name: 'sipha manual switchover', measure: 'gap' },
];

interface Settled {
  primary: Host;
  backup: Host;
  p: HaStatus;
  b: HaStatus;
}

async function settle(pair: Pair, timeoutMs = 30_000): Promise<Settled | undefined> {
  let found: Settled | undefined;
  await eventually(
    async () => {
      const a = await status(pair, 'a');
      const b = await status(pair, 'b');
      if (a === undefined || b === undefined) return false;
      const primary: Host | undefined = a.role === 'primary' ? 'a' : b.role === 'primary' ? 'b' : undefined;
      if (primary === undefined) return false;
      const [ps, bs] = primary === 'a' ? [a, b] : [b, a];
      if (bs.role !== 'backup' || !ps.peer.ready || !ps.worker.ready || !bs.worker.ready) return false;
      // Replication (issue 6): the primary reports its backup synced; switchover is refused until then.
      if (ps.replication != null && !ps.replication.synced) return false;
      if ((await pair.holders()).join() !== primary) return false;
      found = { primary, backup: other(primary), p: ps, b: bs };
      return true;
    },
    timeoutMs,
    200,
  );
  return found;
}

function vipRelease(pair: Pair, h: Host) {
  return pair.lab.exec(h, [process.execPath, CLI, 'vip', 'release', '--config', pair.config(h)], {
    allowFailure: true,
  });
}

async function exited(child: ChildProcess | undefined): Promise<void> {
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
  await new Promise((res) => child.once('exit', res));
}

let sippPort = 6000;

async function siphaTrial(lab: Lab, pair: Pair, fault: SiphaFault, n: number): Promise<Trial | string> {
  const s = await settle(pair);
  if (s === undefined) return 'the pair did not settle';
  const { primary: P, backup: Q } = s;
  const termBefore = s.p.term;
  const prober = await Prober.start(lab);
  const sippRun = load(lab, 6, SIPP_RATE, sippPort++);
  await sleep(1500);
  let note: string | undefined;
  const stopped: number[] = [];
  const faultAt = mono();
  const faultEpoch = Date.now();
  let release: Promise<{ exitCode: number | null }> | undefined;
  switch (fault) {
    case 'kill9':
      pair.signal(P, 'SIGKILL');
      // What systemd's ExecStopPost does once the main process is gone.
      release = exited(pair.procs[P]).then(() => vipRelease(pair, P));
      break;
    case 'kill9-late':
      pair.signal(P, 'SIGKILL');
      break;
    case 'sigstop': {
      const node = pair.procs[P]?.pid;
      const worker = s.p.worker.pid;
      for (const pid of [node, worker]) {
        if (typeof pid === 'number') {
          process.kill(pid, 'SIGSTOP');
          stopped.push(pid);
        }
      }
      break;
    }
    case 'worker':
      if (s.p.worker.pid === null) return 'no worker pid';
      process.kill(s.p.worker.pid, 'SIGKILL');
      break;
    case 'nicdown':
      await lab.linkDown(P, 'sip');
      break;
    case 'switchover':
      // Not awaited: the CLI's reply comes after the move; the probe measures the move itself.
      release = pair.switchover(P).then((r) => {
        if (!r.ok) note = `switchover refused: ${r.body.detail}`;
        return { exitCode: r.ok ? 0 : 1 };
      });
      break;
  }
  const tookOver = await waitRole(pair, Q, 'primary', fault === 'nicdown' ? 6000 : 10_000);
  // Undo the fault, as an operator (or the host coming back) would.
  if (fault === 'sigstop') {
    await sleep(1000);
    for (const pid of stopped) process.kill(pid, 'SIGCONT');
  }
  if (fault === 'nicdown') {
    await sleep(500);
    await lab.linkUp(P, 'sip');
  }
  if (release !== undefined) {
    const t0 = mono();
    const r = await release;
    if (fault === 'kill9') note = `vip release done ${Math.round(mono() - faultAt)} ms after the kill`;
    else if (r.exitCode !== 0 && note === undefined)
      note = `exit ${r.exitCode} after ${Math.round(mono() - t0)} ms`;
  }
  const sippResult = await sippRun;
  await prober.stop();
  const outage = analyse(prober, faultAt);
  if (note?.startsWith('switchover refused') === true) return note;
  if (fault === 'kill9' || fault === 'kill9-late') {
    await exited(pair.procs[P]);
    if (fault === 'kill9-late') await vipRelease(pair, P);
    pair.start(P);
  }
  if (!tookOver) {
    if (fault === 'nicdown' || fault === 'sigstop') {
      // Leave the pair healthy for the next scenario.
      await settle(pair);
    }
    return `${Q} did not become primary (${note ?? 'no detail'})`;
  }
  const after = await settle(pair, 30_000);
  const termAfter = after?.p.term ?? termBefore + 1;
  const t: Trial = {
    trial: n,
    from: P,
    to: Q,
    ...outage,
    sippFailed: sippResult.failed,
    sippSuccessful: sippResult.successful,
    falseFailovers:
      Math.max(0, termAfter - termBefore - 1) + (after !== undefined && after.primary !== Q ? 1 : 0),
  };
  if (note !== undefined) t.note = note;
  const tls = [
    ...((await status(pair, 'a'))?.timelines ?? []),
    ...((await status(pair, 'b'))?.timelines ?? []),
  ];
  t.promotions = tls
    .filter((x) => x.kind === 'promote' && x.detectedAt >= faultEpoch - 100)
    .sort((x, y) => x.detectedAt - y.detectedAt)
    .map((x) => `${x.node} ${x.cause} t${x.newTerm} @${x.detectedAt - faultEpoch}`);
  if (process.env.BENCH_DEBUG !== undefined) dump(prober, faultAt);
  return t;
}

/** BENCH_DEBUG: the answers around the fault, one line per 200 (sent, received, ms after the fault). */
function dump(p: Prober, faultAt: number): void {
  const rows = p.answers
    .filter((a) => a.received >= faultAt - 50 && a.received <= faultAt + 3000)
    .sort((x, y) => x.received - y.received)
    .map((a) => `${a.seq}:${(a.sent - faultAt).toFixed(0)}→${(a.received - faultAt).toFixed(0)}/${a.status}`);
  log(`    answers: ${rows.join(' ')}`);
}

async function runSipha(lab: Lab, rows: Row[]): Promise<void> {
  const wanted = SIPHA.filter((x) => ONLY === undefined || ONLY.includes(x.key));
  const soak = SOAK_S > 0 && (ONLY === undefined || ONLY.includes('soak'));
  if (wanted.length === 0 && !soak) return;
  const pair = await Pair.create(lab, {
    logLevel: 'warn',
    extra: { monitoring: { sip_traffic: { enabled: true } } },
  });
  let failed = false;
  try {
    pair.start('a');
    pair.start('b');
    if ((await settle(pair)) === undefined) {
      failed = true;
      throw new Error(`the sipha pair did not settle; logs in ${pair.dir}`);
    }
    for (const sc of wanted) {
      const row: Row = { key: sc.key, name: sc.name, measure: sc.measure, trials: [], failures: [] };
      rows.push(row);
      for (let i = 1; i <= TRIALS; i++) {
        const t = await siphaTrial(lab, pair, sc.key, i).catch((e: unknown) => `error: ${String(e)}`);
        if (typeof t === 'string') {
          log(`  ${sc.key} #${i}: FAILED — ${t}`);
          row.failures.push(t);
          failed = true;
          // Three in a row: the scenario does not work (yet); say so rather than report numbers.
          if (row.failures.length >= 3 && row.trials.length === 0) {
            row.pending = t;
            break;
          }
          continue;
        }
        row.trials.push(t);
        log(
          `  ${sc.key} #${i} ${t.from}→${t.to}: recovery ${t.recoveryMs} ms, gap ${t.gapMs} ms, first post-fault answer ${t.firstAfterFaultMs} ms, lost ${t.lost}, SIPp failed ${t.sippFailed}${t.note ? `, ${t.note}` : ''}; promotions ${t.promotions?.join(', ')}`,
        );
      }
    }
    if (soak) soakResult = await runSoak(lab, pair);
  } finally {
    await pair.stop();
    if (failed) log(`sipha node logs kept in ${pair.dir}`);
    await pair.cleanup(failed);
  }
}

// "No false failover during a 10-minute run at full SIP load": SIPp loads the primary for SOAK_S seconds while the
// pair runs with its production timers; every promotion (a new term) is a false failover.
interface Soak {
  seconds: number;
  rate: number;
  termBefore: number;
  termAfter: number;
  falseFailovers: number;
  sippSuccessful: number;
  sippFailed: number;
  primaryChanges: number;
}
let soakResult: Soak | undefined;

async function runSoak(lab: Lab, pair: Pair): Promise<Soak> {
  const s = await settle(pair);
  if (s === undefined) throw new Error('the pair did not settle before the soak');
  log(`soak: ${SOAK_S} s of SIPp OPTIONS+REGISTER at ${SOAK_RATE}/s against ${s.primary}`);
  const run = load(lab, SOAK_S, SOAK_RATE, sippPort++);
  let changes = 0;
  let last: Host = s.primary;
  let done = false;
  const watch = (async () => {
    while (!done) {
      await sleep(1000);
      const holders = await pair.holders();
      if (holders.length === 1 && holders[0] !== last) {
        changes++;
        last = holders[0]!;
      }
    }
  })();
  const r = await run;
  done = true;
  await watch;
  const after = (await status(pair, last)) ?? s.p;
  const termAfter = Math.max(after.term, (await status(pair, other(last)))?.term ?? 0);
  return {
    seconds: SOAK_S,
    rate: SOAK_RATE,
    termBefore: s.p.term,
    termAfter,
    falseFailovers: termAfter - s.p.term,
    sippSuccessful: r.successful,
    sippFailed: r.failed,
    primaryChanges: changes,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// keepalived (VRRPv3) in the same lab: each of A and B runs a standalone sipha on udp://VIP:5060 (non-local bind,
// like sipha's hot backup) and keepalived moving the VIP. Same prober, same SIPp load.

const KA_ADVERTS = [0.1, 1];

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
    for (const h of ['a', 'b'] as const) {
      mkdirSync(join(dir, h, 'state'), { recursive: true });
      const o = other(h);
      writeFileSync(
        join(dir, h, 'keepalived.conf'),
        `global_defs {
  router_id sipha_lab_${h}
  vrrp_version 3
  enable_script_security
}
vrrp_instance VI_SIP {
  state BACKUP
  nopreempt
  interface ${lab.nic(h).ifname}
  virtual_router_id 51
  priority ${h === 'a' ? 150 : 100}
  advert_int ${advert}
  unicast_src_ip ${lab.nic(h).ipv4}
  unicast_peer {
    ${lab.nic(o).ipv4}
  }
  virtual_ipaddress {
    ${lab.topology.vip.ipv4Cidr} dev ${lab.nic(h).ifname} label ${lab.nic(h).ifname}:1
  }
}
`,
      );
      writeFileSync(
        join(dir, h, 'sipha.yaml'),
        JSON.stringify({
          node: { id: `sa-${h}`, priority: 100, state_dir: join(dir, h, 'state') },
          sip: { listen: [`udp://${lab.topology.vip.ipv4}:5060`], domain: 'example.test' },
          log: { level: 'warn' },
        }),
      );
    }
  }

  startSip(h: Host): void {
    this.sip[h] = this.lab.spawn(h, [
      process.execPath,
      CLI,
      'start',
      '--config',
      join(this.dir, h, 'sipha.yaml'),
    ]);
    this.sip[h].stdout?.resume();
    this.sip[h].stderr?.resume();
  }

  start(h: Host): void {
    const d = join(this.dir, h);
    const child = this.lab.spawn(h, [
      'keepalived',
      '-n',
      '-l',
      '-D',
      '-P',
      '-f',
      join(d, 'keepalived.conf'),
      '-p',
      join(d, 'keepalived.pid'),
      '-r',
      join(d, 'vrrp.pid'),
      '-c',
      join(d, 'checkers.pid'),
      '-b',
      join(d, 'bfd.pid'),
    ]);
    this.procs[h] = child;
    this.state[h] = 'starting';
    let buf = '';
    const onData = (data: Buffer) => {
      buf += data.toString();
      let nl = buf.indexOf('\n');
      while (nl >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        nl = buf.indexOf('\n');
        this.logs[h].push(line);
        if (this.logs[h].length > 200) this.logs[h].shift();
        if (/Entering MASTER STATE/.test(line)) {
          this.state[h] = 'MASTER';
          this.masters[h]++;
        } else if (/Entering BACKUP STATE/.test(line)) this.state[h] = 'BACKUP';
        else if (/Entering FAULT STATE/.test(line)) this.state[h] = 'FAULT';
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', () => {
      this.state[h] = 'down';
    });
  }

  vrrpPid(h: Host): number | undefined {
    try {
      return Number(readFileSync(join(this.dir, h, 'vrrp.pid'), 'utf8').trim()) || undefined;
    } catch {
      return undefined;
    }
  }

  tail(h: Host): string {
    return this.logs[h].slice(-20).join('\n');
  }

  /** Kills every keepalived process of host h (parent and VRRP child) at once. */
  kill9(h: Host): void {
    const child = this.vrrpPid(h);
    if (child !== undefined) {
      try {
        process.kill(child, 'SIGKILL');
      } catch {
        // gone
      }
    }
    this.procs[h]?.kill('SIGKILL');
  }

  async stopAll(): Promise<void> {
    for (const h of ['a', 'b'] as const) {
      this.kill9(h);
      this.sip[h]?.kill('SIGKILL');
      await exited(this.procs[h]);
      await exited(this.sip[h]);
    }
  }
}

async function holders(lab: Lab): Promise<Host[]> {
  const r: Host[] = [];
  for (const h of ['a', 'b'] as const) {
    const out = await lab.exec(h, ['ip', '-o', '-4', 'addr', 'show', 'dev', lab.nic(h).ifname]);
    if (out.stdout.includes(` ${lab.topology.vip.ipv4}/`)) r.push(h);
  }
  return r;
}

async function kaSettle(ka: Keepalived): Promise<Host | undefined> {
  let master: Host | undefined;
  const ok = await eventually(
    async () => {
      const m = (['a', 'b'] as const).find((h) => ka.state[h] === 'MASTER');
      if (m === undefined || ka.state[other(m)] !== 'BACKUP') return false;
      if ((await holders(ka.lab)).join() !== m) return false;
      master = m;
      return true;
    },
    30_000,
    100,
  );
  // A backup that has just started hears a few adverts before it counts as settled.
  await sleep(Math.max(500, ka.advert * 3000));
  return ok ? master : undefined;
}

async function kaTrial(
  lab: Lab,
  ka: Keepalived,
  fault: 'crash' | 'stop',
  n: number,
): Promise<Trial | string> {
  const P = await kaSettle(ka);
  if (P === undefined)
    return `keepalived did not settle: ${ka.state.a}/${ka.state.b}\n${ka.tail('a')}\n${ka.tail('b')}`;
  const Q = other(P);
  const mastersBefore = ka.masters.a + ka.masters.b;
  const prober = await Prober.start(lab);
  const seconds = 1.5 + ka.advert * 4 + 3;
  const sippRun = load(lab, seconds, SIPP_RATE, sippPort++);
  await sleep(1500);
  const faultAt = mono();
  let note: string | undefined;
  if (fault === 'crash') {
    // The host's HA daemon and SIP service die together (as a sipha node kill -9 takes its worker along); the VIP
    // is then released at once, as for sipha.
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
  const sippResult = await sippRun;
  await prober.stop();
  const outage = analyse(prober, faultAt);
  await exited(ka.procs[P]);
  if (fault === 'crash') {
    await exited(ka.sip[P]);
    ka.startSip(P);
  }
  ka.start(P);
  if (!tookOver) return `${Q} did not become master`;
  const settled = await kaSettle(ka);
  const t: Trial = {
    trial: n,
    from: P,
    to: Q,
    ...outage,
    sippFailed: sippResult.failed,
    sippSuccessful: sippResult.successful,
    falseFailovers: Math.max(0, ka.masters.a + ka.masters.b - mastersBefore - 1) + (settled !== Q ? 1 : 0),
  };
  if (note !== undefined) t.note = note;
  return t;
}

async function runKeepalived(lab: Lab, rows: Row[]): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sipha-bench-ka-'));
  try {
    for (const advert of KA_ADVERTS) {
      const scs = (['crash', 'stop'] as const)
        .map((f) => ({ f, key: `ka-${f}-${advert}` }))
        .filter((x) => ONLY === undefined || ONLY.includes(x.key));
      if (scs.length === 0) continue;
      const ka = new Keepalived(lab, join(dir, String(advert)), advert);
      liveKeepalived.add(ka);
      try {
        for (const h of ['a', 'b'] as const) {
          ka.startSip(h);
          ka.start(h);
        }
        for (const { f, key } of scs) {
          const name = `keepalived ${f === 'crash' ? 'crash (kill -9 + SIP service)' : 'clean stop (SIGTERM)'}, advert ${advert * 1000} ms`;
          const row: Row = {
            key,
            name,
            measure: f === 'crash' ? 'recovery' : 'gap',
            trials: [],
            failures: [],
          };
          rows.push(row);
          for (let i = 1; i <= TRIALS; i++) {
            const t = await kaTrial(lab, ka, f, i).catch((e: unknown) => `error: ${String(e)}`);
            if (typeof t === 'string') {
              log(`  ${key} #${i}: FAILED — ${t}`);
              row.failures.push(t.split('\n')[0] ?? t);
              if (row.failures.length >= 3 && row.trials.length === 0) {
                row.pending = t.split('\n')[0] ?? t;
                break;
              }
              continue;
            }
            row.trials.push(t);
            log(
              `  ${key} #${i} ${t.from}→${t.to}: recovery ${t.recoveryMs} ms, gap ${t.gapMs} ms, first post-fault answer ${t.firstAfterFaultMs} ms, lost ${t.lost}, SIPp failed ${t.sippFailed}${t.note ? `, ${t.note}` : ''}`,
            );
          }
        }
      } finally {
        await ka.stopAll();
        liveKeepalived.delete(ka);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// keepalived's VRRP child is not a child of ours: kill it on the way out whatever happens.
const liveKeepalived = new Set<Keepalived>();
function killKeepalivedSync(): void {
  for (const ka of liveKeepalived) for (const h of ['a', 'b'] as const) ka.kill9(h);
}

// ---------------------------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  if (process.getuid?.() !== 0) {
    log('bench:failover needs root (network namespaces): sudo npm run bench:failover');
    return 1;
  }
  for (const bin of ['sipp', 'keepalived', 'ip']) {
    if (spawnSync('sh', ['-c', `command -v ${bin}`]).status !== 0) {
      log(`bench:failover: ${bin} is missing (apt-get install sip-tester keepalived iproute2)`);
      return 1;
    }
  }
  process.on('exit', killKeepalivedSync);
  process.on('SIGINT', () => {
    killKeepalivedSync();
    process.exit(130);
  });
  const startedAt = new Date();
  const loadBefore = loadavg();
  const rows: Row[] = [];
  log(
    `failover benchmark: ${TRIALS} trials per scenario, SIPp ${SIPP_RATE} OPTIONS+REGISTER/s, probe every ${PROBE_INTERVAL_MS} ms`,
  );
  const lab = await Lab.create({ twoNic: true, ipv6: false });
  try {
    await runSipha(lab, rows);
    await runKeepalived(lab, rows);
  } finally {
    await lab.destroy();
  }
  const loadAfter = loadavg();
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  const machine = `${cpus().length} × ${cpu}, Linux ${release()}, node ${process.version}`;
  const ka = spawnSync('keepalived', ['--version'], { encoding: 'utf8' });
  const kaVersion = /Keepalived v[\d.]+/.exec(`${ka.stdout}${ka.stderr}`)?.[0] ?? 'keepalived';
  console.log(
    `Failover (${TRIALS} trials per row; ${machine}; load average ${loadBefore[0]?.toFixed(2)} before, ${loadAfter[0]?.toFixed(2)} after; ${kaVersion})`,
  );
  console.log(table(rows));
  if (soakResult !== undefined) {
    const s = soakResult;
    console.log(
      `\nSoak: ${s.seconds} s at ${s.rate} OPTIONS+REGISTER/s (heartbeat 50 ms, dead_after 200 ms): ${s.falseFailovers} false failovers (term ${s.termBefore} → ${s.termAfter}), SIPp ${s.sippFailed} failed of ${s.sippSuccessful + s.sippFailed}`,
    );
  }
  mkdirSync(join(process.cwd(), 'bench', 'results'), { recursive: true });
  writeFileSync(
    RESULTS,
    `${JSON.stringify(
      {
        date: startedAt.toISOString(),
        machine,
        cores: cpus().length,
        cpu,
        kernel: release(),
        loadAverage: { before: loadBefore, after: loadAfter },
        keepalived: kaVersion,
        trialsPerScenario: TRIALS,
        sippRate: SIPP_RATE,
        probeIntervalMs: PROBE_INTERVAL_MS,
        sipha: { heartbeat_ms: 50, dead_after_ms: 200, witness_interval_ms: 200 },
        rows: rows.map((r) => ({ ...r, summary: summary(r) })),
        soak: soakResult ?? null,
      },
      null,
      2,
    )}\n`,
  );
  return 0;
}

main()
  .then((code) => {
    process.exitCode = code;
  })
  .catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
