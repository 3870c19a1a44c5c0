// `npm run demo` / `sipha lab demo`: the deployment guide at work on one machine. A two-NIC lab, two sipha nodes,
// SIPp phones on host C registering and calling through the VIP; the primary's node is killed (-9), the backup
// takes over, the old primary comes back as backup, and an operator switches back by hand. A live status line while
// it runs; at the end a timeline per switchover and the calls and registrations lost. Everything is torn down.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { errorMessage } from '../net/errors.js';
import { crashNode, switchover } from './faults.js';
import { PairFixture } from './fixture.js';
import type { Host } from './pair.js';
import { clientSipp, type SippRun, writeInjection } from './sipp.js';
import type { HaStatus, Timeline } from './status.js';

const USERS = 200;
const CALL_RATE = 10;
const CALL_HOLD_MS = 2000;
const CALLS = 300;
/** The node is killed; it releases any VIP itself when it starts again (safe start). */
const crash = crashNode();

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

  let fx: PairFixture | undefined;
  const runs: SippRun[] = [];
  let statusLoop: Promise<void> | undefined;
  let running = true;
  let failed = false;
  try {
    say('building the lab: hosts A, B (SIP + management NICs), client C, gateway G; VIP 198.51.100.10');
    fx = await PairFixture.open({
      logLevel: 'warn',
      settleTimeoutMs: 30_000,
      say: (line) => out.write(`${line}\n`),
    });
    const { lab, pair } = fx;
    say('pair up: A primary (holds the VIP), B hot backup');

    const users = writeInjection(
      join(pair.dir, 'users.csv'),
      Array.from({ length: USERS }, (_, i) => `user${i};5999`),
    );
    /** One SIPp transaction per registered user, through the VIP, from C. */
    const forEveryUser = (scenario: string, port: number) =>
      clientSipp(lab, { scenario, port, inf: users, calls: USERS, rate: 200 }).result;
    const callee = writeInjection(join(pair.dir, 'callee.csv'), ['bob;5070']);

    const uas = clientSipp(lab, { uas: true, scenario: 'uas-call.xml', port: 5070, timeoutS: 300 }, 300_000);
    runs.push(uas);
    const regBob = await clientSipp(lab, { scenario: 'register.xml', port: 5061, inf: callee, calls: 1 })
      .result;
    const regs = await forEveryUser('register.xml', 5062);
    if (regBob.successful !== 1 || regs.successful !== USERS)
      throw new Error('registration through the VIP failed');
    say(`registered bob (a SIPp phone on C:5070) and ${USERS} users through the VIP`);

    const calls = clientSipp(
      lab,
      {
        scenario: 'uac-call.xml',
        service: 'bob',
        port: 5080,
        rate: CALL_RATE,
        calls: CALLS,
        holdMs: CALL_HOLD_MS,
        limit: 100,
      },
      120_000,
    );
    runs.push(calls);
    say(`calling bob through the VIP: ${CALL_RATE} calls/s, each held ${CALL_HOLD_MS / 1000} s`);

    const latest: Partial<Record<Host, HaStatus | undefined>> = {};
    statusLoop = (async () => {
      while (running) {
        [latest.a, latest.b] = await Promise.all([pair.status('a'), pair.status('b')]);
        out.write(`\r\x1b[K${elapsed()} ${statusLine(latest)}`);
        await sleep(500);
      }
    })();

    await sleep(8000);
    say('kill -9 of the node on A (the primary): its SIP worker follows it');
    const { at: killedAt } = await crash.inject(pair, 'a');
    if (!(await pair.waitRole('b', 'primary', 10_000))) throw new Error('B did not take over');
    say('B is primary');
    await sleep(3000);
    say('A starts again: it releases any VIP first (safe start) and rejoins as backup');
    await crash.heal(pair, 'a');
    if (!(await pair.waitRole('a', 'backup', 20_000))) throw new Error('A did not rejoin as backup');
    await sleep(4000);
    say(
      'operator: sipha switchover (on A) — B resigns explicitly, A takes over without waiting for a timeout',
    );
    const { at: switchedAt, detail } = await switchover().inject(pair, 'a');
    say(detail);

    const callResult = await calls.result;
    running = false;
    await statusLoop;
    const query = await forEveryUser('register-query.xml', 5063);
    uas.kill();
    await uas.result;

    const [statusA, statusB] = await Promise.all([pair.status('a'), pair.status('b')]);
    out.write('\r\x1b[K\n');
    out.write('Switchover timelines (ms after the fault or the operator command):\n');
    const promotions = [...(statusA?.timelines ?? []), ...(statusB?.timelines ?? [])]
      .filter((t) => t.kind === 'promote' && t.detectedAt >= killedAt - 1000)
      .sort((x, y) => x.detectedAt - y.detectedAt);
    for (const t of promotions)
      out.write(formatTimeline(t, t.detectedAt < switchedAt ? killedAt : switchedAt));
    const holders = await pair.holders();
    out.write('\nResult\n');
    out.write(
      `  calls:         ${callResult.successful} completed, ${callResult.failed} failed (of ${CALLS})\n`,
    );
    out.write(
      `  registrations: ${query.successful} of ${USERS} still registered after both switchovers, ${USERS - query.successful} lost\n`,
    );
    out.write(`  VIP holder:    ${holders.join(', ') || 'none'}\n`);
    failed = callResult.failed > 0 || query.successful !== USERS || holders.join() !== 'a';
    out.write(`  ${failed ? 'something was lost: see the node logs' : 'nothing lost'}\n`);
  } catch (err) {
    failed = true;
    out.write(`\n${elapsed()} demo failed: ${errorMessage(err)}\n`);
  } finally {
    running = false;
    await statusLoop?.catch(() => {});
    for (const r of runs) r.kill();
    if (failed) fx?.fail();
    await fx?.close();
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
