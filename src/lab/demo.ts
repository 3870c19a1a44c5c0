// `npm run demo` / `sipha lab demo`: the deployment guide at work on one machine. A two-NIC lab, two sipha nodes,
// SIPp phones on host C registering and calling through the VIP; the primary's node is killed (-9), the backup
// takes over, the old primary comes back as backup, and an operator switches back by hand. A live status line while
// it runs; at the end a timeline per switchover and the calls and registrations lost. Everything is torn down.
import { spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { HaStatus } from '../ha/node.js';
import type { Timeline } from '../ha/timeline.js';
import { eventually } from './eventually.js';
import { Lab } from './lab.js';
import { type Host, Pair } from './pair.js';
import { SCENARIOS, type SippRun, sipp } from './sipp.js';

const USERS = 200;
const CALL_RATE = 10;
const CALL_HOLD_MS = 2000;
const CALLS = 300;

/** Debian packages that provide what the demo runs. */
const NEEDS: Array<[string, string]> = [
  ['ip', 'iproute2'],
  ['sipp', 'sip-tester'],
  ['perl', 'perl-base'],
  ['ping', 'iputils-ping'],
];

export async function runDemo(out: NodeJS.WriteStream = process.stdout): Promise<number> {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) {
    process.stderr.write(
      'sipha demo: runs as root on Linux (it builds network namespaces): sudo npm run demo\n',
    );
    return 1;
  }
  const missing = NEEDS.filter(([bin]) => spawnSync('sh', ['-c', `command -v ${bin}`]).status !== 0);
  if (missing.length > 0) {
    process.stderr.write(
      `sipha demo: missing programs; install: apt-get install ${missing.map(([, p]) => p).join(' ')}\n`,
    );
    return 1;
  }
  const say = (text: string) => out.write(`\r\x1b[K${elapsed()} ${text}\n`);
  const started = Date.now();
  const elapsed = () => `[${((Date.now() - started) / 1000).toFixed(1).padStart(5)} s]`;

  let lab: Lab | undefined;
  let pair: Pair | undefined;
  const runs: SippRun[] = [];
  let statusLoop: Promise<void> | undefined;
  let running = true;
  let failed = false;
  try {
    say('building the lab: hosts A, B (SIP + management NICs), client C, gateway G; VIP 198.51.100.10');
    lab = await Lab.create({ twoNic: true, ipv6: false });
    pair = await Pair.create(lab, { logLevel: 'warn' });
    const p = pair;
    const l = lab;
    p.start('a');
    p.start('b');
    if (
      !(await eventually(
        async () => (await p.status('a'))?.role === 'primary' && (await p.status('b'))?.role === 'backup',
        30_000,
        200,
      ))
    ) {
      throw new Error('the pair did not settle');
    }
    say('pair up: A primary (holds the VIP), B hot backup');

    const vip = `${l.topology.vip.ipv4}:5060`;
    const c = l.nic('c').ipv4;
    const inC = { wrap: l.wrap('c') };
    const users = join(p.dir, 'users.csv');
    await writeFile(
      users,
      `SEQUENTIAL\n${Array.from({ length: USERS }, (_, i) => `user${i};5999`).join('\n')}\n`,
    );
    /** One SIPp transaction per registered user, through the VIP, from C. */
    const forEveryUser = (scenario: string, localPort: string) =>
      sipp(
        [
          vip,
          '-sf',
          join(SCENARIOS, scenario),
          '-i',
          c,
          '-p',
          localPort,
          '-inf',
          users,
          '-m',
          String(USERS),
          '-r',
          '200',
        ],
        inC,
      ).result;
    const callee = join(p.dir, 'callee.csv');
    await writeFile(callee, 'SEQUENTIAL\nbob;5070\n');

    const uas = sipp(['-sf', join(SCENARIOS, 'uas-call.xml'), '-i', c, '-p', '5070', '-timeout', '300'], {
      ...inC,
      timeoutMs: 300_000,
    });
    runs.push(uas);
    const regBob = await sipp(
      [vip, '-sf', join(SCENARIOS, 'register.xml'), '-i', c, '-p', '5061', '-inf', callee, '-m', '1'],
      inC,
    ).result;
    const regs = await forEveryUser('register.xml', '5062');
    if (regBob.successful !== 1 || regs.successful !== USERS)
      throw new Error('registration through the VIP failed');
    say(`registered bob (a SIPp phone on C:5070) and ${USERS} users through the VIP`);

    const calls = sipp(
      [
        vip,
        '-sf',
        join(SCENARIOS, 'uac-call.xml'),
        '-s',
        'bob',
        '-i',
        c,
        '-p',
        '5080',
        '-r',
        String(CALL_RATE),
        '-m',
        String(CALLS),
        '-d',
        String(CALL_HOLD_MS),
        '-l',
        '100',
      ],
      { ...inC, timeoutMs: 120_000 },
    );
    runs.push(calls);
    say(`calling bob through the VIP: ${CALL_RATE} calls/s, each held ${CALL_HOLD_MS / 1000} s`);

    const latest: Partial<Record<Host, HaStatus | undefined>> = {};
    statusLoop = (async () => {
      while (running) {
        latest.a = await p.status('a');
        latest.b = await p.status('b');
        out.write(`\r\x1b[K${elapsed()} ${statusLine(latest)}`);
        await sleep(500);
      }
    })();

    await sleep(8000);
    const killedAt = Date.now();
    say('kill -9 of the node on A (the primary): its SIP worker follows it');
    p.signal('a', 'SIGKILL');
    if (!(await p.waitRole('b', 'primary', 10_000))) throw new Error('B did not take over');
    say('B is primary');
    await sleep(3000);
    say('A starts again: it releases any VIP first (safe start) and rejoins as backup');
    p.start('a');
    if (!(await p.waitRole('a', 'backup', 20_000))) throw new Error('A did not rejoin as backup');
    await sleep(4000);
    say(
      'operator: sipha switchover (on A) — B resigns explicitly, A takes over without waiting for a timeout',
    );
    const switchedAt = Date.now();
    const reply = await p.switchover('a');
    if (!reply.ok) throw new Error(`switchover refused: ${reply.body.detail}`);
    say(`A is primary again (term ${reply.body.term})`);

    const callResult = await calls.result;
    running = false;
    await statusLoop;
    const query = await forEveryUser('register-query.xml', '5063');
    uas.kill();
    await uas.result;

    const statusA = await p.status('a');
    const statusB = await p.status('b');
    out.write('\r\x1b[K\n');
    out.write('Switchover timelines (ms after the fault or the operator command):\n');
    const promotions = [...(statusA?.timelines ?? []), ...(statusB?.timelines ?? [])]
      .filter((t) => t.kind === 'promote' && t.detectedAt >= killedAt - 1000)
      .sort((x, y) => x.detectedAt - y.detectedAt);
    for (const t of promotions)
      out.write(formatTimeline(t, t.detectedAt < switchedAt ? killedAt : switchedAt));
    const holders = await p.holders();
    out.write('\nResult\n');
    out.write(
      `  calls:         ${callResult.successful} completed, ${callResult.failed} failed (of ${CALLS})\n`,
    );
    out.write(
      `  registrations: ${query.successful} of ${USERS} still registered after both switchovers, ${USERS - query.successful} lost\n`,
    );
    out.write(`  VIP holder:    ${holders.join(', ') || 'none'}\n`);
    failed = callResult.failed > 0 || query.successful !== USERS || holders.join() !== 'a';
    out.write(`  ${failed ? 'something was lost: see the node logs above' : 'nothing lost'}\n`);
  } catch (err) {
    failed = true;
    out.write(`\n${elapsed()} demo failed: ${err instanceof Error ? err.message : String(err)}\n`);
    if (pair !== undefined) out.write(`node logs: ${pair.dir}/{a,b}/node.log\n`);
  } finally {
    running = false;
    await statusLoop?.catch(() => {});
    for (const r of runs) r.kill();
    await pair?.stop();
    await lab?.destroy();
    await pair?.cleanup(failed);
    out.write(`${elapsed()} lab torn down\n`);
  }
  return failed ? 1 : 0;
}

function statusLine(s: Partial<Record<Host, HaStatus | undefined>>): string {
  const one = (h: Host) => {
    const st = s[h];
    if (st === undefined) return `${h.toUpperCase()}: down`;
    return `${h.toUpperCase()}: ${st.role} t${st.term}${st.vip.wanted ? ' VIP' : ''}`;
  };
  return `${one('a')} | ${one('b')}`;
}

function formatTimeline(t: Timeline, from: number): string {
  const at = (x: number | null) => (x === null ? '     —' : `${String(x - from).padStart(6)}`);
  return [
    `  ${t.cause} → ${t.node.toUpperCase()} primary, term ${t.oldTerm} → ${t.newTerm}`,
    `    detect ${at(t.detectedAt)} | VIP down ${at(t.vipRemovedAt)} | VIP up ${at(t.vipAddedAt)} | announced ${at(t.announcedAt)} | first SIP answered ${at(t.firstServedAt)}`,
    '',
  ].join('\n');
}
