// The failover benchmark's sipha trials: a settled pair (the lab's fixture), one fault of the lab's catalogue per
// trial on the primary, with the prober and SIPp running through it; then the soak (no fault, full load, production
// timers), where every new term is a false failover.
import { setTimeout as sleep } from 'node:timers/promises';
import {
  crashNode,
  crashWorker,
  type Fault,
  freeze,
  haLinkDown,
  sipNicDown,
  switchover,
} from '../../src/lab/faults.js';
import { PairFixture } from '../../src/lab/fixture.js';
import { type Host, other, type Pair } from '../../src/lab/pair.js';
import { type Settled, settle } from '../../src/lab/settle.js';
import { errorMessage } from '../../src/net/errors.js';
import { load, log, SOAK_RATE, SOAK_S, SOAK_USERS, wanted } from './common.js';
import { measure } from './prober.js';
import { type Row, runRow, type Soak, type Trial, trialOf } from './report.js';

interface Scenario {
  key: string;
  name: string;
  measure: Row['measure'];
  fault: Fault;
  /** Healed this long after the takeover, while the probe still runs; otherwise once the trial's load is over. */
  healAfterMs?: number;
  takeoverTimeoutMs?: number;
  /** A fault the pair must ride out without moving the VIP: held this long, then healed. */
  stayMs?: number;
}

const SCENARIOS: Scenario[] = [
  {
    key: 'kill9',
    name: 'sipha node kill -9 (VIP released at once, as systemd)',
    measure: 'recovery',
    fault: crashNode({ release: 'on-exit' }),
  },
  {
    key: 'kill9-late',
    name: 'sipha node kill -9 (VIP released only at restart)',
    measure: 'recovery',
    fault: crashNode({ release: 'before-restart' }),
  },
  {
    key: 'sigstop',
    name: 'sipha host freeze (SIGSTOP node + worker)',
    measure: 'recovery',
    fault: freeze(),
    healAfterMs: 1000,
  },
  { key: 'worker', name: 'sipha worker crash (kill -9)', measure: 'recovery', fault: crashWorker() },
  {
    key: 'nicdown',
    name: 'sipha SIP-NIC down',
    measure: 'recovery',
    fault: sipNicDown(),
    healAfterMs: 500,
    takeoverTimeoutMs: 6000,
  },
  {
    key: 'halink',
    name: 'sipha HA link down on the management NIC (must not fail over)',
    measure: 'gap',
    fault: haLinkDown({ paths: 'management' }),
    stayMs: 2000,
  },
  { key: 'switchover', name: 'sipha manual switchover', measure: 'move', fault: switchover() },
];

/** The settled pair, or undefined (a trial then fails, or the pair is left to the next trial's settle). */
const settled = (pair: Pair): Promise<Settled | undefined> => settle(pair).catch(() => undefined);

async function trial(pair: Pair, sc: Scenario, n: number): Promise<Trial | string> {
  const s = await settle(pair).catch((e: unknown) => errorMessage(e));
  if (typeof s === 'string') return s;
  const { primary: P, backup: Q } = s;
  const termBefore = s.status[P].term;
  if (sc.stayMs !== undefined) return stayTrial(pair, sc, n, s, sc.stayMs);
  const m = await measure(pair.lab, 6, async () => {
    const injected = await sc.fault.inject(pair, P).catch((e: unknown) => errorMessage(e));
    const tookOver =
      typeof injected !== 'string' && (await pair.waitRole(Q, 'primary', sc.takeoverTimeoutMs ?? 10_000, 50));
    // Undo the fault, as an operator (or the host coming back) would.
    if (sc.healAfterMs !== undefined) {
      await sleep(sc.healAfterMs);
      await sc.fault.heal(pair, P);
    }
    return { injected, tookOver };
  });
  if (sc.healAfterMs === undefined) await sc.fault.heal(pair, P);
  const { injected, tookOver } = m.value;
  if (typeof injected === 'string') return injected;
  if (!tookOver) {
    // Leave the pair healthy for the next trial.
    await settled(pair);
    return `${Q} did not become primary (${injected.detail})`;
  }
  const after = await settled(pair);
  const termAfter = after?.status[after.primary].term ?? termBefore + 1;
  const falseFailovers =
    Math.max(0, termAfter - termBefore - 1) + (after !== undefined && after.primary !== Q ? 1 : 0);
  const t = trialOf(n, { from: P, to: Q }, m, falseFailovers, injected.detail);
  const faultEpoch = injected.at;
  const tls = [
    ...((await pair.status('a'))?.timelines ?? []),
    ...((await pair.status('b'))?.timelines ?? []),
  ];
  // A planned move leaves the old host some ms after the request (the drain first): the silence it causes is
  // around that instant, read from the old primary's timeline (both hosts share one clock in the lab).
  const removed = tls.find((x) => x.kind === 'demote' && x.detectedAt >= faultEpoch - 100)?.vipRemovedAt;
  if (sc.measure === 'move' && typeof removed === 'number')
    t.moveGapMs = m.gapAround(m.faultAt + (removed - faultEpoch));
  t.promotions = tls
    .filter((x) => x.kind === 'promote' && x.detectedAt >= faultEpoch - 100)
    .sort((x, y) => x.detectedAt - y.detectedAt)
    .map((x) => {
      // The takeover's phases, ms after the fault (one host's clock: the lab's namespaces share it).
      const at = (v: number | null) => (v === null ? '-' : String(v - faultEpoch));
      return `${x.node} ${x.cause} t${x.newTerm} @${x.detectedAt - faultEpoch} (removed ${at(x.vipRemovedAt)}, added ${at(x.vipAddedAt)}, announced ${at(x.announcedAt)}, served ${at(x.firstServedAt)})`;
    });
  return t;
}

