// The node over a pool of SIP workers (`sip.workers` > 1), on a fake clock with a pool in memory: one worker lost
// is a warning alarm (sip-worker-down) that names it and counts the ready ones, not a fault of the node; it is
// cleared when every worker is back; a stall names its worker; no worker ready is the node's fault as before.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { configSchema } from '../../src/config/schema.js';
import { HaNode } from '../../src/ha/node.js';
import type { WorkerMemberStatus } from '../../src/ha/status.js';
import type { WorkerEvents, WorkerPort } from '../../src/ha/worker-supervisor.js';
import { FakeClock } from '../../src/time/clock.js';
import type { VipDriver } from '../../src/vip/driver.js';

const vip = {
  name: 'script',
  announcing: false,
  enable: async () => ({ operation: 'enable', changed: true, durationMs: 1 }),
  disable: async () => ({ operation: 'disable', changed: false, durationMs: 1 }),
  isPresent: async () => ({ present: false, flags: [], durationMs: 1 }),
  announce: async () => ({ mode: 'sent', count: 1, durationMs: 1 }),
  cancelAnnouncements() {},
} as unknown as VipDriver;

describe('the node over a pool of SIP workers', () => {
  it('raises sip-worker-down for one worker lost, clears it when all are back, faults only with none', async () => {
    const clock = new FakeClock(0);
    let events: WorkerEvents | undefined;
    const workers: WorkerMemberStatus[] = [0, 1, 2].map((index) => ({
      index,
      pid: 100 + index,
      ready: false,
      restarts: 0,
      lastPongAgoMs: 0,
      loopLagMs: 0,
    }));
    const port = (e: WorkerEvents): WorkerPort => {
      events = e;
      return {
        start: () => {},
        stop: async () => {},
        send: () => true,
        drain: async () => ({ ok: true, detail: 'drained' }),
        get ready() {
          return workers[0]?.ready === true;
        },
        status: () => ({
          pid: 100,
          ready: workers[0]?.ready === true,
          restarts: 0,
          lastPongAgoMs: 0,
          loopLagMs: 0,
          workers: workers.map((w) => ({ ...w })),
        }),
      };
    };
    const node = new HaNode({
      config: configSchema.parse({
        node: { id: 'a', priority: 100, state_dir: '/nonexistent' },
        sip: { listen: ['udp://127.0.0.1:5060'], workers: 3 },
        vip: { address: '198.51.100.10/24', interface: 'eth0' },
        ha: { listen: ['127.0.0.1:7400'], peer: ['127.0.0.1:7401'], key_file: 'unused' },
        monitoring: { sip_traffic: { enabled: true }, nic: { enabled: false } },
      }),
      key: Buffer.alloc(32),
      vip,
      terms: { load: async () => 0, save: async () => {} },
      log: pino({ level: 'silent' }),
      worker: port,
      link: () => ({
        start: async () => {},
        close: async () => {},
        send: () => {},
        status: () => ({
          peerId: 'b',
          paths: [],
          rejected: { forged: 0, replayed: 0, stale: 0, malformed: 0 },
        }),
      }),
      probe: async () => true,
      clock,
      wallNow: () => clock.now(),
    });
    await node.start();
    const e = events as WorkerEvents;
    const active = () => node.status().activeAlarms.map((a) => `${a.alarm}: ${a.detail}`);
    const health = () => node.status().monitoring?.health.worker;

    // A worker lost while the pool starts is cleared when all are ready.
    e.onWorkerDown?.(1, 'worker not ready after 15000 ms');
    assert.deepEqual(active(), [
      'sip-worker-down: SIP worker 1 down (worker not ready after 15000 ms); 0/3 SIP workers ready',
    ]);
    for (const w of workers) w.ready = true;
    e.onReady([]);
    assert.deepEqual(active(), []);
    assert.deepEqual(health(), { ok: true, reason: '3/3 SIP workers ready' });

    (workers[2] as WorkerMemberStatus).ready = false;
    e.onWorkerDown?.(2, 'worker exited (SIGKILL)');
    assert.deepEqual(active(), [
      'sip-worker-down: SIP worker 2 down (worker exited (SIGKILL)); 2/3 SIP workers ready',
    ]);
    assert.equal(node.status().activeAlarms[0]?.severity, 'warning');
    assert.deepEqual(health(), { ok: true, reason: '2/3 SIP workers ready' });
    assert.notEqual(node.role, 'fault');

    e.onStall({ type: 'raise', lagMs: 700 }, 1);
    assert.ok(active().includes('worker-stall: SIP worker 1 event loop stalled for 700 ms'), `${active()}`);
    e.onStall({ type: 'clear', worstMs: 700 }, 1);

    (workers[2] as WorkerMemberStatus).ready = true;
    e.onWorkerUp?.(2);
    assert.deepEqual(active(), []);
    assert.deepEqual(health(), { ok: true, reason: '3/3 SIP workers ready' });

    for (const w of workers) w.ready = false;
    e.onFailed('no SIP worker ready (worker 0: worker exited (SIGKILL))');
    assert.deepEqual(health(), {
      ok: false,
      reason: 'no SIP worker ready (worker 0: worker exited (SIGKILL))',
    });
    assert.equal(node.status().healthy, false);

    const stopped = node.stop();
    for (let i = 0; i < 200; i++) {
      clock.advance(5);
      await new Promise((r) => setImmediate(r));
    }
    await stopped;
  });
});
