// sipha started as a real process, with SIPp phones and a SIPp gateway as the peers: their exit status and
// statistics are the assertions.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SCENARIOS, type SippResult, sipp } from '../../src/lab/sipp.js';
import { freePort } from '../helpers/ports.js';
import { request, TcpPeer, UdpPeer } from '../helpers/sip-peer.js';
import { type SiphaProcess, startSipha } from '../helpers/sipha-process.js';

const tmp = mkdtempSync(join(tmpdir(), 'sipha-it-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function csv(name: string, rows: string[]): string {
  const file = join(tmp, name);
  writeFileSync(file, `SEQUENTIAL\n${rows.join('\n')}\n`);
  return file;
}

function assertAllPassed(r: SippResult, calls: number, what: string): void {
  assert.equal(r.exitCode, 0, `${what}: sipp exit ${r.exitCode}\n${r.errors}\n${r.stderr}`);
  assert.equal(r.successful, calls, `${what}: successful calls`);
  assert.equal(r.failed, 0, `${what}: failed calls`);
}

function config(port: number, gatewayPort: number, extra = ''): string {
  return [
    'sip:',
    `  listen: [udp://127.0.0.1:${port}, tcp://127.0.0.1:${port}]`,
    '  domain: example.test',
    `  routes: [{ match: "^\\\\+?[0-9]+$", to: "sip:127.0.0.1:${gatewayPort}" }]`,
    extra,
    'log: { level: info }',
  ].join('\n');
}

describe('sipha start with SIPp peers', { timeout: 180_000 }, () => {
  let port: number;
  let gatewayPort: number;
  let server: SiphaProcess;
  const target = () => `127.0.0.1:${port}`;

  /** Registers `user` with a Contact on `contactPort` (where a SIPp UAS listens). */
  async function register(user: string, contactPort: number): Promise<void> {
    const r = await sipp([
      target(),
      '-sf',
      join(SCENARIOS, 'register.xml'),
      '-inf',
      csv(`${user}.csv`, [`${user};${contactPort}`]),
      '-m',
      '1',
      '-p',
      String(await freePort()),
      '-timeout',
      '10',
    ]).result;
    assertAllPassed(r, 1, `REGISTER ${user}`);
  }

  before(async () => {
    port = await freePort();
    gatewayPort = await freePort();
    server = await startSipha(config(port, gatewayPort));
  });
  after(async () => {
    assert.equal(await server.stop(), 0, 'SIGTERM ends sipha with exit status 0');
  });

  it('answers OPTIONS', async () => {
    const r = await sipp([
      target(),
      '-sf',
      join(SCENARIOS, 'options.xml'),
      '-m',
      '20',
      '-r',
      '50',
      '-p',
      String(await freePort()),
      '-timeout',
      '10',
    ]).result;
    assertAllPassed(r, 20, 'OPTIONS');
  });

  it('registers without authentication', async () => {
    await register('alice', 5999);
  });

  it('connects a call from a SIPp UAC to a registered SIPp UAS: INVITE/180/200/ACK/BYE', async () => {
    const uasPort = await freePort();
    const uas = sipp([
      '-sf',
      join(SCENARIOS, 'uas-call.xml'),
      '-p',
      String(uasPort),
      '-m',
      '1',
      '-timeout',
      '20',
    ]);
    await register('bob', uasPort);
    const uac = await sipp([
      target(),
      '-sf',
      join(SCENARIOS, 'uac-call.xml'),
      '-s',
      'bob',
      '-m',
      '1',
      '-p',
      String(await freePort()),
      '-timeout',
      '15',
    ]).result;
    assertAllPassed(uac, 1, 'UAC');
    assertAllPassed(await uas.result, 1, 'UAS');
  });

  it('cancels a ringing call: 200 for the CANCEL, 487 for the INVITE', async () => {
    const uasPort = await freePort();
    const uas = sipp([
      '-sf',
      join(SCENARIOS, 'uas-cancel.xml'),
      '-p',
      String(uasPort),
      '-m',
      '1',
      '-timeout',
      '20',
    ]);
    await register('carol', uasPort);
    const uac = await sipp([
      target(),
      '-sf',
      join(SCENARIOS, 'uac-cancel.xml'),
      '-s',
      'carol',
      '-m',
      '1',
      '-p',
      String(await freePort()),
      '-timeout',
      '15',
    ]).result;
    assertAllPassed(uac, 1, 'UAC');
    assertAllPassed(await uas.result, 1, 'UAS');
  });

  it('rejects a call to an unknown user with 404', async () => {
    const uac = await sipp([
      target(),
      '-sf',
      join(SCENARIOS, 'uac-404.xml'),
      '-s',
      'nobody',
      '-m',
      '1',
      '-p',
      String(await freePort()),
      '-timeout',
      '10',
    ]).result;
    assertAllPassed(uac, 1, 'UAC 404');
  });

  it('routes a call to a number to the gateway by the static route', async () => {
    const gw = sipp([
      '-sf',
      join(SCENARIOS, 'uas-call.xml'),
      '-p',
      String(gatewayPort),
      '-m',
      '1',
      '-timeout',
      '20',
    ]);
    const uac = await sipp([
      target(),
      '-sf',
      join(SCENARIOS, 'uac-call.xml'),
      '-s',
      '+15551234',
      '-m',
      '1',
      '-p',
      String(await freePort()),
      '-timeout',
      '15',
    ]).result;
    assertAllPassed(uac, 1, 'UAC to gateway');
    assertAllPassed(await gw.result, 1, 'gateway');
  });

  it('carries 1,000 calls at a steady rate with no failure', async () => {
    const uasPort = await freePort();
    const uas = sipp([
      '-sf',
      join(SCENARIOS, 'uas-call.xml'),
      '-p',
      String(uasPort),
      '-m',
      '1000',
      '-timeout',
      '60',
    ]);
    await register('dave', uasPort);
    const uac = await sipp(
      [
        target(),
        '-sf',
        join(SCENARIOS, 'uac-call.xml'),
        '-s',
        'dave',
        '-m',
        '1000',
        '-r',
        '100',
        '-l',
        '300',
        '-p',
        String(await freePort()),
        '-timeout',
        '50',
      ],
      { timeoutMs: 70_000 },
    ).result;
    assertAllPassed(uac, 1000, 'UAC 1000 calls');
    assertAllPassed(await uas.result, 1000, 'UAS 1000 calls');
  });

  it('lets the BYE of an established call through after sipha restarts mid-call', async () => {
    const uasPort = await freePort();
    const uas = sipp([
      '-sf',
      join(SCENARIOS, 'uas-call.xml'),
      '-p',
      String(uasPort),
      '-m',
      '1',
      '-timeout',
      '30',
    ]);
    await register('erin', uasPort);
    // The call holds for 3 s: restart sipha in the middle, losing every transaction and registration.
    const uac = sipp([
      target(),
      '-sf',
      join(SCENARIOS, 'uac-call.xml'),
      '-s',
      'erin',
      '-d',
      '3000',
      '-m',
      '1',
      '-p',
      String(await freePort()),
      '-timeout',
      '20',
    ]);
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(await server.stop(), 0);
    server = await startSipha(config(port, gatewayPort));
    assertAllPassed(await uac.result, 1, 'UAC across the restart');
    assertAllPassed(await uas.result, 1, 'UAS across the restart');
  });

  it('answers torture-style malformed messages over UDP and TCP with 400/505, then still answers OPTIONS', async () => {
    const udp = await UdpPeer.open();
    const uri = `sip:127.0.0.1:${port}`;
    try {
      const defects: Array<[string, string, number]> = [
        ['bad CSeq number', request('OPTIONS', { uri }).replace(/CSeq: \d+/, 'CSeq: 1x'), 400],
        ['bad URI', request('OPTIONS', { uri: 'sip:@@' }), 400],
        ['bad quoting', request('OPTIONS', { uri }).replace('From: <', 'From: "unterminated <'), 400],
        ['other version', request('OPTIONS', { uri }).replace(' SIP/2.0\r\n', ' SIP/2.1\r\n'), 505],
        [
          'negative Content-Length',
          request('OPTIONS', { uri }).replace('Content-Length: 0', 'Content-Length: -1'),
          400,
        ],
      ];
      for (const [what, text, status] of defects) {
        await udp.send(text, port);
        const res = await udp.nextStatusLine().catch(() => ({ status: 0 }));
        assert.equal(res.status, status, what);
      }
      await udp.send(request('OPTIONS', { uri }), port);
      assert.equal((await udp.nextResponse()).status, 200);
    } finally {
      udp.close();
    }
    const tcp = await TcpPeer.connect(port);
    try {
      tcp.write(
        request('OPTIONS', { over: 'TCP', uri: `sip:127.0.0.1:${port}` }).replace(
          'Content-Length: 0',
          'Content-Length: abc',
        ),
      );
      await tcp.until(() => tcp.closed, 3000);
      assert.match(Buffer.concat(tcp.raw).toString(), /^SIP\/2.0 400 /);
    } finally {
      tcp.close();
    }
    const again = await TcpPeer.connect(port);
    try {
      again.write(request('OPTIONS', { over: 'TCP', uri: `sip:127.0.0.1:${port};transport=tcp` }));
      assert.equal((await again.nextResponse()).status, 200);
    } finally {
      again.close();
    }
  });
});

describe('digest authentication with SIPp', { timeout: 60_000 }, () => {
  let port: number;
  let server: SiphaProcess;
  before(async () => {
    port = await freePort();
    // SIPp only speaks MD5 and answers the first challenge, so MD5 is offered first here.
    server = await startSipha(
      [
        'sip:',
        `  listen: [udp://127.0.0.1:${port}]`,
        '  domain: example.test',
        '  users_file: users.yaml',
        '  auth_algorithms: [MD5, SHA-256]',
        'log: { level: info }',
      ].join('\n'),
      {
        'users.yaml':
          'users:\n  - { username: alice, password: s3cret }\n  - { username: bob, password: other }\n',
      },
    );
  });
  after(async () => {
    await server.stop();
  });

  const reg = async (user: string, authUser: string, password: string) =>
    sipp([
      `127.0.0.1:${port}`,
      '-sf',
      join(SCENARIOS, 'register.xml'),
      '-inf',
      csv(`auth-${user}-${authUser}.csv`, [`${user};5999`]),
      '-au',
      authUser,
      '-ap',
      password,
      '-m',
      '1',
      '-p',
      String(await freePort()),
      '-timeout',
      '5',
      '-recv_timeout',
      '3000',
    ]).result;

  it('registers after a 401 challenge with the right password', async () => {
    assertAllPassed(await reg('alice', 'alice', 's3cret'), 1, 'REGISTER with auth');
  });

  it('refuses a wrong password', async () => {
    const r = await reg('alice', 'alice', 'wrong');
    assert.notEqual(r.exitCode, 0);
    assert.equal(r.successful, 0);
  });

  it("refuses bob's valid credentials for alice's AOR", async () => {
    const r = await reg('alice', 'bob', 'other');
    assert.notEqual(r.exitCode, 0);
    assert.equal(r.successful, 0);
  });
});