/** A fault that must not move the VIP: the trial's figure is the longest gap while it lasts, and any new term or
 * VIP holder is a false failover. */
async function stayTrial(
  pair: Pair,
  sc: Scenario,
  n: number,
  s: Settled,
  holdMs: number,
): Promise<Trial | string> {
  const { primary: P } = s;
  const termBefore = s.status[P].term;
  const m = await measure(pair.lab, 6, async () => {
    const injected = await sc.fault.inject(pair, P).catch((e: unknown) => errorMessage(e));
    if (typeof injected !== 'string') await sleep(holdMs);
    await sc.fault.heal(pair, P);
    return injected;
  });
  if (typeof m.value === 'string') return m.value;
  const after = await settled(pair);
  const termAfter = after?.status[after.primary].term ?? termBefore + 1;
  const moved = after === undefined || after.primary !== P ? 1 : 0;
  return trialOf(n, { from: P, to: P }, m, Math.max(termAfter - termBefore, moved), m.value.detail);
}

/** The sipha rows (those BENCH_ONLY names) and the soak (BENCH_SOAK_S > 0), on a pair of their own. */
export async function runSipha(rows: Row[]): Promise<Soak | undefined> {
  const scenarios = SCENARIOS.filter((x) => wanted(x.key));
  const soak = SOAK_S > 0 && wanted('soak');
  if (scenarios.length === 0 && !soak) return undefined;
  const fx = await PairFixture.open({
    logLevel: 'warn',
    extra: { monitoring: { sip_traffic: { enabled: true } } },
    say: log,
  });
  try {
    for (const sc of scenarios) {
      const row: Row = { key: sc.key, name: sc.name, measure: sc.measure, trials: [], failures: [] };
      rows.push(row);
      if (await runRow(row, (n) => trial(fx.pair, sc, n))) fx.fail();
    }
    return soak ? await runSoak(fx.pair) : undefined;
  } catch (err) {
    fx.fail();
    throw err;
  } finally {
    await fx.close();
  }
}

// "No false failover during a 10-minute run at full SIP load": SIPp loads the primary for SOAK_S seconds while the
// pair runs with its production timers; every promotion (a new term) is a false failover.
async function runSoak(pair: Pair): Promise<Soak> {
  const s = await settle(pair);
  log(
    `soak: ${SOAK_S} s of SIPp OPTIONS+REGISTER at ${SOAK_RATE}/s (${SOAK_USERS} users) against ${s.primary}`,
  );
  const run = load(pair.lab, SOAK_S, SOAK_RATE, SOAK_USERS);
  let changes = 0;
  let last: Host = s.primary;
  let done = false;
  const startedAt = Date.now();
  // Every alarm raised during the soak, by host (the nodes keep only their last 100 alarm events, and a flapping
  // warning can push a fault's reason out): read every second, with the VIP holders.
  const alarms = new Map<string, string>();
  const readAlarms = async () => {
    for (const h of ['a', 'b'] as const)
      for (const a of (await pair.status(h))?.alarms ?? [])
        if (a.at >= startedAt && a.state === 'raised')
          alarms.set(
            `${h}${a.at}${a.alarm}`,
            `${h} ${a.alarm} @${Math.round((a.at - startedAt) / 1000)} s: ${a.detail}`,
          );
  };
  const watch = (async () => {
    while (!done) {
      await sleep(1000);
      const holders = await pair.holders();
      if (holders.length === 1 && holders[0] !== last) {
        changes++;
        last = holders[0]!;
      }
      await readAlarms();
    }
  })();
  const r = await run;
  done = true;
  await watch;
  await readAlarms();
  // What moved the VIP, and what the nodes alarmed about, so that a false failover says why.
  const promotions: string[] = [];
  for (const h of ['a', 'b'] as const) {
    const st = await pair.status(h);
    for (const t of st?.timelines ?? [])
      if (t.kind === 'promote' && t.detectedAt >= startedAt)
        promotions.push(
          `${t.node} ${t.cause} t${t.newTerm} @${Math.round((t.detectedAt - startedAt) / 1000)} s`,
        );
  }
  const termBefore = s.status[s.primary].term;
  const termAfter = Math.max(
    (await pair.status(last))?.term ?? termBefore,
    (await pair.status(other(last)))?.term ?? 0,
  );
  return {
    seconds: SOAK_S,
    rate: SOAK_RATE,
    termBefore,
    termAfter,
    falseFailovers: termAfter - termBefore,
    sippSuccessful: r.successful,
    sippFailed: r.failed,
    primaryChanges: changes,
    promotions,
    alarms: [...alarms.values()],
  };
}
