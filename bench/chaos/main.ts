// A first chaos run (Jepsen / Pacemaker CTS style): a seeded schedule of random faults from the lab's catalogue,
// injected into a loaded pair, the pair sampled all along, and the invariant checker's report at the end.
//   sudo npm run chaos -- --faults N --seed S   (or --replay FILE, a schedule written by an earlier run)
// What this first version samples: the prober's answers through the VIP (every 5 ms), each node's role and term
// (management API, every 100 ms) and the VIP holders (`ip addr` in both hosts, every 100 ms — a stand-in for the
// ARP answers seen from the client, which a later version samples from C). Registrations are not checked yet.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { check, formatReport } from '../../src/lab/chaos/invariants.js';
import { parseSeed } from '../../src/lab/chaos/random.js';
import type { Sample } from '../../src/lab/chaos/samples.js';
import {
  describeSchedule,
  parseSchedule,
  planSchedule,
  type Schedule,
  toJson,
} from '../../src/lab/chaos/schedule.js';
import { faultNamed } from '../../src/lab/faults.js';
import { PairFixture } from '../../src/lab/fixture.js';
import { HOSTS, type Host, other } from '../../src/lab/pair.js';
import { settle } from '../../src/lab/settle.js';
import { load, log, mono } from '../failover/common.js';
import { Prober } from '../failover/prober.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? undefined : process.argv[i + 1];
}

function schedule(): Schedule {
  const replay = arg('replay');
  if (replay !== undefined) return parseSchedule(readFileSync(replay, 'utf8'));
  const seed = parseSeed(arg('seed') ?? String(Math.floor(Math.random() * 2 ** 32)));
  return planSchedule({ seed, faults: Number(arg('faults') ?? 20), gapMs: [1000, 3000], overlapChance: 0.2 });
}

async function main(): Promise<number> {
  if (process.getuid?.() !== 0) {
    log('chaos needs root (network namespaces): sudo npm run chaos');
    return 1;
  }
  const plan = schedule();
  const out = join(process.cwd(), 'bench', 'results', 'chaos');
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, `schedule-${plan.seed}.json`), toJson(plan));
  log(`chaos: seed ${plan.seed}, ${describeSchedule(plan).text}`);
  const fx = await PairFixture.open({ logLevel: 'warn', say: log });
  const samples: Sample[] = [];
  try {
    const { pair, lab } = fx;
    await settle(pair);
    const span = (plan.steps.at(-1)?.atMs ?? 0) + (plan.steps.at(-1)?.holdMs ?? 0);
    const seconds = Math.ceil(span / 1000) + 15;
    const prober = await Prober.start(lab);
    const sipp = load(lab, seconds, 50, 2000);
    let done = false;
    const sampler = (async () => {
      while (!done) {
        const t = mono();
        const [sa, sb, holders] = await Promise.all([pair.status('a'), pair.status('b'), pair.holders()]);
        for (const [h, s] of [
          ['a', sa],
          ['b', sb],
        ] as const)
          samples.push(
            s === undefined
              ? { t, kind: 'node', host: h, role: 'fault', term: 0, reachable: false }
              : { t, kind: 'node', host: h, role: s.role, term: s.term, reachable: true },
          );
        samples.push({ t, kind: 'arp', owners: holders });
        await sleep(100);
      }
    })();
    const startedAt = mono();
    const held = new Map<number, Host>();
    const active = new Set<number>();
    const heals: Promise<void>[] = [];
    for (const step of plan.steps) {
      const wait = startedAt + step.atMs - mono();
      if (wait > 0) await sleep(wait);
      const f = faultNamed(step.fault);
      let host: Host;
      if (step.target === 'peer') host = other(held.get(step.peerOf ?? 0) ?? 'a');
      else {
        const roles = await Promise.all(HOSTS.map(async (h) => (await pair.status(h))?.role));
        const i = roles.indexOf(step.target);
        host = i >= 0 ? (HOSTS[i] as Host) : 'a';
      }
      held.set(step.n, host);
      // With another fault still on the other host, this one may leave no node able to serve.
      const otherHit = [...active].some((n) => held.get(n) === other(host));
      const t = mono();
      const injected = await f.inject(pair, host).catch((e: unknown) => e);
      if (injected instanceof Error) {
        log(`  #${step.n} ${step.kind} on ${host}: not injected (${injected.message})`);
        continue;
      }
      log(`  #${step.n} ${step.kind} on ${host} (hold ${step.holdMs} ms)`);
      samples.push({
        t,
        kind: 'fault',
        phase: 'inject',
        n: step.n,
        fault: step.kind,
        host,
        leavesHealthyNode: !otherHit,
      });
      active.add(step.n);
      heals.push(
        (async () => {
          await sleep(step.holdMs);
          await f.heal(pair, host).catch((e: unknown) => log(`  #${step.n} heal failed: ${String(e)}`));
          active.delete(step.n);
          samples.push({
            t: mono(),
            kind: 'fault',
            phase: 'heal',
            n: step.n,
            fault: step.kind,
            host,
            leavesHealthyNode: true,
          });
        })(),
      );
    }
    await Promise.all(heals);
    await settle(pair).catch((e: unknown) => log(`the pair did not settle at the end: ${String(e)}`));
    done = true;
    await sampler;
    await prober.stop();
    const r = await sipp;
    for (const a of prober.answers) samples.push({ t: a.received, kind: 'probe', ok: a.status === 200 });
    samples.sort((x, y) => x.t - y.t);
    const report = check(samples, { resumeBoundMs: 3000 });
    console.log(formatReport(report));
    console.log(`seed ${plan.seed}; SIPp ${r.successful} ok, ${r.failed} failed; schedule in ${out}`);
    if (report.violations.length > 0) fx.fail();
    return report.violations.length > 0 ? 1 : 0;
  } catch (err) {
    fx.fail();
    throw err;
  } finally {
    await fx.close();
  }
}

main()
  .then((code) => {
    process.exitCode = code;
  })
  .catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
