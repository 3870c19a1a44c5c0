// One chaos run (Jepsen / Pacemaker CTS style): a seeded schedule of random faults from the lab's catalogue
// injected into a loaded pair, the pair observed all along, and the invariant checker's report at the end.
// What it observes, all on one clock (CLOCK_MONOTONIC ms):
//   arp      who answers ARP for the VIP, from the client's namespace, every 10 ms (src/lab/arp-watch.ts)
//   probe    an OPTIONS through the VIP every 5 ms, each its own transaction (bench/failover/prober.ts)
//   node     each node's role and term from its management API, every 100 ms
//   client   users registered through the VIP and calls made and ended through it (bench/chaos/client.ts)
//   process  a node that exits when no fault killed it, and failure lines in the node logs
//   bindings the final primary's registrations, once the pair settled after the last fault
// Under SIPp load (OPTIONS + REGISTER for a fixed population) all along. Used by `npm run chaos` (main.ts)
// and by the lab tests (the short seeded run and the checker's self-test against a broken node).
import type { ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ArpWatch } from '../../src/lab/arp-watch.js';
import { type CheckerOptions, check, formatReport, type Report } from '../../src/lab/chaos/invariants.js';
import type { BindingsSample, NodeSample, ProcessSample, Sample } from '../../src/lab/chaos/samples.js';
import { describeSchedule, type Schedule, toJson } from '../../src/lab/chaos/schedule.js';
import { eventually } from '../../src/lab/eventually.js';
import { faultNamed } from '../../src/lab/faults.js';
import { PairFixture } from '../../src/lab/fixture.js';
import { HOSTS, type Host, other } from '../../src/lab/pair.js';
import { settle } from '../../src/lab/settle.js';
import type { SippResult } from '../../src/lab/sipp.js';
import { load, mono } from '../failover/common.js';
import { Prober } from '../failover/prober.js';
import { SipClient, type Summary } from './client.js';

export interface ChaosOptions {
  schedule: Schedule;
  /** Artefacts go to OUT/seed-S/. */
  out: string;
  say: (line: string) => void;
  /** Added to both nodes' environment (the self-test's SIPHA_TEST_BREAK). */
  env?: Record<string, string>;
  /** SIPp through the VIP: calls/s (an OPTIONS and a REGISTER each) over a population of users. */
  sippRate?: number;
  sippUsers?: number;
  /** The chaos client: users kept registered, a call every callIntervalMs held callHoldMs. */
  clientUsers?: number;
  callIntervalMs?: number;
  callHoldMs?: number;
  checker?: CheckerOptions;
  /** Keep the capture, the samples and the node logs even without a violation. */
  keepArtefacts?: boolean;
  /**
   * Cluster mode: the pair runs with a three-member etcd in the lab as its witness and fence, and the VIP check
   * is strict — at most one host answers for the VIP, no overlap window at a takeover (the permit orders them).
   */
  etcd?: boolean;
}

export interface ChaosResult {
  report: Report;
  text: string;
  sipp: SippResult;
  client: Summary;
  /** Steps that could not be injected (a switchover refused, a node not running), with the reason. */
  skipped: string[];
  /** Where the artefacts are (the schedule and the report always; the rest with a violation). */
  dir: string;
}

/** The faults that kill a node on purpose: its exit is expected while one of them is on its host. */
const KILLS = new Set(['crashNode', 'restart']);
/** The faults that stop every process of the host (freeze: node and worker). */
const STOPS = new Set(['freeze']);
/** Lines of a node log that say a process failed where nothing should. */
const FAILURE_LINE = /unhandled|uncaught|"level":60/i;

