// Who a SIP worker is among its siblings (`sip.workers` > 1): the pool that forks the workers sets these variables
// and the worker reads them here. None set: the worker is the only one (the single-worker case of today).
export const WORKER_INDEX_ENV = 'SIPHA_WORKER_INDEX';
export const WORKER_COUNT_ENV = 'SIPHA_WORKER_COUNT';
/** A private directory (mode 0700) the pool creates and removes; the workers put their Unix sockets there. */
export const WORKER_MESH_ENV = 'SIPHA_WORKER_MESH';

export interface WorkerIdentity {
  /** 0..count-1; worker 0 keeps the state (every worker's registrations and calls) and the replication. */
  index: number;
  count: number;
  meshDir: string;
}

/** The worker's identity from its environment; undefined when it runs alone (none of the variables set). */
export function workerIdentity(env: NodeJS.ProcessEnv = process.env): WorkerIdentity | undefined {
  const index = env[WORKER_INDEX_ENV];
  const count = env[WORKER_COUNT_ENV];
  const meshDir = env[WORKER_MESH_ENV];
  if (index === undefined && count === undefined && meshDir === undefined) return undefined;
  const i = Number(index);
  const n = Number(count);
  if (!Number.isInteger(n) || n < 1 || !Number.isInteger(i) || i < 0 || i >= n || !meshDir)
    throw new Error(
      `bad SIP worker identity: ${WORKER_INDEX_ENV}=${index} ${WORKER_COUNT_ENV}=${count} ${WORKER_MESH_ENV}=${meshDir}`,
    );
  return { index: i, count: n, meshDir };
}

/** The variables a pool gives worker `index` of `count`. */
export function workerEnv(index: number, count: number, meshDir: string): Record<string, string> {
  return {
    [WORKER_INDEX_ENV]: String(index),
    [WORKER_COUNT_ENV]: String(count),
    [WORKER_MESH_ENV]: meshDir,
  };
}
