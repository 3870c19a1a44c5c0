// How a node tells each of its SIP workers who it is (several workers, `sip.workers`): environment variables set
// at fork. Absent: the single-worker case (or a standalone server in one process).

export const WORKER_INDEX_ENV = 'SIPHA_WORKER_INDEX';
export const WORKER_COUNT_ENV = 'SIPHA_WORKER_COUNT';
/** The node's private directory (mode 0700) where the workers' sibling sockets live. */
export const WORKER_MESH_ENV = 'SIPHA_WORKER_MESH';

export interface WorkerIdentity {
  index: number;
  count: number;
  meshDir: string;
}

export function workerIdentity(env: NodeJS.ProcessEnv): WorkerIdentity | undefined {
  const index = Number(env[WORKER_INDEX_ENV]);
  const count = Number(env[WORKER_COUNT_ENV]);
  const meshDir = env[WORKER_MESH_ENV];
  if (meshDir === undefined || meshDir === '') return undefined;
  if (!Number.isInteger(index) || !Number.isInteger(count) || count < 1 || index < 0 || index >= count)
    return undefined;
  return { index, count, meshDir };
}