export async function runChaos(o: ChaosOptions): Promise<ChaosResult> {
  const plan = o.schedule;
  const dir = join(o.out, `seed-${plan.seed}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'schedule.json'), toJson(plan));
  o.say(`chaos: ${describeSchedule(plan).text}`);
  const fx = await PairFixture.open({
    logLevel: 'info',
    say: o.say,
    ...(o.env ? { env: o.env } : {}),
    ...(o.etcd === true ? { etcd: true } : {}),
  });
  const samples: Sample[] = [];
  let keep = o.keepArtefacts === true;
  /** Whatever was started, stopped even when the run throws (the lab's namespaces go with the fixture). */
  const stops: Array<() => unknown> = [];
  try {
    const { pair, lab } = fx;
    const macToHost = new Map(HOSTS.map((h) => [lab.mac(h).toLowerCase(), h as string]));
    const capture = lab.spawn('c', [
      'tcpdump',
      '-i',
      lab.nic('c').ifname,
      '-U',
      '-s',
      '256',
      '-C',
      '20',
      '-W',
      '5',
      // (Debian's tcpdump drops to its own user, who cannot write here.)
      '-Z',
      'root',
      '-w',
      join(dir, 'client.pcap'),
    ]);
    capture.on('error', () => {});
    stops.push(() => capture.kill('SIGTERM'));
    const arp = await ArpWatch.start(lab, { intervalMs: 10 });
    stops.push(() => arp.stop());
    const prober = await Prober.start(lab);
    stops.push(() => prober.stop());
    const client = await SipClient.start(lab, {
      users: o.clientUsers ?? 200,
      callIntervalMs: o.callIntervalMs ?? 1000,
      callHoldMs: o.callHoldMs ?? 3000,
    });
    stops.push(() => client.stop());
    const users = o.clientUsers ?? 200;
    const registered = () =>
      new Set(client.samples().flatMap((x) => (x.kind === 'registered' ? [x.aor] : []))).size;
    if (!(await eventually(async () => registered() >= users, 15_000, 100)))
      throw new Error(`only ${registered()} of ${users} chaos users registered before the first fault`);
    const span = (plan.steps.at(-1)?.atMs ?? 0) + (plan.steps.at(-1)?.holdMs ?? 0);
    const sipp = load(lab, Math.ceil(span / 1000) + 30, o.sippRate ?? 50, o.sippUsers ?? 2000);

    // Processes: a node that exits while no fault of KILLS is on its host did so by itself.
    const killing = new Set<Host>();
    const watched = new WeakSet<ChildProcess>();
    const watchExits = () => {
      for (const h of HOSTS) {
        const child = pair.procs[h];
        if (child === undefined || watched.has(child)) continue;
        watched.add(child);
        child.once('exit', (code, signal) => {
          const x: ProcessSample = {
            t: mono(),
            kind: 'process',
            host: h,
            expected: killing.has(h),
            detail: `node exited (${signal ?? `code ${code}`})`,
          };
          samples.push(x);
        });
      }
    };
    watchExits();
    let done = false;
    const sampler = (async () => {
      while (!done) {
        const t = mono();
        const got = await Promise.all(HOSTS.map((h) => pair.status(h, 1000)));
        HOSTS.forEach((h, i) => {
          const s = got[i];
          const x: NodeSample =
            s === undefined
              ? { t, kind: 'node', host: h, role: 'fault', term: 0, reachable: false }
              : {
                  t,
                  kind: 'node',
                  host: h,
                  role: s.role,
                  term: s.term,
                  reachable: true,
                  synced: s.replication?.synced === true,
                };
          samples.push(x);
        });
        watchExits();
        await sleep(100);
      }
    })();

    const startedAt = mono();
    const held = new Map<number, Host>();
    const active = new Set<number>();
    const heals: Promise<void>[] = [];
    const skipped: string[] = [];
    for (const step of plan.steps) {
      const wait = startedAt + step.atMs - mono();
      if (wait > 0) await sleep(wait);
      const f = faultNamed(step.fault);
      let host: Host;
      if (step.target === 'peer') host = other(held.get(step.peerOf ?? 0) ?? 'a');
      else {
        const roles = await Promise.all(HOSTS.map(async (h) => (await pair.status(h, 500))?.role));
        const i = roles.indexOf(step.target);
        host = i >= 0 ? (HOSTS[i] as Host) : 'a';
      }
      held.set(step.n, host);
      // With another fault still on the other host, this one may leave no node able to serve.
      const otherHit = [...active].some((n) => held.get(n) === other(host));
      const base = { kind: 'fault' as const, n: step.n, fault: step.kind, host };
      const stopsHost = STOPS.has(step.fault) ? { stopsHost: true } : {};
      if (KILLS.has(step.fault)) killing.add(host);
      const t = mono();
      const injected = await f
        .inject(pair, host)
        .catch((e: unknown) => (e instanceof Error ? e : new Error(String(e))));
      if (injected instanceof Error) {
        o.say(`  #${step.n} ${step.kind} on ${host}: not injected (${injected.message})`);
        skipped.push(`#${step.n} ${step.kind} on ${host}: ${injected.message}`);
        if (KILLS.has(step.fault)) killing.delete(host);
        continue;
      }
      o.say(`  #${step.n} ${step.kind} on ${host} (hold ${step.holdMs} ms): ${injected.detail}`);
      samples.push({ t, ...base, phase: 'inject', leavesHealthyNode: !otherHit, ...stopsHost });
      active.add(step.n);
      heals.push(
        (async () => {
          await sleep(step.holdMs);
          await f.heal(pair, host).catch((e: unknown) => o.say(`  #${step.n} heal failed: ${String(e)}`));
          active.delete(step.n);
          if (KILLS.has(step.fault)) killing.delete(host);
          watchExits();
          samples.push({ t: mono(), ...base, phase: 'heal', leavesHealthyNode: true, ...stopsHost });
        })(),
      );
    }
    await Promise.all(heals);
    const settled = await settle(pair, { timeoutMs: 30_000 }).catch((e: unknown) => {
      o.say(`the pair did not settle after the last fault: ${String(e)}`);
      return undefined;
    });
    // A second of settled samples, then the client's calls end and the final primary lists its bindings.
    await sleep(1000);
    const summary = await client.stop();
    if (settled !== undefined) {
      const h = settled.primary;
      const r = await pair.get(h, '/api/v1/registrations?limit=100000', 10_000).catch(() => undefined);
      const list = (r?.body as { registrations?: Array<{ aor: string; contact: string }> } | undefined)
        ?.registrations;
      if (list !== undefined) {
        const x: BindingsSample = {
          t: mono(),
          kind: 'bindings',
          host: h,
          role: 'primary',
          aors: list.map((b) => ({ aor: b.aor, contact: b.contact })),
        };
        samples.push(x);
      }
    }
    done = true;
    await sampler;
    await prober.stop();
    await arp.stop();
    const sippResult = await sipp;
    capture.kill('SIGTERM');
    for (const h of HOSTS) {
      const log = readFileSync(join(pair.dir, h, 'node.log'), 'utf8');
      for (const line of log.split('\n').filter((l) => FAILURE_LINE.test(l)))
        samples.push({ t: mono(), kind: 'process', host: h, expected: false, detail: line.slice(0, 300) });
    }

    for (const w of arp.windows)
      samples.push({ t: w.t, kind: 'arp', owners: w.macs.map((m) => macToHost.get(m) ?? m) });
    for (const a of prober.answers) samples.push({ t: a.received, kind: 'probe', ok: a.status === 200 });
    samples.push(...client.samples());
    // Stable: samples of one instant keep the order they were taken in. Times from the first fault's schedule
    // origin, in ms with one decimal, so that the report and the schedule read on one scale.
    samples.sort((x, y) => x.t - y.t);
    const rebase = (v: number) => Math.round((v - startedAt) * 10) / 10;
    for (const x of samples) {
      x.t = rebase(x.t);
      if (x.kind === 'registered') x.expiresAt = rebase(x.expiresAt);
    }
    const report = check(samples, o.etcd === true ? { overlapMs: -1, ...o.checker } : o.checker);
    const text = [
      formatReport(report),
      `seed ${plan.seed}; ${plan.steps.length} faults; SIPp ${sippResult.successful} ok, ${sippResult.failed} failed ` +
        `at ${o.sippRate ?? 50}/s; client: ${summary.registered} REGISTERs answered 2xx, ${summary.confirmed} calls ` +
        `confirmed, ${summary.endedOk} ended with a 2xx BYE, ${summary.unended} not ended; ` +
        `${prober.answers.length} probe answers; ${arp.windows.length} ARP windows`,
      ...skipped.map((x) => `not injected: ${x}`),
    ].join('\n');
    writeFileSync(join(dir, 'report.txt'), `${text}\n`);
    if (report.violations.length > 0) keep = true;
    if (keep) {
      writeFileSync(join(dir, 'samples.jsonl'), samples.map((x) => JSON.stringify(x)).join('\n'));
      for (const h of HOSTS) copyFileSync(join(pair.dir, h, 'node.log'), join(dir, `node-${h}.log`));
      fx.fail();
    } else for (let i = 0; i < 5; i++) rmSync(join(dir, `client.pcap${i}`), { force: true });
    return { report, text, sipp: sippResult, client: summary, skipped, dir };
  } catch (err) {
    fx.fail();
    throw err;
  } finally {
    await Promise.allSettled(stops.map(async (stop) => stop()));
    await fx.close();
  }
}
