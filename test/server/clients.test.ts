// Real SIP clients register with digest authentication against `sipha start` in its default configuration (a users
// file, no auth_algorithms): baresip (libre) and sipsak, the phones the default challenge set must not lock out.
// Each is skipped, saying so, when its binary is missing (`apt-get install baresip sipsak`).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { skipWithout } from '../helpers/installed.js';
import { type SiphaProcess, startSipha } from '../helpers/sipha-process.js';

const skip = skipWithout;

/** Whether UDP and TCP `port` are both free on loopback. */
async function free(port: number): Promise<boolean> {
  const tcp = await new Promise<boolean>((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
  if (!tcp) return false;
  return new Promise<boolean>((resolve) => {
    const u = createSocket('udp4');
    u.once('error', () => resolve(false));
    u.bind(port, '127.0.0.1', () => u.close(() => resolve(true)));
  });
}

/** A free port of four digits: sipsak 0.9.8 cuts a five-digit port short in the URIs it writes (25060 → 2506). */
async function freeShortPort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 2000 + Math.floor(Math.random() * 8000);
    if (await free(port)) return port;
  }
  throw new Error('no free four-digit port');
}

interface Run {
  code: number | null;
  output: string;
}

/** Runs a client to its end, killed after `timeoutMs`; stdout and stderr together. */
function run(command: string, args: string[], timeoutMs: number): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      output += d.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      resolve({ code: null, output: `${output}\n${err.message}` });
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe('phones register against the default digest configuration', { timeout: 60_000 }, () => {
  let port: number;
  let server: SiphaProcess;
  const dir = mkdtempSync(join(tmpdir(), 'sipha-clients-'));

  before(async () => {
    port = await freeShortPort();
    server = await startSipha(
      [
        'sip:',
        `  listen: [udp://127.0.0.1:${port}, tcp://127.0.0.1:${port}]`,
        '  domain: example.test',
        '  users_file: users.yaml',
        'log: { level: info }',
      ].join('\n'),
      {
        'users.yaml':
          'users:\n  - { username: alice, password: s3cret }\n  - { username: bob, password: b0b }\n',
      },
    );
  });
  after(async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('registers baresip (headless, -f with config and accounts)', { skip: skip('baresip') }, async () => {
    const home = join(dir, 'baresip');
    const sipPort = await freeShortPort();
    mkdirSync(home);
    writeFileSync(
      join(home, 'config'),
      [
        'poll_method\tepoll',
        `sip_listen\t127.0.0.1:${sipPort}`,
        'module_path\t/usr/lib/baresip/modules',
        'module_app\taccount.so',
        '',
      ].join('\n'),
    );
    writeFileSync(join(home, 'accounts'), `<sip:alice@127.0.0.1:${port}>;auth_pass=s3cret;regint=60\n`);
    // -t: quit after 3 s, unregistering on the way out.
    const r = await run('baresip', ['-f', home, '-t', '3'], 15_000);
    assert.match(r.output, /alice@127\.0\.0\.1: \{0\/UDP\/v4\} 200 OK \(\) \[1 binding\]/, r.output);
    assert.doesNotMatch(r.output, /Function not implemented/, r.output);
  });

  it('registers sipsak (usrloc mode)', { skip: skip('sipsak') }, async () => {
    // -x 60: sipsak asks for 15 s, below the registrar's min_expires (423).
    const r = await run(
      'sipsak',
      ['-U', '-s', `sip:bob@127.0.0.1:${port}`, '-u', 'bob', '-a', 'b0b', '-x', '60', '-i'],
      15_000,
    );
    assert.equal(r.code, 0, r.output);
  });

  it('sipsak asks the server for its OPTIONS and gets 200 with what it allows', {
    skip: skip('sipsak'),
  }, async () => {
    const r = await run('sipsak', ['-s', `sip:127.0.0.1:${port}`, '-vv'], 15_000);
    assert.match(r.output, /SIP\/2\.0 200 OK/, r.output);
    assert.match(r.output, /Allow: .*INVITE.*REGISTER/i, r.output);
    assert.equal(r.code, 0, r.output);
  });
});
