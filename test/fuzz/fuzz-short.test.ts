// A short bounded fuzz run against a real standalone sipha (bench/fuzz): 5,000 mutated messages over UDP and 5,000
// over TCP. The server must stay up, answer OPTIONS on both transports afterwards, and keep its memory in bounds.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { formatReport, isFlat, saveCrash } from '../../bench/fuzz/main.js';
import { readCrashFile, replay } from '../../bench/fuzz/replay.js';
import { runFuzz } from '../../bench/fuzz/run.js';

const PER_TRANSPORT = 5000;

describe('fuzz: short run against a standalone server', () => {
  it('survives 5,000 UDP and 5,000 TCP mutated messages with flat memory', { timeout: 120_000 }, async () => {
    const r = await runFuzz({ count: 2 * PER_TRANSPORT, seconds: 90, seed: 20261127, checkEvery: 200 });
    const table = formatReport(r);
    assert.equal(r.crash, undefined, table);
    assert.deepEqual(r.sent, { udp: PER_TRANSPORT, tcp: PER_TRANSPORT }, table);
    // Every health OPTIONS (one per 200 messages, and the last ones) was answered.
    assert.equal(r.probes.answered, r.probes.sent, table);
    assert.ok(r.probes.sent >= (2 * PER_TRANSPORT) / 200, table);
    // The mutations reached the server's logic on both transports, and TCP framing errors closed connections.
    for (const t of ['udp', 'tcp'] as const) {
      assert.ok((r.responses[t]['4xx'] ?? 0) > 50, `${t}: 400s for malformed requests\n${table}`);
      assert.ok((r.responses[t]['2xx'] ?? 0) > 0, `${t}: some valid requests answered\n${table}`);
    }
    assert.ok(r.tcp.serverClosed > 0, table);
    assert.deepEqual(r.errorLogs, [], 'no exception reached the transport');
    // Memory: in bounds from the start, and flat from the middle on.
    const { start, mid, end } = r.rssKiB;
    assert.ok(start !== undefined && mid !== undefined && end !== undefined, table);
    assert.ok(end - start < 128 * 1024, `RSS grew by ${end - start} KiB\n${table}`);
    assert.ok(isFlat(r), table);
  });

  it('saves the last cases of a run for replay, and replays them', { timeout: 60_000 }, async () => {
    const r = await runFuzz({ count: 60, seed: 3, keepLast: 40 });
    const dir = mkdtempSync(join(tmpdir(), 'sipha-fuzz-test-'));
    try {
      const cases = readCrashFile(saveCrash(r, dir));
      assert.equal(cases.length, 40);
      assert.deepEqual(
        cases.map((c) => c.bytes),
        r.lastCases.map((c) => c.bytes),
      );
      assert.equal(cases[0]!.transport, r.lastCases[0]!.transport);
      assert.equal(await replay(cases), undefined);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
