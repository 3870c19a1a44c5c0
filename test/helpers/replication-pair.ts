// What the in-process replication tests share: a SIP server whose worker role decides whether it acts, loopback
// endpoints, and a wait on a condition. Shedding is off: a busy shared test host must not turn these tests'
// requests into 503s.

import type { Logger } from 'pino';
import type { WorkerRoleHolder } from '../../src/app/worker-role.js';
import { configSchema } from '../../src/config/schema.js';
import { adaptStores } from '../../src/ha/replication/store-adapter.js';
import {
  WorkerReplication,
  type WorkerReplicationOptions,
} from '../../src/ha/replication/worker-replication.js';
import type { HostPort } from '../../src/net/address.js';
import { SipServer } from '../../src/server/sip-server.js';
import { freePort } from './ports.js';

/** A SIP server on 127.0.0.1:port that acts (expires) while its worker role is primary, like the SIP worker's. */
export async function replicaSipServer(
  port: number,
  role: WorkerRoleHolder,
  log: Logger,
): Promise<SipServer> {
  const config = configSchema.parse({
    sip: { listen: [`udp://127.0.0.1:${port}`], domain: 'example.test', overload: { enabled: false } },
  });
  const s = new SipServer({ config, resolvePath: (p) => p, log, acting: () => role.isPrimary });
  await s.start();
  return s;
}

/** 127.0.0.1:port as a replication endpoint. */
export const loopback = (port: number): HostPort => ({ host: '127.0.0.1', port, family: 4 });

/** Waits (1 ms steps) until cond holds; returns how long it took, throws after timeoutMs. */
export async function until(cond: () => boolean, timeoutMs = 3000, what = 'condition'): Promise<number> {
  const start = performance.now();
  while (!cond()) {
    if (performance.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 1));
  }
  return performance.now() - start;
}

/**
 * Two SIP servers on loopback with replication between them (a replicates to b when a is primary, and back), both
 * started; `b` may add options of its own (e.g. onPeerConnLost).
 */
export async function replicatedPair(o: {
  key: Buffer;
  log: Logger;
  roleA: WorkerRoleHolder;
  roleB: WorkerRoleHolder;
  b?: Partial<WorkerReplicationOptions>;
}): Promise<{ a: SipServer; b: SipServer; ra: WorkerReplication; rb: WorkerReplication }> {
  const a = await replicaSipServer(await freePort(), o.roleA, o.log);
  const b = await replicaSipServer(await freePort(), o.roleB, o.log);
  const [replA, replB] = [await freePort(), await freePort()];
  const common = { key: o.key, log: o.log, tickMs: 50, idleTimeoutMs: 1000, retryMs: 50 };
  const ra = new WorkerReplication({
    ...common,
    nodeId: 'a',
    role: o.roleA,
    stores: adaptStores(a),
    listen: [loopback(replA)],
    peers: [loopback(replB)],
  });
  const rb = new WorkerReplication({
    ...common,
    nodeId: 'b',
    role: o.roleB,
    stores: adaptStores(b),
    listen: [loopback(replB)],
    peers: [loopback(replA)],
    ...o.b,
  });
  await ra.start();
  await rb.start();
  return { a, b, ra, rb };
}
