// The etcd the cluster mode runs on: three real members on loopback, one killed, the rest still serve.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Etcd3 } from 'etcd3';
import type { EtcdCluster } from '../../src/lab/etcd-cluster.js';
import { startLoopbackEtcd } from '../helpers/etcd.js';

let cluster: EtcdCluster;
let client: Etcd3;

before(async () => {
  cluster = await startLoopbackEtcd(3);
  client = new Etcd3({ hosts: cluster.endpoints(), dialTimeout: 1000 });
});
after(async () => {
  client?.close();
  await cluster?.destroy();
});

test('a three-member etcd on loopback keeps serving with one member killed', async () => {
  await client.put('/t/a').value('1');
  assert.equal(await client.get('/t/a').string(), '1');
  await cluster.stopMember('m1', 'SIGKILL');
  assert.equal(cluster.running('m1'), false);
  await cluster.waitHealthy(2);
  await client.put('/t/b').value('2');
  assert.equal(await client.get('/t/b').string(), '2');
  cluster.startMember('m1');
  await cluster.waitHealthy(3);
});
