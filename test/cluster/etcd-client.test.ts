import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { etcdOptions } from '../../src/cluster/etcd-client.js';
import { ConfigError, parseConfigText } from '../../src/config/load.js';
import { clusterSchema } from '../../src/config/schema.js';

describe('etcd client options from the cluster config', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sipha-etcd-opts-'));
    await writeFile(join(dir, 'ca.pem'), 'CA');
    await writeFile(join(dir, 'pw'), 'secret\n', { mode: 0o600 });
    await writeFile(join(dir, 'pw-open'), 'secret\n', { mode: 0o644 });
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const resolvePath = (p: string) => join(dir, p);

  it('takes hosts and the dial timeout, reads the CA and the password', async () => {
    const cluster = clusterSchema.parse({
      etcd: ['https://10.0.0.1:2379/', 'https://10.0.0.2:2379'],
      pair_id: 'p1',
      request_timeout_ms: 700,
      tls: { ca_file: 'ca.pem' },
      auth: { user: 'sipha', password_file: 'pw' },
    });
    const o = await etcdOptions({ cluster, resolvePath });
    assert.deepEqual(o.hosts, ['https://10.0.0.1:2379', 'https://10.0.0.2:2379']);
    assert.equal(o.dialTimeout, 700);
    assert.equal(o.credentials?.rootCertificate.toString(), 'CA');
    assert.deepEqual(o.auth, { username: 'sipha', password: 'secret' });
  });

  it('a password file readable by others is a config error (chmod 600)', async () => {
    const cluster = clusterSchema.parse({
      etcd: ['http://10.0.0.1:2379'],
      pair_id: 'p1',
      auth: { user: 'sipha', password_file: 'pw-open' },
    });
    await assert.rejects(
      etcdOptions({ cluster, resolvePath, configFile: '/etc/sipha.yaml' }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.equal(err.key, 'cluster.auth.password_file');
        assert.match(err.message, /must not be accessible by others \(chmod 600\)/);
        return true;
      },
    );
  });

  it('the schema: an https endpoint needs tls.ca_file; cluster needs sip.domain; pair_id is a name', () => {
    const https = clusterSchema.safeParse({ etcd: ['https://10.0.0.1:2379'], pair_id: 'p1' });
    assert.equal(https.success, false);
    assert.deepEqual(https.error?.issues[0]?.path, ['tls']);
    assert.equal(clusterSchema.safeParse({ etcd: ['10.0.0.1:2379'], pair_id: 'p1' }).success, false);
    assert.equal(clusterSchema.safeParse({ etcd: ['http://10.0.0.1:2379'], pair_id: 'p 1' }).success, false);
    assert.throws(
      () =>
        parseConfigText(
          'sip: { listen: ["udp://127.0.0.1:5060"] }\ncluster: { etcd: ["http://10.0.0.1:2379"], pair_id: p1 }\n',
          'sipha.yaml',
        ),
      /sipha\.yaml: sip\.domain: cluster needs sip\.domain/,
    );
  });

  it('a file it cannot read is a config error naming its key', async () => {
    const cluster = clusterSchema.parse({
      etcd: ['http://10.0.0.1:2379'],
      pair_id: 'p1',
      auth: { user: 'sipha', password_file: 'missing' },
    });
    await assert.rejects(
      etcdOptions({ cluster, resolvePath, configFile: '/etc/sipha.yaml' }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.equal(err.key, 'cluster.auth.password_file');
        assert.match(err.message, /^\/etc\/sipha\.yaml: cluster\.auth\.password_file: cannot read missing/);
        return true;
      },
    );
  });
});
