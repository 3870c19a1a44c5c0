// A node with a pool of SIP workers (`sip.workers` > 1) as the operator sees it: per-worker gauges labelled by
// the worker's index beside the aggregate ones, and a "SIP workers" line in `sipha status` (none with one worker).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HaStatus } from '../../src/ha/status.js';
import { Metrics } from '../../src/mgmt/metrics.js';
import { formatTable, statusRows } from '../../src/mgmt/status-table.js';
import { COUNTERS, fakeStatus } from './fake-node.js';

function pooled(): HaStatus {
  const s = fakeStatus('a', 'primary', 3, 'b');
  s.worker = {
    pid: 10,
    ready: true,
    restarts: 1,
    lastPongAgoMs: 40,
    loopLagMs: 25,
    workers: [
      { index: 0, pid: 10, ready: true, restarts: 0, lastPongAgoMs: 5, loopLagMs: 2 },
      { index: 1, pid: 11, ready: true, restarts: 0, lastPongAgoMs: 40, loopLagMs: 25 },
      { index: 2, pid: 12, ready: false, restarts: 1, lastPongAgoMs: 10, loopLagMs: null },
    ],
  };
  return s;
}

describe('a pool of SIP workers in metrics and status', () => {
  it('has per-worker gauges labelled by index, and keeps the aggregate ones', async () => {
    const m = new Metrics();
    m.setStatus(pooled());
    const body = (await m.render()).body;
    assert.match(body, /^sipha_sip_worker_up\{worker="0"\} 1$/m);
    assert.match(body, /^sipha_sip_worker_up\{worker="2"\} 0$/m);
    assert.match(body, /^sipha_sip_worker_restarts\{worker="2"\} 1$/m);
    assert.match(body, /^sipha_sip_worker_loop_lag_seconds\{worker="1"\} 0\.025$/m);
    assert.doesNotMatch(body, /^sipha_sip_worker_loop_lag_seconds\{worker="2"\}/m);
    assert.match(body, /^sipha_worker_up 1$/m);
    assert.match(body, /^sipha_worker_restarts 1$/m);
  });

  it('has no per-worker series with a single worker', async () => {
    const m = new Metrics();
    m.setStatus(fakeStatus('a', 'primary', 3, 'b'));
    const body = (await m.render()).body;
    assert.doesNotMatch(body, /^sipha_sip_worker_up\{/m);
    assert.match(body, /^sipha_worker_up 1$/m);
  });

  it('shows "SIP workers" in sipha status with several, not with one', () => {
    const sip = { sip: COUNTERS, cti: { stream: 'x', lastSeq: 0 } };
    const many = formatTable(
      statusRows([{ url: 'http://a:8080', status: { ...pooled(), ...sip }, error: null }]),
    );
    assert.match(many, /^SIP workers\s+2\/3 ready, 1 restart\(s\); down: 2\s+\?$/m);
    const one = formatTable(
      statusRows([
        { url: 'http://a:8080', status: { ...fakeStatus('a', 'primary', 3, 'b'), ...sip }, error: null },
      ]),
    );
    assert.doesNotMatch(one, /SIP workers/);
    assert.match(one, /^SIP worker\s+ready, 0 restart\(s\)/m);
  });
});
