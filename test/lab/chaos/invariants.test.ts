// The chaos checker is tested against deliberately broken traces (Pacemaker's CTS lesson: an audit that never
// fires looks exactly like a pair that never fails). Each rule: a good trace passes, a broken one is named,
// with the time its episode began.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Checker, check, formatReport, type Sample } from '../../../src/lab/chaos/invariants.js';
import { percentile } from '../../../src/lab/chaos/percentile.js';

/** ARP samples every 10 ms over [from, to) answered by owners. */
function arp(from: number, to: number, ...owners: string[]): Sample[] {
  const out: Sample[] = [];
  for (let t = from; t < to; t += 10) out.push({ t, kind: 'arp', owners });
  return out;
}

const node = (
  t: number,
  host: string,
  role: 'primary' | 'backup',
  term: number,
  reachable = true,
): Sample => ({
  t,
  kind: 'node',
  host,
  role,
  term,
  reachable,
});

const fault = (
  t: number,
  phase: 'inject' | 'heal',
  n: number,
  name: string,
  leavesHealthyNode = true,
): Sample => ({
  t,
  kind: 'fault',
  phase,
  n,
  fault: name,
  host: 'a',
  leavesHealthyNode,
});

const probe = (t: number, ok: boolean): Sample => ({ t, kind: 'probe', ok });

const names = (r: ReturnType<typeof check>) => r.violations.map((v) => v.invariant);

describe('single-vip-owner', () => {
  it('cluster mode (overlapMs < 0): a single sample with two owners is a split brain, even at a takeover', () => {
    const one = [
      ...arp(0, 1000, 'a'),
      { t: 1000, kind: 'arp' as const, owners: ['a', 'b'] },
      ...arp(1010, 2000, 'b'),
    ];
    assert.deepEqual(names(check(one)), [], 'one sample passes the default window');
    const r = check(one, { overlapMs: -1 });
    assert.deepEqual(names(r), ['single-vip-owner']);
    assert.equal(r.violations[0]?.t, 1000);
  });

  it('flags two owners for 600 ms with overlapMs 500, at the start of the overlap', () => {
    const r = check([...arp(0, 1000, 'a'), ...arp(1000, 1600, 'a', 'b'), ...arp(1600, 3000, 'b')], {
      overlapMs: 500,
    });
    assert.deepEqual(names(r), ['single-vip-owner']);
    assert.equal(r.violations[0]?.t, 1000);
    assert.match(r.violations[0]?.detail ?? '', /a, b/);
  });

  it('allows 300 ms of overlap, and one such window in each of two takeovers', () => {
    assert.deepEqual(
      names(check([...arp(0, 1000, 'a'), ...arp(1000, 1300, 'a', 'b'), ...arp(1300, 2000, 'b')])),
      [],
    );
    const two = [
      ...arp(0, 1000, 'a'),
      ...arp(1000, 1300, 'a', 'b'),
      ...arp(1300, 5000, 'b'),
      ...arp(5000, 5300, 'a', 'b'),
      ...arp(5300, 6000, 'a'),
    ];
    assert.deepEqual(names(check(two, { overlapMs: 500 })), []);
  });

  it('counts a split brain once however long it lasts, and reports a second one apart', () => {
    const r = check([...arp(0, 5000, 'a', 'b'), ...arp(5000, 6000, 'a'), ...arp(6000, 7000, 'b', 'a')]);
    assert.deepEqual(
      r.violations.map((v) => [v.invariant, v.t]),
      [
        ['single-vip-owner', 0],
        ['single-vip-owner', 6000],
      ],
    );
  });

  it('flags a second overlap window before any takeover (a split brain seen only now and then)', () => {
    const flapping = [
      ...arp(0, 1000, 'a'),
      ...arp(1000, 1200, 'a', 'b'),
      ...arp(1200, 1300, 'a'),
      ...arp(1300, 1500, 'a', 'b'),
      ...arp(1500, 2000, 'a'),
    ];
    const r = check(flapping);
    assert.deepEqual(names(r), ['single-vip-owner']);
    assert.equal(r.violations[0]?.t, 1300);
    assert.match(r.violations[0]?.detail ?? '', /without a takeover/);
  });

  it('allows a takeover through a moment with no owner, with one overlap on each side of it', () => {
    const trace = [
      ...arp(0, 1000, 'a'),
      ...arp(1000, 1100, 'a', 'b'),
      ...arp(1100, 1200),
      ...arp(1200, 2000, 'b'),
      ...arp(2000, 2100, 'b', 'a'),
      ...arp(2100, 3000, 'a'),
    ];
    assert.deepEqual(names(check(trace)), []);
  });

  it('does not count the same owner listed twice as two owners', () => {
    assert.deepEqual(names(check(arp(0, 2000, 'a', 'a'))), []);
  });
});

