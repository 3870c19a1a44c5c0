// A SIP worker's identity in its pool (`sip.workers` > 1), read from the environment the pool gives it: none set
// is the single worker of today; a half or wrong identity is refused rather than guessed.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  WORKER_COUNT_ENV,
  WORKER_INDEX_ENV,
  WORKER_MESH_ENV,
  workerEnv,
  workerIdentity,
} from '../../src/ha/worker-env.js';

describe('worker identity', () => {
  it('is undefined for the single worker (nothing set)', () => {
    assert.equal(workerIdentity({ PATH: '/bin' }), undefined);
  });

  it('reads what the pool sets', () => {
    const env = workerEnv(2, 4, '/tmp/sipha-workers-x');
    assert.deepEqual(Object.keys(env).sort(), [WORKER_COUNT_ENV, WORKER_INDEX_ENV, WORKER_MESH_ENV].sort());
    assert.deepEqual(workerIdentity(env), { index: 2, count: 4, meshDir: '/tmp/sipha-workers-x' });
  });

  it('refuses a partial or impossible identity', () => {
    assert.throws(() => workerIdentity({ [WORKER_INDEX_ENV]: '0' }), /bad SIP worker identity/);
    assert.throws(() => workerIdentity(workerEnv(4, 4, '/m')), /bad SIP worker identity/);
    assert.throws(() => workerIdentity({ ...workerEnv(0, 2, '/m'), [WORKER_INDEX_ENV]: 'x' }), /identity/);
  });
});
