// The management layer in the lab (two NICs): the management API on the management subnet only, the CLI from an operator's
// host on that subnet (G), the event stream and the CTI client across a manual switchover with a call up, and
// the dashboard in real Chromium (Debian's /usr/bin/chromium) showing the switchover live.
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { chromium } from 'playwright-core';
import { ApiRelay } from '../../src/lab/api.js';
import type { Lab } from '../../src/lab/lab.js';
import { clientSipp, type SippRun, writeInjection } from '../../src/lab/sipp.js';
import { CtiClient } from '../../src/mgmt/cti-client.js';
import type { CtiEvent } from '../../src/mgmt/cti-feed.js';
import type { ManagementStatus } from '../../src/mgmt/hub.js';
import { formatHostPort } from '../../src/net/address.js';
import { CLI, type Host, type Pair, TOKEN } from '../ha/pair.js';
import { CHROMIUM, QUIET_CHROMIUM_ARGS } from '../helpers/chromium.js';
import { eventually, NEEDS_ROOT } from '../lab/helpers.js';
import { pairSuite } from '../lab/pair-suite.js';

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', ...QUIET_CHROMIUM_ARGS];

describe('management layer in the lab', { skip: NEEDS_ROOT }, () => {
  // Relaxed timers: this test is about management, not takeover speed, and must not flap on a busy machine.
  const suite = pairSuite({ logLevel: 'info', ha: { heartbeat_ms: 100, dead_after_ms: 1500 } });
  const { step } = suite;
  let lab: Lab;
  let pair: Pair;
  let uas: SippRun | undefined;
  /** The nodes' APIs as G (the operator's host on the management subnet) reaches them, on loopback ports here. */
  const relays: ApiRelay[] = [];
  const fwd: Partial<Record<Host, { url: string }>> = {};
  const mgmtUrl = (h: Host) => `http://${formatHostPort(pair.apiAddress(h))}`;

  before(async () => {
    ({ lab, pair } = suite);
    for (const h of ['a', 'b'] as const) {
      const relay = await ApiRelay.start(lab, 'g', pair.apiAddress(h), TOKEN, pair.dir);
      relays.push(relay);
      fwd[h] = { url: await relay.loopback() };
    }
    // bob answers on C.
    uas = clientSipp(
      lab,
      { uas: true, scenario: 'uas-call.xml', port: 7000, calls: 100, timeoutS: 120 },
      180_000,
    );
  });

  after(async () => {
    uas?.kill();
    for (const r of relays) await r.close();
  });

  /** A small HTTP client run on G, the operator's host on the management subnet. */
  async function fromG(url: string, token: string | null): Promise<number> {
    const script = `fetch(process.argv[1], { headers: process.argv[2] ? { authorization: 'Bearer ' + process.argv[2] } : {} })
      .then((r) => { console.log(r.status); }, (e) => { console.log('error ' + (e.cause?.code ?? e.message)); });`;
    const out = await lab.exec('g', [process.execPath, '-e', script, url, token ?? '']);
    return Number(out.stdout.trim());
  }

  const sipha = (h: Host | 'g', args: string[]) =>
    lab.exec(h, [process.execPath, CLI, ...args], { allowFailure: true });

  step(
    'the API answers on the management subnet with the token, 401 without or with a wrong one',
    async () => {
      for (const h of ['a', 'b'] as const) {
        assert.equal(await fromG(`${mgmtUrl(h)}/api/v1/status`, TOKEN), 200);
        assert.equal(await fromG(`${mgmtUrl(h)}/api/v1/status`, null), 401);
        assert.equal(await fromG(`${mgmtUrl(h)}/api/v1/status`, 'wrong-token-0123456789abcdef'), 401);
        assert.equal(await fromG(`${mgmtUrl(h)}/metrics`, null), 401);
        assert.equal(await fromG(`${mgmtUrl(h)}/metrics`, TOKEN), 200);
      }
      // Never on the VIP (nor on the SIP NIC): from the client's side there is nothing on port 8080.
      const script = `require('node:net').connect(8080, process.argv[1]).on('connect', () => { console.log('open'); process.exit(0); })
      .on('error', (e) => { console.log(e.code); process.exit(0); });`;
      for (const addr of [lab.topology.vip.ipv4, lab.nic('a').ipv4]) {
        const out = await lab.exec('c', [process.execPath, '-e', script, addr]);
        assert.notEqual(out.stdout.trim(), 'open', `management API reachable on ${addr}`);
      }
    },
  );

  step('sipha status on G: both nodes side by side; --json gives both', async () => {
    const urls = ['--url', mgmtUrl('a'), '--url', mgmtUrl('b')];
    const out = await sipha('g', ['status', '--config', pair.config('a'), ...urls]);
    assert.equal(out.exitCode, 0, out.stderr);
    process.stdout.write(`${out.stdout}`);
    assert.match(out.stdout, /^\s+a \(203\.0\.113\.11:8080\)\s+b \(203\.0\.113\.12:8080\)$/m);
    assert.match(out.stdout, /^role\s+primary\s+backup$/m);
    assert.match(out.stdout, /^VIP 198\.51\.100\.10\s+held\s+—$/m);
    assert.match(out.stdout, /^replication\s+synced\s+synced$/m);
    const json = await sipha('g', ['status', '--json', '--config', pair.config('a'), ...urls]);
    const { nodes } = JSON.parse(json.stdout) as { nodes: ManagementStatus[] };
    assert.deepEqual(
      nodes.map((n) => [n.node.id, n.role]),
      [
        ['a', 'primary'],
        ['b', 'backup'],
      ],
    );
  });

  const got: CtiEvent[] = [];
  let cti: CtiClient | undefined;
  let call: SippRun | undefined;
  const events: string[] = [];

  step('registrations and calls are listed; the CTI client sees the call ring and answer on A', async () => {
    const inf = writeInjection(join(pair.dir, 'bob.csv'), ['bob;7000']);
    const reg = await clientSipp(lab, { scenario: 'register.xml', inf, port: 7001, calls: 1 }, 20_000).result;
    assert.equal(reg.successful, 1, reg.errors);
    const regs = (await (
      await fetch(`${fwd.a?.url}/api/v1/registrations`, { headers: { authorization: `Bearer ${TOKEN}` } })
    ).json()) as { registrations: Array<{ aor: string }> };
    assert.ok(
      regs.registrations.some((r) => r.aor.includes('bob')),
      JSON.stringify(regs),
    );
    cti = new CtiClient({
      urls: [fwd.a?.url ?? '', fwd.b?.url ?? ''],
      token: TOKEN,
      onEvent: (e) => got.push(e),
      reconnectMs: 200,
    });
    cti.start();
    assert.ok(await eventually(async () => cti?.primary === 'a', 5000, 50), 'the CTI client sees A primary');
    // A call held for 20 s (time enough for the browser to start on a busy machine): it rings and is answered on A, and will end on B after the switchover.
    call = clientSipp(
      lab,
      { scenario: 'uac-call.xml', service: 'bob', holdMs: 20_000, calls: 1, port: 7002, timeoutS: 60 },
      90_000,
    );
    assert.ok(
      await eventually(async () => got.some((e) => e.event === 'answered'), 5000, 50),
      JSON.stringify(got),
    );
    const calls = (await (
      await fetch(`${fwd.a?.url}/api/v1/calls`, { headers: { authorization: `Bearer ${TOKEN}` } })
    ).json()) as { calls: Array<{ state: string; callee: string }> };
    assert.equal(calls.calls[0]?.state, 'confirmed');
  });

  step(
    'dashboard in Chromium; a switchover from the CLI appears live; events --follow and CTI follow it',
    async () => {
      // sipha events --follow on G, against B, for the whole switchover.
      const follow = lab.spawn('g', [
        process.execPath,
        CLI,
        'events',
        '--follow',
        '--config',
        pair.config('b'),
        '--url',
        mgmtUrl('b'),
      ]);
      follow.stdout?.setEncoding('utf8');
      follow.stdout?.on('data', (d: string) => events.push(...d.split('\n').filter(Boolean)));
      const userDataDir = await mkdtemp(join(tmpdir(), 'sipha-chromium-'));
      const browser = await chromium.launchPersistentContext(userDataDir, {
        executablePath: CHROMIUM,
        headless: true,
        args: CHROMIUM_ARGS,
        viewport: { width: 1280, height: 1100 },
      });
      try {
        const page = await browser.newPage();
        await page.goto(`${fwd.b?.url}/`);
        // Not signed in: only the login form.
        await page.waitForSelector('#token');
        assert.equal(await page.isVisible('#app'), false);
        await page.fill('#token', 'wrong-token-0123456789abcdef');
        await page.click('#loginform button');
        await page.waitForSelector('#loginerr:has-text("wrong token")');
        await page.fill('#token', TOKEN);
        await page.click('#loginform button');
        await page.waitForSelector('#live.ok');
        await page.waitForSelector('#n-self .badge.r-backup');
        await page.waitForSelector('#n-peer.primary');
        assert.match((await page.textContent('#pairline')) ?? '', /VIP 198\.51\.100\.10 on a/);

        const sw = await sipha('g', ['switchover', '--config', pair.config('a'), '--url', mgmtUrl('a')]);
        assert.equal(sw.exitCode, 0, sw.stdout + sw.stderr);
        // Live, without reloading: B is primary, holds the VIP, and its promotion's timeline is drawn.
        await page.waitForSelector('#n-self.primary .badge.r-primary', { timeout: 10_000 });
        await page.waitForSelector('#pairline:has-text("VIP 198.51.100.10 on b")');
        await page.waitForSelector('#timelines .tl svg rect', { timeout: 15_000 });
        await page.waitForSelector('#events div:has-text("backup → primary")');
        // Let the call end on B (BYE through the VIP), so that the counters and timeline are complete.
        const r = await call?.result;
        assert.equal(r?.successful, 1, r?.errors);
        await page.waitForSelector('#timelines .head span:text-matches("total [0-9]+ ms")', {
          timeout: 15_000,
        });
        await sleep(1500);
        // README's screenshot is refreshed only on request (SCREENSHOT=1); otherwise it goes to a temp file, so a
        // test run leaves the checkout as it found it.
        const shot =
          process.env.SCREENSHOT === '1'
            ? join(process.cwd(), 'docs', 'dashboard.png')
            : join(await mkdtemp(join(tmpdir(), 'sipha-shot-')), 'dashboard.png');
        await page.screenshot({ path: shot, fullPage: true });
        const widths = await page.$$eval('#timelines .tl:first-child svg rect', (rs) =>
          rs.map((x) => Number(x.getAttribute('width'))),
        );
        assert.ok(widths.length >= 2, `phases drawn: ${widths}`);
      } finally {
        await browser.close();
        follow.kill('SIGINT');
      }
      // The event stream saw the switchover as it happened.
      const text = events.join('\n');
      assert.match(text, /role +node b: backup → primary in term 2/);
      assert.match(text, /timeline +node b: promote \(switchover\) term 1 → 2/);
      // The CTI client followed the primary: rang and answered on A, ended on B, each event exactly once.
      assert.ok(
        await eventually(async () => got.some((e) => e.event === 'ended'), 5000, 50),
        JSON.stringify(got),
      );
      await sleep(500);
      cti?.stop();
      assert.equal(cti?.primary ?? 'b', 'b');
      const seen = got.map((e) => `${e.node}:${e.event}`);
      assert.deepEqual(seen, ['a:ringing', 'a:answered', 'b:ended'], JSON.stringify(got));
      assert.equal(new Set(got.map((e) => e.dialogId)).size, 1, 'one dialog id throughout');
      assert.equal(got[2]?.reason, 'BYE');
    },
  );
});
