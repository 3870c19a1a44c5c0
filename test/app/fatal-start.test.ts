// `sipha config check` and `sipha start` as an operator meets them: a mistake is a config error naming its key
// (exit 2) before anything binds; a start that fails after binding something exits non-zero instead of running
// half; SIGTERM ends a standalone server within its bound even with a TCP client connected.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { freePort } from '../helpers/ports.js';
import { CLI, startSipha } from '../helpers/sipha-process.js';

const dir = mkdtempSync(join(tmpdir(), 'sipha-fatal-'));
after(() => rmSync(dir, { recursive: true, force: true }));

interface Ran {
  code: number | null;
  out: string;
  ms: number;
}

/** Runs the CLI to its end (killed after `timeoutMs`). */
function sipha(args: string[], timeoutMs = 8000): Promise<Ran> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out, ms: Date.now() - started });
    });
  });
}

let n = 0;
function config(yaml: string): string {
  const file = join(dir, `c${++n}.yaml`);
  writeFileSync(file, `${yaml}\nlog: { level: warn }\n`);
  return file;
}

describe('config check and fatal start errors', () => {
  it('config check: a good config is OK (exit 0), a bad one lists each problem naming its key (exit 2)', async () => {
    const good = await sipha([
      'config',
      'check',
      '--config',
      config('sip: { listen: [udp://127.0.0.1:5060] }'),
    ]);
    assert.equal(good.code, 0, good.out);
    assert.match(good.out, /OK — would start a standalone SIP server/);
    const bad = await sipha([
      'config',
      'check',
      '--config',
      config(
        "sip: { listen: [udp://127.0.0.1:70000, udp://127.0.0.1:0] }\nmanagement: { listen: '127.0.0.1:8080', token_file: nope }",
      ),
    ]);
    assert.equal(bad.code, 2, bad.out);
    const lines = bad.out.trim().split('\n');
    assert.ok(
      lines.some((l) => /sip\.listen\[0\]: port 70000/.test(l)),
      bad.out,
    );
    assert.ok(
      lines.some((l) => /sip\.listen\[1\]: port 0/.test(l)),
      bad.out,
    );
    assert.ok(
      lines.some((l) => /management: works only with ha/.test(l)),
      bad.out,
    );
    assert.ok(
      lines.some((l) => /management\.token_file/.test(l)),
      bad.out,
    );
  });

  it('start with SIP port 70000 exits 2 naming sip.listen[0], at once', async () => {
    const r = await sipha(['start', '--config', config('sip: { listen: [udp://127.0.0.1:70000] }')]);
    assert.equal(r.code, 2, r.out);
    assert.match(r.out, /sip\.listen\[0\]: port 70000/);
  });

  it('start with a world-readable TLS key exits 2 naming sip.tls.key_file', async () => {
    writeFileSync(join(dir, 'k.pem'), '-----BEGIN PRIVATE KEY-----\n', { mode: 0o644 });
    writeFileSync(join(dir, 'c.pem'), '-----BEGIN CERTIFICATE-----\n');
    const port = await freePort();
    const r = await sipha([
      'start',
      '--config',
      config(`sip: { listen: [tls://127.0.0.1:${port}], tls: { cert_file: c.pem, key_file: k.pem } }`),
    ]);
    assert.equal(r.code, 2, r.out);
    assert.match(r.out, /sip\.tls\.key_file: .*chmod 600/);
  });

  it('a standalone server whose TCP bind fails after UDP bound exits non-zero, not half-running', async () => {
    const port = await freePort();
    const squatter = createServer().listen(port, '127.0.0.1');
    try {
      const r = await sipha([
        'start',
        '--config',
        config(`sip: { listen: [udp://127.0.0.1:${port}, tcp://127.0.0.1:${port}], warm_up: false }`),
      ]);
      assert.equal(r.code, 1, r.out);
      assert.match(r.out, /cannot start: .*EADDRINUSE/);
      assert.ok(r.ms < 5000, `exited after ${r.ms} ms`);
    } finally {
      squatter.close();
    }
  });

  it('SIGTERM ends a standalone server within its bound while a TCP client stays connected', async () => {
    const port = await freePort();
    const server = await startSipha(
      `sip:\n  listen: [udp://127.0.0.1:${port}, tcp://127.0.0.1:${port}]\n  warm_up: false\nlog: { level: info }`,
    );
    const client = netConnect({ port, host: '127.0.0.1' });
    await new Promise<void>((r) => client.once('connect', () => r()));
    client.on('error', () => {});
    try {
      const started = Date.now();
      const code = await server.stop('SIGTERM');
      assert.equal(code, 0);
      assert.ok(Date.now() - started < 4000, `stopped after ${Date.now() - started} ms`);
    } finally {
      client.destroy();
    }
  });
});