describe('term-monotonic', () => {
  it('passes terms that rise across a restart, and ignores unreachable samples', () => {
    const r = check([
      node(0, 'a', 'primary', 5),
      node(10, 'a', 'backup', 0, false),
      node(20, 'a', 'backup', 6),
    ]);
    assert.deepEqual(names(r), []);
  });

  it('flags a term going 5 → 4 on one host, at that sample', () => {
    const r = check([node(0, 'a', 'primary', 5), node(10, 'b', 'backup', 3), node(20, 'a', 'backup', 4)]);
    assert.deepEqual(names(r), ['term-monotonic']);
    assert.equal(r.violations[0]?.t, 20);
    assert.match(r.violations[0]?.detail ?? '', /a: term went from 5 down to 4/);
  });
});

describe('unique-primary-per-term', () => {
  it('passes one primary per term, handed over with a new term', () => {
    const r = check([node(0, 'a', 'primary', 7), node(10, 'b', 'backup', 7), node(20, 'b', 'primary', 8)]);
    assert.deepEqual(names(r), []);
  });

  it('flags b primary in term 7 after a was primary in term 7, even without overlap', () => {
    const r = check([
      node(0, 'a', 'primary', 7),
      node(100, 'a', 'backup', 0, false),
      node(200, 'b', 'primary', 7),
    ]);
    assert.deepEqual(names(r), ['unique-primary-per-term']);
    assert.equal(r.violations[0]?.t, 200);
  });
});

describe('service-resumes', () => {
  it('measures the longest silence that begins in the takeover window, not the first answer after the inject', () => {
    // Service still up for 200 ms after the fault (detection), then 300 ms of silence (the move), then back.
    const probes = [
      ...[0, 50, 100, 150, 200, 250, 300].map((t) => probe(t, true)),
      ...[350, 400, 450, 500, 550].map((t) => probe(t, false)),
      ...Array.from({ length: 12 }, (_, i) => probe(600 + i * 100, true)),
    ];
    const r = check(
      [fault(100, 'inject', 1, 'freeze/long'), ...probes].sort((a, b) => a.t - b.t),
      {
        resumeBoundMs: 1000,
      },
    );
    assert.deepEqual(names(r), []);
    assert.deepEqual(r.perFault['freeze/long']?.gaps, [300]);
  });

  it('records the gap from the inject to the first ok probe after it, within the bound', () => {
    const r = check(
      [probe(0, true), fault(100, 'inject', 1, 'crashNode'), probe(200, false), probe(900, true)],
      {
        resumeBoundMs: 1000,
      },
    );
    assert.deepEqual(names(r), []);
    assert.deepEqual(r.perFault.crashNode, {
      count: 1,
      gaps: [800],
      late: 0,
      takeovers: 0,
      settles: [],
      violations: 0,
    });
  });

  it('flags a fault leaving a healthy node with no ok probe past the bound, at its inject', () => {
    const r = check([fault(100, 'inject', 1, 'freeze'), probe(500, false), probe(1500, true)], {
      resumeBoundMs: 1000,
    });
    assert.deepEqual(names(r), ['service-resumes']);
    assert.equal(r.violations[0]?.t, 100);
    assert.deepEqual(r.perFault.freeze, {
      count: 1,
      gaps: [1400],
      late: 1,
      takeovers: 0,
      settles: [],
      violations: 1,
    });
  });

  it('flags a service that never came back before the run ended', () => {
    const r = check([fault(100, 'inject', 1, 'freeze'), probe(1200, false)], { resumeBoundMs: 1000 });
    assert.deepEqual(names(r), ['service-resumes']);
    assert.match(r.violations[0]?.detail ?? '', /no ok probe for 1100 ms/);
    assert.equal(r.perFault.freeze?.late, 1);
  });

  it('starts the clock of a fault injected while another is active at that fault’s heal', () => {
    const r = check(
      [
        fault(0, 'inject', 1, 'haLinkDown', false),
        fault(100, 'inject', 2, 'crashNode'),
        probe(2000, false),
        fault(3000, 'heal', 1, 'haLinkDown'),
        probe(3400, true),
      ],
      { resumeBoundMs: 1000 },
    );
    assert.deepEqual(names(r), []);
    assert.deepEqual(r.perFault.crashNode?.gaps, [400]);
  });

  it('cancels open waits when a later fault leaves no healthy node', () => {
    const r = check(
      [fault(0, 'inject', 1, 'crashNode'), fault(100, 'inject', 2, 'crashNode', false), probe(5000, true)],
      { resumeBoundMs: 1000 },
    );
    assert.deepEqual(names(r), []);
    assert.equal(r.totals.superseded, 1);
    assert.deepEqual(r.perFault.crashNode, {
      count: 2,
      gaps: [],
      late: 0,
      takeovers: 0,
      settles: [],
      violations: 0,
    });
  });

  it('ignores faults that leave no healthy node', () => {
    assert.deepEqual(names(check([fault(0, 'inject', 1, 'both', false), probe(9000, true)])), []);
  });
});

