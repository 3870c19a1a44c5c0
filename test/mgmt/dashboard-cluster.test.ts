// The dashboard's cluster card in real Chromium, against the management API of a scripted node in cluster mode:
// hidden without cluster mode, then etcd, the permit (held, then lapsed under failsafe) and every pair of the
// domain with the node holding its permit.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { chromium } from 'playwright-core';
import type { ClusterNodeStatus } from '../../src/ha/status.js';
import { ManagementServer } from '../../src/mgmt/server.js';
import { CHROMIUM, QUIET_CHROMIUM_ARGS } from '../helpers/chromium.js';
import { freePort } from '../helpers/ports.js';
import { FakeNode } from './fake-node.js';

const TOKEN = 'unit-token-0123456789abcdef';
const SKIP = existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed (apt-get install chromium)`;

const CLUSTER: ClusterNodeStatus = {
  pairId: 'p1',
  failsafe: true,
  quorum: { etcd: 'reachable', permit: 'held', fence: 42 },
  etcd: {
    etcd: 'reachable',
    lease: '7',
    validForMs: 740,
    permit: 'held',
    fence: 42,
    holder: 'a',
    renewRttMs: 3,
    lastError: undefined,
    pairs: [
      { pair: 'p1', target: '198.51.100.10:5060', holder: 'a' },
      { pair: 'p2', target: '198.51.100.20:5060', holder: 'b2' },
      { pair: 'p3', target: '198.51.100.30:5060', holder: undefined },
    ],
  },
};

describe('dashboard: the cluster card', { skip: SKIP, timeout: 60_000 }, () => {
  let node: FakeNode;
  let server: ManagementServer;
  let dir: string;

  before(async () => {
    node = new FakeNode('a', 'primary', 3, 'b');
    server = new ManagementServer({
      listen: `127.0.0.1:${await freePort()}`,
      token: TOKEN,
      node,
      log: pino({ level: 'silent' }),
    });
    await server.start();
    dir = await mkdtemp(join(tmpdir(), 'sipha-chromium-'));
  });
  after(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('is hidden without cluster mode, and shows etcd, the permit and every pair with its holder in it', async () => {
    const browser = await chromium.launchPersistentContext(dir, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', ...QUIET_CHROMIUM_ARGS],
    });
    try {
      const page = await browser.newPage();
      await page.goto(`http://127.0.0.1:${server.port}/`);
      await page.fill('#token', TOKEN);
      await page.click('#loginform button');
      await page.waitForSelector('#n-self .badge.r-primary');
      assert.equal(await page.isVisible('#cluster'), false, 'no cluster card without cluster mode');

      node.st = { ...node.st, cluster: CLUSTER };
      node.setRole('primary', 4); // an event: the page fetches the status again
      await page.waitForSelector('#cluster:not([hidden])', { timeout: 10_000 });
      const kv = (await page.textContent('#clusterkv')) ?? '';
      assert.match(kv, /etcdreachable, renewal 3 ms, lease 740 ms left/);
      assert.match(kv, /permitheld \(fence 42\)/);
      const rows = await page.$$eval('#pairs tr', (trs) =>
        trs.slice(1).map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)),
      );
      assert.deepEqual(rows, [
        ['p1 (this pair)', 'a', '198.51.100.10:5060'],
        ['p2', 'b2', '198.51.100.20:5060'],
        ['p3', 'none', '198.51.100.30:5060'],
      ]);

      node.st = {
        ...node.st,
        cluster: { ...CLUSTER, quorum: { etcd: 'unreachable', permit: 'lapsed', fence: 42 } },
      };
      node.setRole('primary', 5);
      await page.waitForSelector('#clusterkv dd.warn:has-text("lapsed: serving under failsafe")', {
        timeout: 10_000,
      });
    } finally {
      await browser.close();
    }
  });
});
