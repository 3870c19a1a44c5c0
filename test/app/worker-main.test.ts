// The SIP worker process without HA: its role comes from the node over IPC, and only while primary does it report
// the registrations its own SIP handling makes (the management API's event feed) and the first request it serves.
import assert from 'node:assert/strict';
import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { NodeToWorker, WorkerToNode } from '../../src/ha/worker-ipc.js';
import { UdpPeer } from '../helpers/sip-peer.js';

const WORKER = fileURLToPath(new URL('../../src/app/worker-main.js', import.meta.url));

describe('SIP worker: role and event feed', { timeout: 30_000 }, () => {
  let dir = '';
  let worker: ChildProcess;
  let peer: UdpPeer;
  let sipPort = 0;
  const messages: WorkerToNode[] = [];
  const send = (m: NodeToWorker) => worker.send(m);

  async function next(type: WorkerToNode['type'], timeoutMs = 3000): Promise<WorkerToNode | undefined> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const at = messages.findIndex((m) => m.type === type);
      if (at !== -1) return messages.splice(at, 1)[0];
      await new Promise((r) => setTimeout(r, 10));
    }
    return undefined;
  }

  async function register(user: string): Promise<void> {
    const branch = `z9hG4bK${randomBytes(6).toString('hex')}`;
    const msg = [
      'REGISTER sip:example.test SIP/2.0',
      `Via: SIP/2.0/UDP 127.0.0.1:${peer.port};branch=${branch}`,
      'Max-Forwards: 70',
      `From: <sip:${user}@example.test>;tag=r${user}`,
      `To: <sip:${user}@example.test>`,
      `Call-ID: reg-${user}`,
      'CSeq: 1 REGISTER',
      `Contact: <sip:${user}@127.0.0.1:${peer.port}>`,
      'Expires: 600',
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n');
    await peer.send(msg, sipPort);
    const r = await peer.nextResponse((res) => res.headers.get('via')?.includes(branch) ?? false);
    assert.equal(r.status, 200, `REGISTER ${user}`);
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sipha-worker-'));
    const config = join(dir, 'sipha.yaml');
    await writeFile(
      config,
      JSON.stringify({
        node: { id: 'a', state_dir: join(dir, 'state') },
        sip: { listen: ['udp://127.0.0.1:0'], domain: 'example.test' },
        log: { level: 'warn' },
      }),
    );
    worker = fork(WORKER, ['--config', config], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    worker.on('message', (m: WorkerToNode) => messages.push(m));
    const ready = await next('ready', 10_000);
    assert.ok(ready?.type === 'ready', 'the worker is ready');
    sipPort = ready.listening[0]?.port ?? 0;
    peer = await UdpPeer.open();
  });

  after(async () => {
    peer?.close();
    if (worker?.connected) {
      const exited = new Promise((r) => worker.once('exit', r));
      send({ type: 'stop', graceMs: 0 });
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  });

  it('as backup (its first role) it reports no registration', async () => {
    await register('alice');
    assert.equal(await next('registration', 300), undefined);
  });

  it('promoted, it reports the first request it serves and each registration it adds', async () => {
    send({ type: 'role', role: 'primary' });
    await register('bob');
    const served = await next('served');
    assert.ok(served?.type === 'served');
    assert.equal(served.method, 'REGISTER');
    const added = await next('registration');
    assert.ok(added?.type === 'registration');
    assert.equal(added.change, 'added');
    assert.equal(added.aor, 'bob@example.test');
    await register('bob');
    assert.equal(await next('registration', 300), undefined, 'a refresh is no event');
  });

  it('demoted, it reports nothing again, and its listing still holds every binding', async () => {
    send({ type: 'role', role: 'backup' });
    await register('carol');
    assert.equal(await next('registration', 300), undefined);
    send({ type: 'query', id: 1, what: 'registrations', limit: 10 });
    const answer = await next('answer');
    assert.ok(answer?.type === 'answer');
    assert.equal(answer.total, 3);
  });
});