describe('registrations-kept', () => {
  const end = (aors: Array<{ aor: string; contact: string }>): Sample[] => [
    node(9000, 'a', 'backup', 3),
    node(9000, 'b', 'primary', 3),
    { t: 9100, kind: 'bindings', host: 'a', role: 'backup', aors: [] },
    { t: 9100, kind: 'bindings', host: 'b', role: 'primary', aors },
  ];
  const reg = (t: number, aor: string, expiresAt: number): Sample => ({
    t,
    kind: 'registered',
    aor,
    contact: `sip:${aor}@10.0.0.9`,
    expiresAt,
  });

  it('passes when every live binding is on the final primary, and ignores expired ones', () => {
    const r = check([
      reg(0, 'alice', 60_000),
      reg(0, 'bob', 5000),
      ...end([{ aor: 'alice', contact: 'sip:alice@10.0.0.9' }]),
    ]);
    assert.deepEqual(names(r), []);
  });

  it('matches an AoR promised as a URI with the registrar listing it without the scheme', () => {
    const r = check([
      {
        t: 0,
        kind: 'registered',
        aor: 'sip:dave@example.test',
        contact: 'sip:dave@10.0.0.9',
        expiresAt: 60_000,
      },
      ...end([{ aor: 'dave@example.test', contact: 'sip:dave@10.0.0.9' }]),
    ]);
    assert.deepEqual(names(r), []);
  });

  it('counts, without a violation, bindings promised before a takeover by a backup not synced yet', () => {
    const r = check([
      { t: 0, kind: 'node', host: 'a', role: 'primary', term: 3, reachable: true },
      { t: 0, kind: 'node', host: 'b', role: 'backup', term: 3, reachable: true, synced: false },
      reg(10, 'erin', 60_000),
      { t: 500, kind: 'node', host: 'b', role: 'primary', term: 4, reachable: true },
      reg(600, 'frank', 60_000),
      node(9000, 'a', 'backup', 4),
      node(9000, 'b', 'primary', 4),
      { t: 9100, kind: 'bindings', host: 'b', role: 'primary', aors: [] },
    ]);
    // erin went with the primary (b had no copy yet); frank was promised by b itself and is missing: a violation.
    assert.deepEqual(names(r), ['registrations-kept']);
    assert.match(r.violations[0]?.detail ?? '', /frank/);
    assert.equal(r.totals.unsyncedTakeovers, 1);
    assert.equal(r.totals.lostUnsynced, 1);
  });

  it('names the missing AoR, judged on the final primary only', () => {
    const r = check([
      reg(0, 'alice', 60_000),
      reg(10, 'carol', 60_000),
      ...end([{ aor: 'alice', contact: 'sip:alice@10.0.0.9' }]),
    ]);
    assert.deepEqual(names(r), ['registrations-kept']);
    assert.match(r.violations[0]?.detail ?? '', /missing on b, the first carol/);
    assert.equal(r.violations[0]?.t, 9100);
  });

  it('uses the latest promise for a binding: an unregister (expires now) is not expected', () => {
    const r = check([reg(0, 'alice', 60_000), reg(50, 'alice', 50), ...end([])]);
    assert.deepEqual(names(r), []);
  });

  it('does not expect a binding registered after the final listing', () => {
    assert.deepEqual(names(check([...end([]), reg(9200, 'dave', 60_000)])), []);
  });

  it('flags live bindings when no host ends primary', () => {
    const r = check([reg(0, 'alice', 60_000), node(9000, 'a', 'backup', 3)]);
    assert.deepEqual(names(r), ['registrations-kept']);
  });
});

