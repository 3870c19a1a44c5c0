// `sipha start` (standalone) with a `cluster` section, as a process against a real etcd: it publishes its pair
// and its users' entries, revokes its lease when stopped (a standalone server is its whole pair), and a password
// file it cannot read is a config error naming the key.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Etcd3 } from 'etcd3';
import { aorKey, pairKey } from '../../src/cluster/keys.js';
import type { EtcdCluster } from '../../src/lab/etcd-cluster.js';
import { startLoopbackEtcd } from '../helpers/etcd.js';
import { freePort } from '../helpers/ports.js';
import { UdpPeer } from '../helpers/sip-peer.js';
import { startSipha } from '../helpers/sipha-process.js';

const DOMAIN = 'example.test';

async function eventually(what: string, cond: () => Promise<boolean>, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('sipha start with a cluster section (real etcd)', { timeout: 60_000 }, () => {
  let etcd: EtcdCluster;
  let client: Etcd3;
  before(async () => {
    etcd = await startLoopbackEtcd(1);
    client = new Etcd3({ hosts: etcd.endpoints() });
  });
  after(async () => {
    client?.close();
    await etcd?.destroy();
  });

  const yaml = (port: number, extra: string[] = []) =>
    [
      'sip:',
      `  listen: [udp://127.0.0.1:${port}]`,
      `  domain: ${DOMAIN}`,
      '  warm_up: false',
      'cluster:',
      `  etcd: [${etcd.endpoints().join(', ')}]`,
      '  pair_id: solo',
      '  pair_lease_ttl_s: 30',
      ...extra,
      'log: { level: info }',
    ].join('\n');

  it('publishes its pair and a registered user, and takes them away on stop (lease revoked)', async () => {
    const port = await freePort();
    const sipha = await startSipha(yaml(port));
    const phone = await UdpPeer.open();
    try {
      await eventually(
        'the pair key',
        async () => (await client.get(pairKey('/sipha', DOMAIN, 'solo')).string()) !== null,
      );
      assert.deepEqual(JSON.parse((await client.get(pairKey('/sipha', DOMAIN, 'solo')).string()) ?? ''), {
        target: `127.0.0.1:${port}`,
      });
      await phone.send(
        [
          `REGISTER sip:${DOMAIN} SIP/2.0`,
          `Via: SIP/2.0/UDP 127.0.0.1:${phone.port};branch=z9hG4bKsolo1;rport`,
          'Max-Forwards: 70',
          `From: <sip:ann@${DOMAIN}>;tag=1`,
          `To: <sip:ann@${DOMAIN}>`,
          'Call-ID: solo-reg',
          'CSeq: 1 REGISTER',
          `Contact: <sip:ann@127.0.0.1:${phone.port}>`,
          'Expires: 600',
          'Content-Length: 0',
          '',
          '',
        ].join('\r\n'),
        port,
      );
      assert.equal((await phone.nextResponse()).status, 200);
      const key = aorKey('/sipha', DOMAIN, `ann@${DOMAIN}`);
      await eventually('ann published', async () => (await client.get(key).string()) !== null);
      const entry = JSON.parse((await client.get(key).string()) ?? '') as {
        pair: string;
        target: string;
        at: number;
      };
      assert.equal(entry.pair, 'solo');
      assert.equal(entry.target, `127.0.0.1:${port}`);
      assert.ok(Math.abs(entry.at - Date.now()) < 10_000, `at ${entry.at} is a wall-clock time`);
      assert.equal(await sipha.stop('SIGTERM'), 0);
      // Gone at once, not after the 30 s TTL.
      assert.equal(await client.get(key).string(), null);
      assert.equal(await client.get(pairKey('/sipha', DOMAIN, 'solo')).string(), null);
    } finally {
      phone.close();
      await sipha.stop();
    }
  });

  it('a password file it cannot read is a config error naming cluster.auth.password_file (exit 2)', async () => {
    const port = await freePort();
    await assert.rejects(
      startSipha(yaml(port, ['  auth: { user: sipha, password_file: missing-password }'])),
      (err: Error) => {
        assert.match(err.message, /exited with 2/);
        assert.match(err.message, /cluster\.auth\.password_file/);
        return true;
      },
    );
  });
});
