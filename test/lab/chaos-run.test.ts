// The chaos run in CI: first the checker against nodes broken on purpose (each must be reported: an audit that
// never fires looks exactly like a pair that never fails), then a short seeded run of random faults under load
// that must end with no violation. The long run (hundreds of faults) is `npm run chaos`, in README.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runChaos } from '../../bench/chaos/run.js';
import { SELF_TESTS } from '../../bench/chaos/self-test.js';
import { describeSchedule, planSchedule } from '../../src/lab/chaos/schedule.js';
import { skipWithout } from '../helpers/installed.js';
import { NEEDS_ROOT } from './helpers.js';

/** The short run's seed: a schedule that overlaps faults and covers most kinds in 20 (see its summary line). */
export const SHORT_SEED = 7;
const SHORT_FAULTS = 20;
/** The cluster-mode run: fewer faults (each takeover waits for the dead node's etcd lease). */
const ETCD_FAULTS = 10;

const say = (line: string) => process.stdout.write(`# ${line}\n`);

describe('chaos', { skip: NEEDS_ROOT }, () => {
  const out = mkdtempSync(join(tmpdir(), 'sipha-chaos-'));
  let keep = false;
  after(() => {
    if (keep) say(`chaos artefacts kept in ${out}`);
    else rmSync(out, { recursive: true, force: true });
  });

  for (const t of SELF_TESTS)
    it(`self-test ${t.name}: a node broken on purpose (${t.break}) is reported as ${t.expect}`, async () => {
      const r = await runChaos({ ...t.options(out), say });
      const found = r.report.violations.map((v) => v.invariant);
      if (!found.includes(t.expect)) keep = true;
      assert.ok(
        found.includes(t.expect),
        `expected ${t.expect}, got ${found.join(', ') || 'nothing'}\n${r.text}`,
      );
    });

  it(`${SHORT_FAULTS} random faults (seed ${SHORT_SEED}) under load: no invariant violated`, async () => {
    const schedule = planSchedule({
      seed: SHORT_SEED,
      faults: SHORT_FAULTS,
      gapMs: [1000, 3000],
      overlapChance: 0.2,
    });
    const r = await runChaos({ schedule, out, say });
    say(describeSchedule(schedule).text);
    for (const line of r.text.split('\n')) say(line);
    if (r.report.violations.length > 0) keep = true;
    assert.deepEqual(
      r.report.violations.map((v) => `${v.invariant}: ${v.detail}`),
      [],
      `artefacts in ${r.dir}`,
    );
    // It ran: every fault was injected (or refused, as a switchover may be, and said why), the client and SIPp
    // were served.
    assert.equal(r.report.totals.faults + r.skipped.length, SHORT_FAULTS);
    assert.ok(r.skipped.length <= 2, r.skipped.join('\n'));
    assert.ok(r.client.confirmed > 0 && r.client.endedOk === r.client.confirmed, JSON.stringify(r.client));
    assert.ok(r.sipp.successful > 0);
  });

  it(`cluster mode (etcd in the lab as witness and fence): ${ETCD_FAULTS} random faults (seed ${SHORT_SEED}), never two VIP holders`, {
    skip: skipWithout('etcd'),
  }, async () => {
    const schedule = planSchedule({
      seed: SHORT_SEED,
      faults: ETCD_FAULTS,
      gapMs: [1000, 3000],
      overlapChance: 0.2,
    });
    const r = await runChaos({ schedule, out, say, etcd: true });
    for (const line of r.text.split('\n')) say(`etcd: ${line}`);
    if (r.report.violations.length > 0) keep = true;
    assert.deepEqual(
      r.report.violations.map((v) => `${v.invariant}: ${v.detail}`),
      [],
      `artefacts in ${r.dir}`,
    );
    assert.equal(r.report.totals.faults + r.skipped.length, ETCD_FAULTS);
    assert.ok(r.client.confirmed > 0 && r.client.endedOk === r.client.confirmed, JSON.stringify(r.client));
  });
});