describe('calls-end', () => {
  const call = (
    t: number,
    callId: string,
    phase: 'confirmed' | 'ended' | 'end-failed',
    status?: number | 'timeout',
  ): Sample =>
    status === undefined ? { t, kind: 'call', callId, phase } : { t, kind: 'call', callId, phase, status };

  it('passes when every confirmed call ends with a 2xx BYE, failed tries before it included', () => {
    const r = check([
      call(100, 'k1', 'confirmed'),
      call(200, 'k2', 'confirmed'),
      call(1100, 'k1', 'ended', 200),
      call(33_000, 'k2', 'end-failed', 'timeout'),
      call(34_500, 'k2', 'end-failed', 503),
      call(36_000, 'k2', 'ended', 200),
    ]);
    assert.deepEqual(names(r), []);
  });

  it('flags a BYE answered 481 when it comes, naming the call', () => {
    const r = check([call(100, 'k1', 'confirmed'), call(1100, 'k1', 'ended', 481), probe(2000, true)]);
    assert.deepEqual(names(r), ['calls-end']);
    assert.equal(r.violations[0]?.t, 1100);
    assert.match(r.violations[0]?.detail ?? '', /call k1 \(confirmed at 100\): BYE answered 481/);
  });

  it('flags a call never ended at the end of the run, at its confirm, with its last failed try', () => {
    const r = check([
      call(100, 'k1', 'confirmed'),
      call(150, 'k2', 'confirmed'),
      call(33_100, 'k1', 'end-failed', 'timeout'),
      call(34_100, 'k1', 'end-failed', 408),
    ]);
    assert.deepEqual(
      r.violations.map((v) => [v.invariant, v.t, v.detail]),
      [
        ['calls-end', 100, 'call k1 (confirmed at 100) never ended: last BYE try 408 at 34100'],
        ['calls-end', 150, 'call k2 (confirmed at 150) never ended: no BYE answered'],
      ],
    );
  });

  it('ignores steps of calls never confirmed (a failed INVITE is not a call)', () => {
    assert.deepEqual(names(check([call(100, 'k9', 'ended', 481), call(200, 'k8', 'end-failed', 503)])), []);
  });
});

describe('single-vip-owner: windows nobody answered', () => {
  it('neither end an overlap nor start a second one', () => {
    const r = check(
      [
        ...arp(0, 500, 'a'),
        ...arp(500, 700, 'a', 'b'),
        { t: 700, kind: 'arp', owners: [] },
        ...arp(710, 800, 'a', 'b'),
        ...arp(800, 2000, 'b'),
      ],
      { overlapMs: 500 },
    );
    assert.deepEqual(names(r), []);
  });
});

