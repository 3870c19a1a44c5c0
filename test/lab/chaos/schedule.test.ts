import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  DEFAULT_KINDS,
  describeSchedule,
  EXCLUSIVE,
  type FaultKind,
  type PlanOptions,
  parseSchedule,
  planSchedule,
  RESOURCE_OF,
  type Schedule,
  type Step,
  TAKEOVER_WINDOW_MS,
  toJson,
} from '../../../src/lab/chaos/schedule.js';
import { FAULTS } from '../../../src/lab/faults.js';

const plan = (o: Partial<PlanOptions> = {}) =>
  planSchedule({ seed: 1, faults: 300, gapMs: [500, 3000], overlapChance: 0.3, ...o });
const kindOf = (s: Step) => DEFAULT_KINDS.find((k) => k.kind === s.kind) as FaultKind;
const activeAt = (steps: readonly Step[], s: Step) =>
  steps.filter((p) => p.n < s.n && p.atMs + p.holdMs > s.atMs);

/** The rule of the header table, checked from the steps alone. */
function checkOverlapRule(schedule: Schedule): void {
  for (const s of schedule.steps) {
    const active = activeAt(schedule.steps, s);
    const r = RESOURCE_OF[s.fault];
    const same = active.filter((p) => RESOURCE_OF[p.fault] === r);
    const at = `seed ${schedule.seed} step ${s.n} (${s.kind})`;
    if (r === 'move') assert.deepEqual(active, [], `${at}: a switchover with faults active`);
    else if (r !== undefined && EXCLUSIVE.has(r))
      assert.deepEqual(same, [], `${at}: two ${r} faults at once`);
    else {
      assert.ok(same.length <= 1, `${at}: three ${r} faults at once on two hosts`);
      if (same.length === 1) {
        assert.equal(s.target, 'peer', `${at}: must go to the other host than step ${same[0]?.n}`);
        assert.equal(s.peerOf, same[0]?.n, at);
      } else assert.ok(s.target !== 'peer' && s.peerOf === undefined, at);
    }
    if (s.overlaps !== undefined) {
      const of = schedule.steps[s.overlaps - 1] as Step;
      assert.ok(s.atMs >= of.atMs, at);
      assert.ok(
        s.atMs < of.atMs + Math.max(of.holdMs, TAKEOVER_WINDOW_MS + 1),
        `${at}: not inside step ${of.n}`,
      );
    }
  }
}

