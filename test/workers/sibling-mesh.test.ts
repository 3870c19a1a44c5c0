// The sibling mesh on real Unix sockets: three workers in this process, each with its own listener in a private
// directory; frames reach the sibling they are sent to, in order; a sibling that goes away is seen down and,
// restarted, reconnected.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { pino } from 'pino';
import type { Frame } from '../../src/workers/sibling-frames.js';
import { FrameKind } from '../../src/workers/sibling-frames.js';
import { SiblingMesh } from '../../src/workers/sibling-mesh.js';

const log = pino({ level: 'silent' });

async function until(what: string, check: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('sibling mesh', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sipha-mesh-'));
  const meshes: SiblingMesh[] = [];
  after(async () => {
    await Promise.all(meshes.map((m) => m.close()));
    rmSync(dir, { recursive: true, force: true });
  });

  const start = async (index: number, heard: Array<[number, Frame]>) => {
    const m = new SiblingMesh({ index, count: 3, dir, log, onFrame: (from, f) => heard.push([from, f]) });
    await m.start();
    meshes.push(m);
    return m;
  };

  it('frames reach their sibling in order; a sibling down is seen and reconnected when back', async () => {
    const heard: Array<Array<[number, Frame]>> = [[], [], []];
    const m0 = await start(0, heard[0] as Array<[number, Frame]>);
    const m1 = await start(1, heard[1] as Array<[number, Frame]>);
    let m2 = await start(2, heard[2] as Array<[number, Frame]>);
    await until('all links up', () => m0.isUp(1) && m0.isUp(2) && m1.isUp(0) && m2.isUp(0) && m2.isUp(1));
    for (let k = 0; k < 100; k++) assert.ok(m1.send(2, FrameKind.message, { k }, Buffer.from(`msg ${k}`)));
    m0.broadcast(FrameKind.state, { t: 'tick' });
    await until('delivered', () => (heard[2]?.length ?? 0) === 101 && (heard[1]?.length ?? 0) === 1);
    const fromOne = (heard[2] ?? [])
      .filter(([from]) => from === 1)
      .map(([, f]) => (f.head as { k: number }).k);
    assert.deepEqual(
      fromOne,
      Array.from({ length: 100 }, (_, k) => k),
    );
    assert.equal((heard[2] ?? []).find(([from]) => from === 1)?.[1].body.toString(), 'msg 0');
    assert.deepEqual(heard[1]?.[0]?.[0], 0);

    await m2.close();
    await until('worker 2 seen down', () => !m0.isUp(2) && !m1.isUp(2));
    assert.equal(m1.send(2, FrameKind.message, {}), false);
    m2 = await start(2, heard[2] as Array<[number, Frame]>);
    await until('worker 2 reconnected', () => m0.isUp(2) && m1.isUp(2) && m2.isUp(0));
    assert.ok(m1.send(2, FrameKind.message, { k: 'again' }));
    await until('delivered after the restart', () =>
      (heard[2] ?? []).some(([, f]) => (f.head as { k?: unknown }).k === 'again'),
    );
  });
});
