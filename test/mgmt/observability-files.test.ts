// The operator-facing monitoring files in contrib/: the Prometheus alerting rules and the Grafana dashboard may
// only use metrics sipha really exports (a renamed metric would silently never alert), the rules pass promtool,
// and the dashboard is well-formed. Also sipha_build_info's version.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { ManagementHub } from '../../src/mgmt/hub.js';
import { packageVersion } from '../../src/mgmt/metrics.js';
import { skipWithout } from '../helpers/installed.js';
import { FakeNode } from './fake-node.js';

// dist/test/mgmt/ → the repository root.
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const RULES = join(ROOT, 'contrib/prometheus/sipha-alerts.yml');
const DASHBOARD = join(ROOT, 'contrib/grafana/sipha-dashboard.json');

const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'inf', 'nan']);

/** The metric names a PromQL expression selects (not functions, labels, strings, durations or variables). */
export function metricNames(expr: string): string[] {
  const s = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\boffset\s+-?\w+/g, ' ');
  const names = new Set<string>();
  for (const m of s.matchAll(/\d+(?:\.\d+)?(?:e[+-]?\d+)?|[A-Za-z_:][A-Za-z0-9_:]*/gi)) {
    const word = m[0];
    if (/^\d/.test(word) || KEYWORDS.has(word.toLowerCase())) continue;
    if (
      s
        .slice((m.index ?? 0) + word.length)
        .trimStart()
        .startsWith('(')
    )
      continue; // a function or aggregation
    names.add(word);
  }
  return [...names];
}

/** Every series name the registry can expose: from the /metrics text, histogram and summary suffixes added. */
async function exportedNames(): Promise<Set<string>> {
  const hub = new ManagementHub(new FakeNode('a', 'primary', 3, 'b'));
  try {
    const { body } = await hub.renderMetrics();
    const names = new Set<string>();
    for (const line of body.split('\n')) {
      const type = /^# TYPE (\S+) (\S+)$/.exec(line);
      if (type !== null) {
        const [, name = '', kind] = type;
        names.add(name);
        if (kind === 'histogram') for (const s of ['_bucket', '_count', '_sum']) names.add(name + s);
        if (kind === 'summary') for (const s of ['_count', '_sum']) names.add(name + s);
      } else if (line !== '' && !line.startsWith('#')) names.add(line.split(/[{ ]/)[0] ?? '');
    }
    return names;
  } finally {
    hub.close();
  }
}

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type?: string; uid?: string };
  targets?: Array<{ expr?: string }>;
  panels?: Panel[];
}

describe('metric names in PromQL', () => {
  it('finds metrics, not functions, labels, keywords, numbers or variables', () => {
    assert.deepEqual(
      metricNames(
        'sum by (pair) (sipha_role{role="primary"}) > 1e3 or sum(increase(sipha_alarms_total{alarm="x"}[5m])) by (pair) > 0',
      ),
      ['sipha_role', 'sipha_alarms_total'],
    );
    assert.deepEqual(
      metricNames(
        'histogram_quantile(0.99, sum by (le) (rate(a_bucket{job=~"$job"}[$__rate_interval]))) / on (instance) group_left (x) b offset 5m and bool c',
      ),
      ['a_bucket', 'b', 'c'],
    );
  });
});