describe('chaos schedule', () => {
  it('is the same for the same seed and differs between seeds', () => {
    assert.deepEqual(plan({ seed: 12345 }), plan({ seed: 12345 }));
    const texts = new Set(Array.from({ length: 30 }, (_, seed) => toJson(plan({ seed, faults: 20 }))));
    assert.equal(texts.size, 30);
  });

  it('every kind names a fault of FAULTS, and the default kinds cover every fault of FAULTS', () => {
    const names = new Set(FAULTS.map((f) => f.name));
    for (const k of DEFAULT_KINDS) assert.ok(names.has(k.fault), `${k.kind}: no fault ${k.fault}`);
    assert.deepEqual(new Set(DEFAULT_KINDS.map((k) => k.fault)), names);
    for (const f of FAULTS)
      assert.ok(RESOURCE_OF[f.name] !== undefined, `${f.name} has no row in the overlap table`);
    for (const s of plan().steps) assert.ok(names.has(s.fault), s.fault);
  });

  it('draws every kind in proportion to its weight (300 faults, 10 seeds)', () => {
    const total = DEFAULT_KINDS.reduce((sum, k) => sum + k.weight, 0);
    for (let seed = 0; seed < 10; seed++) {
      const { perKind } = describeSchedule(plan({ seed, overlapChance: 0 }));
      for (const k of DEFAULT_KINDS) {
        const p = k.weight / total;
        const sd = Math.sqrt(300 * p * (1 - p));
        const got = perKind[k.kind] ?? 0;
        assert.ok(got > 0, `seed ${seed}: no ${k.kind}`);
        assert.ok(
          Math.abs(got - 300 * p) <= 4 * sd,
          `seed ${seed}: ${k.kind} ${got} times, expected ${300 * p}`,
        );
      }
    }
  });

  it('keeps gaps and holds within their ranges', () => {
    for (let seed = 0; seed < 20; seed++) {
      const { steps } = plan({ seed, gapMs: [200, 900] });
      let quietFrom = 0;
      for (const s of steps) {
        const k = kindOf(s);
        assert.ok(s.holdMs >= k.holdMs[0] && s.holdMs <= k.holdMs[1], `${s.kind} held ${s.holdMs} ms`);
        if (!k.healable) assert.equal(s.holdMs, 0);
        if (s.overlaps === undefined) {
          const gap = s.atMs - quietFrom;
          assert.ok(gap >= 200 && gap <= 900, `seed ${seed} step ${s.n}: gap ${gap} ms`);
        }
        quietFrom = Math.max(quietFrom, s.atMs + s.holdMs);
      }
      assert.deepEqual(
        steps.map((s) => s.n),
        steps.map((_, i) => i + 1),
      );
      for (let i = 1; i < steps.length; i++) assert.ok(steps[i]!.atMs >= steps[i - 1]!.atMs);
    }
  });

  it('overlaps at about overlapChance, some inside the takeover window, none at 0', () => {
    for (const p of [0.1, 0.3, 0.6]) {
      const d = describeSchedule(plan({ seed: 8, faults: 3000, overlapChance: p }));
      const rate = d.overlaps / 2999;
      // A little under p: an overlap with nothing it may run beside falls back to a quiet start.
      assert.ok(rate > p - 0.05 && rate <= p + 0.03, `overlapChance ${p}: ${rate}`);
      assert.ok(d.inTakeoverWindow > 0 && d.inTakeoverWindow <= d.overlaps);
    }
    assert.equal(describeSchedule(plan({ overlapChance: 0 })).overlaps, 0);
  });

  it('never breaks the overlap rule (property over seeds, overlap chances and gaps)', () => {
    fc.assert(
      fc.property(
        fc.nat(0xffff_ffff),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.nat(2000),
        fc.nat(3000),
        (seed, overlapChance, gapMin, gapWidth) =>
          checkOverlapRule(
            planSchedule({ seed, faults: 60, gapMs: [gapMin, gapMin + gapWidth], overlapChance }),
          ),
      ),
      { numRuns: 300 },
    );
    checkOverlapRule(plan({ seed: 4, faults: 3000, overlapChance: 1, gapMs: [0, 0] }));
  });

  it('gives each decision its own stream: other gaps leave the kinds, holds and targets unchanged', () => {
    const strip = (s: Schedule) => s.steps.map(({ kind, holdMs, target }) => ({ kind, holdMs, target }));
    const a = plan({ seed: 77, overlapChance: 0, gapMs: [100, 200] });
    const b = plan({ seed: 77, overlapChance: 0, gapMs: [1000, 5000] });
    assert.deepEqual(strip(a), strip(b));
    assert.notDeepEqual(
      a.steps.map((s) => s.atMs),
      b.steps.map((s) => s.atMs),
    );
  });

  it('round-trips through JSON', () => {
    for (const seed of [0, 9, 0xffff_ffff]) {
      const s = plan({ seed, overlapChance: 0.5 });
      assert.deepEqual(parseSchedule(toJson(s)), s);
    }
    assert.deepEqual(parseSchedule(toJson(plan({ faults: 0 }))), { seed: 1, version: 1, steps: [] });
  });

  it('rejects a bad schedule naming what is wrong', () => {
    const good = JSON.parse(toJson(plan({ faults: 5, overlapChance: 0 })));
    const bad = (edit: (s: typeof good) => void) => {
      const s = structuredClone(good);
      edit(s);
      return JSON.stringify(s);
    };
    assert.throws(() => parseSchedule('{'), /not JSON/);
    assert.throws(() => parseSchedule(bad((s) => (s.version = 2))), /version 2 is not supported/);
    assert.throws(() => parseSchedule(bad((s) => delete s.version)), /version undefined is not supported/);
    assert.throws(() => parseSchedule(bad((s) => (s.seed = -3))), /schedule: seed:/);
    assert.throws(() => parseSchedule(bad((s) => (s.steps[2].holdMs = -5))), /steps\.2\.holdMs/);
    assert.throws(() => parseSchedule(bad((s) => (s.steps[1].atMs = '10'))), /steps\.1\.atMs/);
    assert.throws(
      () => parseSchedule(bad((s) => (s.steps[0].fault = 'meteor'))),
      /steps\.0\.fault: not a fault/,
    );
    assert.throws(() => parseSchedule(bad((s) => (s.steps[0].target = 'a'))), /steps\.0\.target/);
    assert.throws(() => parseSchedule(bad((s) => (s.steps[0].colour = 'red'))), /steps\.0/);
    assert.throws(() => parseSchedule(bad((s) => (s.steps[3].n = 9))), /steps\.3\.n: 9, expected 4/);
    assert.throws(() => parseSchedule(bad((s) => (s.steps[3].atMs = 0))), /steps\.3\.atMs: before/);
    assert.throws(() => parseSchedule(bad((s) => (s.steps[1].target = 'peer'))), /steps\.1\.peerOf/);
    assert.throws(
      () => parseSchedule(bad((s) => Object.assign(s.steps[1], { overlaps: 2 }))),
      /steps\.1\.overlaps: 2 is not an earlier step/,
    );
  });

  it('rejects bad options', () => {
    assert.throws(() => plan({ seed: -1 }), /the seed must be an integer/);
    assert.throws(() => plan({ faults: 1.5 }), /faults/);
    assert.throws(() => plan({ gapMs: [10, 5] }), /gapMs/);
    assert.throws(() => plan({ overlapChance: 2 }), /overlapChance/);
    assert.throws(() => plan({ kinds: [] }), /no fault kinds/);
    const k = DEFAULT_KINDS[0] as FaultKind;
    assert.throws(() => plan({ kinds: [{ ...k, fault: 'meteor' }] }), /no fault named meteor/);
    assert.throws(() => plan({ kinds: [k, k] }), /appears twice/);
    assert.throws(() => plan({ kinds: [{ ...k, weight: 0 }] }), /weight/);
  });

  it('describes a schedule: counts per kind and overlaps', () => {
    const s = plan({ seed: 3 });
    const d = describeSchedule(s);
    assert.equal(
      Object.values(d.perKind).reduce((a, b) => a + b, 0),
      300,
    );
    assert.equal(d.overlaps, s.steps.filter((x) => x.overlaps !== undefined).length);
    assert.equal(d.spanMs, Math.max(...s.steps.map((x) => x.atMs + x.holdMs)));
    assert.match(
      d.text,
      /^seed 3: 300 faults over [\d.]+ s \(announceLoss \d+, crashNode \d+, .*\); \d+ overlapping, \d+ of them/,
    );
  });
});