describe('single-vip-owner with a stopped host', () => {
  const stop = (t: number, phase: 'inject' | 'heal'): Sample => ({
    t,
    kind: 'fault',
    phase,
    n: 1,
    fault: 'freeze/long',
    host: 'a',
    leavesHealthyNode: true,
    stopsHost: true,
  });

  it('excuses the frozen host answering until it runs again, then allows one window', () => {
    const r = check(
      [
        ...arp(0, 500, 'a'),
        stop(500, 'inject'),
        ...arp(510, 700, 'a'),
        ...arp(700, 2500, 'a', 'b'),
        stop(2500, 'heal'),
        ...arp(2510, 2800, 'a', 'b'),
        ...arp(2800, 4000, 'b'),
      ],
      { overlapMs: 500 },
    );
    assert.deepEqual(
      names(r).filter((n) => n === 'single-vip-owner'),
      [],
    );
  });

  it('still flags an overlap that outlasts the window after the heal', () => {
    const r = check(
      [
        ...arp(0, 500, 'a'),
        stop(500, 'inject'),
        ...arp(700, 2500, 'a', 'b'),
        stop(2500, 'heal'),
        ...arp(2510, 3200, 'a', 'b'),
      ],
      { overlapMs: 500 },
    );
    const v = r.violations.filter((x) => x.invariant === 'single-vip-owner');
    assert.equal(v.length, 1);
    assert.equal(v[0]?.t, 2510);
  });
});

describe('pair-settles', () => {
  const only = (r: ReturnType<typeof check>) => names(r).filter((n) => n === 'pair-settles');
  const settled = (from: number, to: number, primary = 'a', term = 2): Sample[] => {
    const out: Sample[] = [];
    for (let t = from; t < to; t += 100)
      out.push(
        node(t, 'a', primary === 'a' ? 'primary' : 'backup', term),
        node(t, 'b', primary === 'b' ? 'primary' : 'backup', term),
        { t, kind: 'arp', owners: [primary] },
      );
    return out;
  };

  it('records the time from the heal to one primary, one backup and the VIP on the primary alone', () => {
    const r = check(
      [
        ...settled(0, 500),
        fault(500, 'inject', 1, 'crashNode'),
        node(600, 'a', 'primary', 2, false),
        fault(1000, 'heal', 1, 'crashNode'),
        node(1100, 'a', 'backup', 2),
        node(1100, 'b', 'primary', 3),
        { t: 1100, kind: 'arp', owners: ['a'] },
        { t: 1200, kind: 'arp', owners: ['b'] },
        ...settled(1300, 1500, 'b', 3),
      ],
      { settleBoundMs: 5000 },
    );
    assert.deepEqual(only(r), []);
    assert.deepEqual(r.perFault.crashNode?.settles, [200]);
  });

  it('flags a pair that stays without a backup past the bound, naming the roles', () => {
    const r = check(
      [
        ...settled(0, 500),
        fault(500, 'inject', 1, 'restart'),
        fault(1000, 'heal', 1, 'restart'),
        ...Array.from({ length: 60 }, (_, i) => node(1100 + i * 100, 'a', 'fault' as 'backup', 2)),
        node(7200, 'b', 'primary', 3),
      ],
      { settleBoundMs: 5000 },
    );
    assert.deepEqual(only(r), ['pair-settles']);
    assert.match(r.violations.find((v) => v.invariant === 'pair-settles')?.detail ?? '', /a fault/);
    assert.equal(r.perFault.restart?.violations, 2, 'service-resumes and pair-settles, both after it');
  });

  it('says nothing of a quiet period the next inject cuts short', () => {
    const r = check(
      [
        ...settled(0, 500),
        fault(500, 'inject', 1, 'crashNode'),
        fault(1000, 'heal', 1, 'crashNode'),
        node(1100, 'a', 'primary', 2, false),
        fault(3000, 'inject', 2, 'crashNode'),
        node(9000, 'a', 'primary', 2, false),
      ],
      { settleBoundMs: 5000 },
    );
    assert.deepEqual(only(r), []);
  });
});

describe('no-crash', () => {
  it('flags a process that ended when no fault did it, not one a fault killed', () => {
    const r = check([
      { t: 10, kind: 'process', host: 'a', expected: true, detail: 'node exited (SIGKILL)' },
      { t: 20, kind: 'process', host: 'b', expected: false, detail: 'unhandled rejection in node.log' },
    ]);
    assert.deepEqual(names(r), ['no-crash']);
    assert.match(r.violations[0]?.detail ?? '', /^b: unhandled/);
  });
});