describe('contrib/prometheus/sipha-alerts.yml', () => {
  const doc = parse(readFileSync(RULES, 'utf8')) as { groups: Array<{ name: string; rules: Rule[] }> };
  const rules = doc.groups.flatMap((g) => g.rules);

  it('uses only metrics sipha exports', async () => {
    const known = await exportedNames();
    assert.ok(known.has('sipha_role') && known.has('sipha_vip_command_duration_seconds_count'));
    for (const r of rules) {
      const names = metricNames(r.expr);
      assert.ok(
        names.some((n) => n.startsWith('sipha_')),
        `${r.alert}: no sipha metric in ${r.expr}`,
      );
      for (const n of names) assert.ok(known.has(n), `${r.alert}: ${n} is not exported by sipha`);
    }
  });

  it('has the alerts operators expect, each with a severity, a summary and a description', () => {
    const alerts = rules.map((r) => r.alert);
    for (const a of [
      'SiphaPeerDead',
      'SiphaDualPrimary',
      'SiphaNoPrimary',
      'SiphaBackupNotSynced',
      'SiphaVipCommandFailures',
      'SiphaVipAnnouncementFailures',
      'SiphaOverloadShedding',
      'SiphaReplicationLagHigh',
      'SiphaNodeUnhealthy',
      'SiphaWorkerRestarts',
      'SiphaTlsHandshakeFailuresRising',
      'SiphaAlarmsActive',
    ])
      assert.ok(alerts.includes(a), `${a} missing`);
    assert.equal(new Set(alerts).size, alerts.length, 'alert names are unique');
    for (const r of rules) {
      assert.match(r.labels?.severity ?? '', /^(critical|warning|info)$/, `${r.alert}: severity`);
      assert.ok((r.annotations?.summary ?? '') !== '', `${r.alert}: summary`);
      assert.ok((r.annotations?.description ?? '') !== '', `${r.alert}: description`);
    }
  });

  it('passes promtool check rules', { skip: skipWithout('promtool') }, () => {
    const out = execFileSync('promtool', ['check', 'rules', RULES], { encoding: 'utf8' });
    assert.match(out, new RegExp(`SUCCESS: ${rules.length} rules found`));
  });

  it('fires as its promtool unit tests say (dual primary, no primary, backup not synced, peer dead)', {
    skip: skipWithout('promtool'),
  }, () => {
    // Throws (non-zero exit) on a failed case; the output says which.
    const out = execFileSync('promtool', ['test', 'rules', 'sipha-alerts.test.yml'], {
      cwd: dirname(RULES),
      encoding: 'utf8',
    });
    assert.match(out, /SUCCESS/);
  });
});

describe('contrib/grafana/sipha-dashboard.json', () => {
  const dash = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as {
    schemaVersion: number;
    uid: string;
    panels: Panel[];
    templating: { list: Array<{ name: string; type: string; query: unknown }> };
  };
  const panels = dash.panels.flatMap((p) => [p, ...(p.panels ?? [])]);

  it('has unique panel ids, a prometheus datasource variable and job/instance variables', () => {
    assert.ok(dash.schemaVersion >= 36, `schemaVersion ${dash.schemaVersion}`);
    const ids = panels.map((p) => p.id);
    assert.ok(ids.every((id) => Number.isInteger(id)));
    assert.equal(new Set(ids).size, ids.length, 'panel ids are unique');
    const vars = new Map(dash.templating.list.map((v) => [v.name, v]));
    assert.deepEqual(
      [vars.get('datasource')?.type, vars.get('datasource')?.query],
      ['datasource', 'prometheus'],
    );
    assert.equal(vars.get('job')?.type, 'query');
    assert.equal(vars.get('instance')?.type, 'query');
    // Grafana's variable reference, not a template literal.
    const uid = `$${'{datasource}'}`;
    for (const p of panels)
      if (p.type !== 'row') assert.equal(p.datasource?.uid, uid, `${p.title}: datasource`);
  });

  it('queries only metrics sipha exports', async () => {
    const known = await exportedNames();
    const exprs = panels.flatMap((p) => (p.targets ?? []).map((t) => [p.title, t.expr ?? ''] as const));
    assert.ok(exprs.length > 20);
    for (const [title, expr] of exprs) {
      const names = metricNames(expr);
      assert.ok(names.length > 0, `${title}: no metric in ${expr}`);
      for (const n of names) assert.ok(known.has(n), `${title}: ${n} is not exported by sipha`);
    }
    for (const m of [
      'sipha_role',
      'sipha_term',
      'sipha_peer_alive',
      'sipha_vip_held',
      'sipha_healthy',
      'sipha_replication_synced',
      'sipha_replication_lag_seconds',
      'sipha_sip_requests_total',
      'sipha_sip_responses_total',
      'sipha_registrations',
      'sipha_calls',
      'sipha_sip_transactions_active',
      'sipha_sip_overload_active',
      'sipha_sip_connections',
      'sipha_tls_handshakes_total',
      'sipha_sip_flows',
      'sipha_vip_command_duration_seconds_bucket',
      'sipha_alarms_active',
    ])
      assert.ok(
        exprs.some(([, e]) => metricNames(e).includes(m)),
        `no panel shows ${m}`,
      );
  });
});

describe('sipha_build_info', () => {
  it('carries the version of the package.json above the module, wherever it is installed', async () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    assert.equal(packageVersion(), pkg.version);
    assert.equal(packageVersion('/'), 'unknown');
    const hub = new ManagementHub(new FakeNode('a', 'primary', 3, 'b'));
    try {
      const { body } = await hub.renderMetrics();
      assert.ok(
        body.includes(`sipha_build_info{version="${pkg.version}",node_version="${process.version}"} 1`),
        body.split('\n').filter((l) => l.startsWith('sipha_build_info'))[0],
      );
    } finally {
      hub.close();
    }
  });
});
