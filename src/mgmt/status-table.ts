// `sipha status`: both nodes side by side as a table (pure formatting; the command fetches).

import type { SipCounters } from '../ha/worker-ipc.js';
import type { ManagementStatus } from './hub.js';

export interface NodeAnswer {
  url: string;
  status: ManagementStatus | null;
  error: string | null;
}

type Row = [string, ...string[]];

function ms(v: number | null | undefined): string {
  return v == null ? '—' : `${Math.round(v)} ms`;
}

function top(counts: Record<string, number>, n = 4): string {
  const e = Object.entries(counts).sort((a, b) => b[1] - a[1]);
  return e.length === 0
    ? '—'
    : e
        .slice(0, n)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ');
}

/** One column per node; with a single answer, the second column is its peer as seen from it. */
export function statusRows(answers: readonly NodeAnswer[]): Row[] {
  const cols = answers.map((a) => column(a));
  const first = answers[0]?.status;
  if (answers.length === 1 && first != null) {
    const p = first.peer;
    cols.push({
      head: `${p.id || 'peer'} (seen from ${first.node.id})`,
      role: p.status === 'alive' ? (p.role ?? '?') : `${p.status}`,
      term: String(p.term),
      vip: p.status === 'alive' && p.role === 'primary' ? 'held' : '—',
      healthy: '?',
      ready: p.ready ? 'yes' : 'no',
      peer: '',
      witnesses: '?',
      worker: '?',
      workers: '?',
      sync: '?',
      lag: '?',
      registrations: '?',
      calls: '?',
      requests: '?',
      connections: '?',
      etcd: '?',
      permit: p.fence > 0 ? `fence ${p.fence}` : '?',
      pairs: '?',
      directory: '?',
      alarms: '?',
      last: '?',
    });
  }
  const vip = first?.vip.address.split('/')[0] ?? answers.find((a) => a.status)?.status?.vip.address ?? '';
  const keys: Array<[keyof Column, string]> = [
    ['role', 'role'],
    ['term', 'term'],
    ['vip', `VIP ${vip}`],
    ['healthy', 'healthy'],
    ['ready', 'ready'],
    ['peer', 'peer link'],
    ['witnesses', 'witnesses'],
    ['worker', 'SIP worker'],
    // A pool of workers (sip.workers > 1) only.
    ...(answers.some((a) => (a.status?.worker.workers?.length ?? 0) > 1)
      ? ([['workers', 'SIP workers']] as Array<[keyof Column, string]>)
      : []),
    ['sync', 'replication'],
    ['lag', 'lag p50/p99'],
    ['registrations', 'registrations'],
    ['calls', 'calls'],
    ['requests', 'SIP requests'],
    ['connections', 'connections'],
    // Cluster mode only (README "Growing past one pair").
    ...(answers.some((a) => a.status?.cluster != null)
      ? ([
          ['etcd', 'etcd'],
          ['permit', 'pair permit'],
          ['pairs', 'cluster pairs'],
          ['directory', 'directory'],
        ] as Array<[keyof Column, string]>)
      : []),
    ['alarms', 'alarms'],
    ['last', 'last switchover'],
  ];
  return [
    ['', ...cols.map((c) => c.head)],
    ...keys.map(([k, label]): Row => [label, ...cols.map((c) => c[k])]),
  ];
}

interface Column {
  head: string;
  role: string;
  term: string;
  vip: string;
  healthy: string;
  ready: string;
  peer: string;
  witnesses: string;
  worker: string;
  workers: string;
  sync: string;
  lag: string;
  registrations: string;
  calls: string;
  requests: string;
  connections: string;
  etcd: string;
  permit: string;
  pairs: string;
  directory: string;
  alarms: string;
  last: string;
}