describe('takeovers per fault', () => {
  it('counts a new primary on another host in a higher term against the latest fault injected', () => {
    const r = check([
      node(0, 'a', 'primary', 1),
      fault(100, 'inject', 1, 'crashNode'),
      node(300, 'b', 'primary', 2),
      fault(400, 'heal', 1, 'crashNode'),
      fault(500, 'inject', 2, 'freeze/short'),
      node(600, 'b', 'primary', 2),
      fault(700, 'heal', 2, 'freeze/short'),
    ]);
    assert.equal(r.perFault.crashNode?.takeovers, 1);
    assert.equal(r.perFault['freeze/short']?.takeovers, 0);
  });
});

describe('report', () => {
  it('has per-fault gap percentiles, and formatReport prints them with the violations', () => {
    const trace: Sample[] = [];
    const gaps = [100, 200, 300, 400, 500, 600, 700, 800, 900, 2500];
    gaps.forEach((g, i) => {
      const t0 = i * 10_000;
      // Service back at t0 + g, and answering every 100 ms after it (past the takeover window).
      trace.push(
        fault(t0, 'inject', i, 'crashNode'),
        ...Array.from({ length: 30 }, (_, k) => probe(t0 + g + k * 100, true)),
        fault(t0 + 5000, 'heal', i, 'crashNode'),
      );
    });
    trace.push(fault(200_000, 'inject', 99, 'switchover'), probe(200_050, true));
    trace.sort((a, b) => a.t - b.t);
    const r = check(trace, { resumeBoundMs: 2000 });
    const sorted = [...(r.perFault.crashNode?.gaps ?? [])].sort((a, b) => a - b);
    assert.deepEqual(sorted, gaps);
    assert.equal(percentile(sorted, 0.5), 500);
    assert.equal(percentile(sorted, 0.99), 2500);
    const text = formatReport(r);
    // fault, count, takeovers, gaps, p50, p99, max, late, settle max, violations
    assert.match(text, /crashNode\s+10\s+0\s+10\s+500\s+2500\s+2500\s+1\s+-\s+1/);
    assert.match(text, /switchover\s+1\s+0\s+1\s+50\s+50\s+50\s+0\s+-\s+0/);
    assert.match(
      text,
      /VIOLATION service-resumes at t=90000 ms: fault 9 \(crashNode\): a silence of 2500 ms/,
    );
    assert.deepEqual(r.totals, {
      samples: 322,
      faults: 11,
      superseded: 0,
      unmeasured: 0,
      unsyncedTakeovers: 0,
      lostUnsynced: 0,
      violations: 1,
    });
  });

  it('percentile is nearest-rank, and null for no values', () => {
    assert.equal(percentile([], 0.5), null);
    assert.equal(percentile([7], 0.99), 7);
    assert.equal(percentile([1, 2, 3, 4], 0.5), 2);
  });
});

describe('time order', () => {
  it('rejects a sample older than the one before, naming both times; equal times are fine', () => {
    const c = new Checker();
    c.feed(probe(100, true));
    c.feed(probe(100, false));
    assert.throws(() => c.feed(probe(99, true)), { name: 'RangeError', message: /t=99 after t=100/ });
    assert.throws(() => c.feed(probe(Number.NaN, true)), RangeError);
  });

  it('refuses samples after finish', () => {
    const c = new Checker();
    c.finish();
    assert.throws(() => c.feed(probe(0, true)), /after finish/);
  });
});

describe('cost', () => {
  it('checks 200,000 samples (about 30 minutes at 10 ms) quickly', () => {
    const c = new Checker();
    const started = performance.now();
    for (let i = 0; i < 200_000; i++) {
      const t = i * 10;
      c.feed(
        i % 4 === 0
          ? { t, kind: 'arp', owners: ['a'] }
          : i % 4 === 1
            ? node(t, 'a', 'primary', 1)
            : i % 4 === 2
              ? node(t, 'b', 'backup', 1)
              : probe(t, true),
      );
    }
    assert.equal(c.finish().violations.length, 0);
    assert.ok(performance.now() - started < 5000);
  });
});
