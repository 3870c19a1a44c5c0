// The chaos report as a printable table: per fault type, its count, the takeovers it caused, the service gaps
// (p50/p99/max) of those that left a node able to serve, the longest settle, the violations that began after it;
// then the totals and the violations in order of first occurrence.
import type { Report } from './invariants.js';
import { percentile } from './percentile.js';

const ms = (v: number | null) => (v === null ? '-' : `${Math.round(v)}`);

export function formatReport(report: Report): string {
  const rows = [
    [
      'fault',
      'count',
      'takeovers',
      'gaps',
      'p50 ms',
      'p99 ms',
      'max ms',
      'late',
      'settle max ms',
      'violations',
    ],
  ];
  for (const [name, st] of Object.entries(report.perFault)) {
    const sorted = [...st.gaps].sort((a, b) => a - b);
    const max = sorted.length ? (sorted[sorted.length - 1] as number) : null;
    rows.push([
      name,
      `${st.count}`,
      `${st.takeovers}`,
      `${sorted.length}`,
      ms(percentile(sorted, 0.5)),
      ms(percentile(sorted, 0.99)),
      ms(max),
      `${st.late}`,
      ms(st.settles.length ? Math.max(...st.settles) : null),
      `${st.violations}`,
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] as string).length)));
  const lines = rows.map((r) =>
    r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  '),
  );
  const { totals: t } = report;
  lines.push(
    '',
    `samples ${t.samples}, faults ${t.faults}, superseded ${t.superseded}, unmeasured ${t.unmeasured}, violations ${t.violations}`,
    `takeovers by a backup not synced yet ${t.unsyncedTakeovers}; bindings lost in them ${t.lostUnsynced} (one copy only: the backup was still taking its snapshot)`,
  );
  for (const v of report.violations)
    lines.push(`VIOLATION ${v.invariant} at t=${v.t} ms${v.count > 1 ? ` (x${v.count})` : ''}: ${v.detail}`);
  if (report.violations.length === 0) lines.push('no violations');
  return lines.join('\n');
}