function column(a: NodeAnswer): Column {
  const s = a.status;
  if (s === null) {
    const dash = '—';
    return {
      head: `? (${a.url})`,
      role: `unreachable: ${a.error ?? '?'}`,
      term: dash,
      vip: dash,
      healthy: dash,
      ready: dash,
      peer: dash,
      witnesses: dash,
      worker: dash,
      workers: dash,
      sync: dash,
      lag: dash,
      registrations: dash,
      calls: dash,
      requests: dash,
      connections: dash,
      etcd: dash,
      permit: dash,
      pairs: dash,
      directory: dash,
      alarms: dash,
      last: dash,
    };
  }
  const paths = s.peer.link.paths;
  const r = s.replication;
  const last = s.timelines.at(-1);
  const active = s.activeAlarms;
  return {
    head: `${s.node.id} (${a.url.replace(/^https?:\/\//, '')})`,
    role: s.role,
    term: String(s.term),
    vip: s.role === 'primary' && s.vip.wanted ? 'held' : '—',
    healthy: s.healthy ? 'yes' : `no: ${s.healthReason}`,
    ready: s.ready ? 'yes' : 'no',
    peer: `${s.peer.id || '?'} ${s.peer.status} (${paths.filter((p) => p.alive).length}/${paths.length} paths)`,
    witnesses: s.witnesses.state,
    worker: `${s.worker.ready ? 'ready' : 'not ready'}, ${s.worker.restarts} restart(s)`,
    workers: workersCell(s),
    sync:
      r === null
        ? 'no report'
        : `${r.synced ? 'synced' : 'NOT synced'}${r.connected ? '' : ', disconnected'}`,
    lag: r === null ? '—' : `${ms(r.lagP50Ms)} / ${ms(r.lagP99Ms)}`,
    registrations: s.sip === null ? '?' : String(s.sip.bindings),
    calls: s.sip === null ? '?' : String(s.sip.dialogs),
    requests: s.sip === null ? '?' : top(s.sip.requestsByMethod),
    connections: s.sip === null ? '?' : connections(s.sip),
    ...clusterCells(s),
    alarms: active.length === 0 ? 'none' : active.map((x) => `${x.alarm} (${x.severity})`).join(', '),
    last:
      last === undefined
        ? 'none'
        : `${last.kind} (${last.cause}) ${last.oldTerm}→${last.newTerm}, ${last.durationMs ?? '?'} ms`,
  };
}

export function formatTable(rows: readonly Row[]): string {
  const widths: number[] = [];
  for (const r of rows)
    r.forEach((c, i) => {
      widths[i] = Math.max(widths[i] ?? 0, c.length);
    });
  return (
    rows
      .map((r) =>
        r
          .map((c, i) => c.padEnd(widths[i] ?? 0))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}

/** "tls 12, wss 40; 40 flows, 38 re-bound": open connections by transport, flow bindings, re-binds since start. */
function connections(c: SipCounters): string {
  const open = Object.entries(c.connectionsOpen ?? {})
    .filter(([, n]) => n > 0)
    .map(([t, n]) => `${t} ${n}`);
  return `${open.length === 0 ? 'none' : open.join(', ')}; ${c.flows ?? 0} flows, ${c.flowRebinds ?? 0} re-bound`;
}

/** "3/4 ready, 1 restart(s); down: 2": a pool's workers (one worker: its line above says it all). */
function workersCell(s: ManagementStatus): string {
  const ws = s.worker.workers;
  if (ws === undefined || ws.length < 2) return '—';
  const down = ws.filter((w) => !w.ready).map((w) => w.index);
  const restarts = ws.reduce((a, w) => a + w.restarts, 0);
  return `${ws.length - down.length}/${ws.length} ready, ${restarts} restart(s)${down.length === 0 ? '' : `; down: ${down.join(', ')}`}`;
}

/** Cluster mode's cells: this node's etcd lease and permit, the domain's pairs and the directory's copy. */
function clusterCells(s: ManagementStatus): Pick<Column, 'etcd' | 'permit' | 'pairs' | 'directory'> {
  const c = s.cluster;
  if (c == null) return { etcd: '—', permit: '—', pairs: '—', directory: '—' };
  const e = c.etcd;
  const etcd =
    c.quorum.etcd === 'reachable'
      ? `reachable (renewal ${ms(e.renewRttMs)}, lease ${ms(e.validForMs)} left)`
      : `${c.quorum.etcd}${e.lastError === undefined ? '' : `: ${e.lastError}`}`;
  const permit =
    c.quorum.permit === 'lapsed'
      ? `lapsed: serving under failsafe (fence ${c.quorum.fence})`
      : `${c.quorum.permit}${c.quorum.fence > 0 ? ` (fence ${c.quorum.fence})` : ''}`;
  const pairs =
    e.pairs.length === 0
      ? '?'
      : e.pairs
          .map((p) => `${p.pair} ${p.holder ?? 'no primary'}${p.target ? ` @ ${p.target}` : ''}`)
          .join(', ');
  const d = s.sip?.cluster;
  const directory =
    d === undefined
      ? '?'
      : `${d.entries} AoRs, ${d.pairs} pairs; ${d.writes} writes in ${d.txns} txns${d.etcdReachable ? '' : `; etcd unreachable: ${d.lastError ?? '?'}`}`;
  return { etcd, permit, pairs, directory };
}
