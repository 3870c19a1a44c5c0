// The worker's overload state reaches its node: the supervisor hears shedding start and stop in the pongs, once
// each (the worker's governor already holds it with hysteresis), and a worker that dies while shedding stops it,
// so the node's sip-overload alarm is cleared, not left raised by a worker that is gone.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { WorkerSupervisor } from '../../src/ha/worker-supervisor.js';

const MODULE = fileURLToPath(new URL('./overloaded-worker.js', import.meta.url));

function supervise(env: NodeJS.ProcessEnv = {}) {
  const heard: Array<[boolean, string]> = [];
  let wake = () => {};
  const sup = new WorkerSupervisor(
    {
      spec: { modulePath: MODULE, args: [], env: { ...process.env, ...env } },
      pulseMs: 20,
      deadAfterMs: 5000,
      restartMs: 60_000,
      stallMs: 500,
      log: pino({ level: 'silent' }),
    },
    {
      onReady: () => {},
      onFailed: () => {},
      onStall: () => {},
      onOverload: (shedding, detail) => {
        heard.push([shedding, detail]);
        wake();
      },
      onMessage: () => {},
    },
  );
  /** Waits until `n` overload changes were heard. */
  const changes = (n: number) =>
    new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`heard ${JSON.stringify(heard)}`)), 5000);
      wake = () => {
        if (heard.length < n) return;
        clearTimeout(t);
        resolve();
      };
      wake();
    });
  return { sup, heard, changes };
}

describe('worker overload state at the node', () => {
  it('hears shedding start and stop once each', async () => {
    const { sup, heard, changes } = supervise();
    sup.start();
    await changes(2);
    await sup.stop();
    assert.deepEqual(
      heard.map(([s]) => s),
      [true, false],
    );
    assert.match(heard[0]?.[1] ?? '', /503/);
  });

  it('stops shedding when the worker dies while overloaded', async () => {
    const { sup, heard, changes } = supervise({ OVERLOADED_WORKER_EXIT: '1' });
    sup.start();
    await changes(2);
    await sup.stop();
    assert.deepEqual(
      heard.map(([s]) => s),
      [true, false],
    );
    assert.match(heard[1]?.[1] ?? '', /gone while overloaded/);
  });
});
