// RFC 4475 (SIP torture test messages, §3.1) and RFC 5118 (IPv6 torture tests, §4) against a real standalone sipha
// over UDP and TCP, one `it` per message and transport. The messages are files under test/conformance/, described by
// manifest.json: what an RFC-conformant server may answer to each. The server and the client run in a fresh network
// namespace with only loopback (`unshare -n`, so root), where requests the proxy forwards to the RFCs' example hosts
// fail at once (503 for addresses, 404 for names) instead of leaving for the Internet; without one the suite is
// skipped.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { type Expectation, loadManifest, type TortureMessage, type Transport } from './torture-run.js';

const HELPER = join(process.cwd(), 'dist', 'test', 'conformance', 'torture-run.js');

function isolated(): boolean {
  return spawnSync('unshare', ['-n', 'true']).status === 0;
}

/** Runs the helper in a namespace of its own and returns the statuses it saw per file. */
async function runAll(transport: Transport): Promise<Record<string, number[]>> {
  const script = `ip link set lo up && exec "${process.execPath}" "${HELPER}" run ${transport}`;
  const child = spawn('unshare', ['-n', 'sh', '-c', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`torture-run ${transport} exited with ${code}:\n${err}`);
  return JSON.parse(out);
}

function describeExpectation(m: TortureMessage, e: Expectation): string {
  const statuses = (m.statuses ?? [400]).join('/');
  switch (e) {
    case 'accept':
      return 'answered, not 400/505';
    case 'reject':
      return `rejected with ${statuses}`;
    case 'reject-or-accept':
      return `answered (${statuses} or accepted)`;
    case 'silent':
      return 'never answered';
    case 'reject-or-silent':
      return `${statuses} or not answered`;
  }
}

/** Why the statuses that came back break the expectation, or undefined when they meet it. */
export function verdict(m: TortureMessage, e: Expectation, got: number[]): string | undefined {
  const final = got.find((s) => s >= 200);
  const allowed = m.statuses ?? [400];
  const shown = got.length === 0 ? 'no answer' : `got ${got.join(', ')}`;
  switch (e) {
    case 'accept':
      if (final === undefined) return got.length > 0 ? undefined : shown;
      return final === 400 || final === 505 ? shown : undefined;
    case 'reject':
      return final !== undefined && allowed.includes(final) ? undefined : shown;
    case 'reject-or-accept':
      return got.length > 0 ? undefined : shown;
    case 'silent':
      return got.length === 0 ? undefined : shown;
    case 'reject-or-silent':
      return got.length === 0 || (final !== undefined && allowed.includes(final)) ? undefined : shown;
  }
}

const manifest = loadManifest();

const skip = isolated() ? false : 'needs a network namespace of its own (unshare -n, root)';

describe('RFC 4475 and RFC 5118 torture messages against a standalone sipha', {
  timeout: 180_000,
  skip,
}, () => {
  const results: Record<Transport, Record<string, number[]>> = { udp: {}, tcp: {} };
  before(async () => {
    [results.udp, results.tcp] = await Promise.all([runAll('udp'), runAll('tcp')]);
  });

  for (const transport of ['udp', 'tcp'] as const) {
    for (const m of manifest) {
      const e = transport === 'tcp' ? (m.tcp ?? m.expect) : m.expect;
      it(`RFC ${m.rfc} §${m.section} ${m.title} over ${transport.toUpperCase()}: ${describeExpectation(m, e)}`, () => {
        const got = results[transport][m.file];
        assert.ok(got !== undefined, `no result for ${m.file}`);
        assert.equal(verdict(m, e, got), undefined, `${m.file} over ${transport}`);
      });
    }
  }
});
