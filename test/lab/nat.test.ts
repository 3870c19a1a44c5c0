// The lab's home network: P on a private LAN behind N, which masquerades it onto the SIP subnet. What leaves P
// arrives elsewhere from N's address and a port N chose, and answers find their way back to P.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Lab } from '../../src/lab/lab.js';
import { NEEDS_ROOT } from './helpers.js';

const ECHO = `
const s = require('node:dgram').createSocket('udp4');
s.on('message', (m, r) => s.send(Buffer.from(r.address + ':' + r.port), r.port, r.address));
s.bind(7000, '0.0.0.0', () => process.stdout.write('ready\\n'));`;

const ASK = `
const s = require('node:dgram').createSocket('udp4');
s.bind(5060, '0.0.0.0', () => s.send('who am I', 7000, process.argv[1]));
s.on('message', (m) => { process.stdout.write(m.toString()); process.exit(0); });
setTimeout(() => process.exit(3), 3000);`;

describe('the NAT segment of the lab', { skip: NEEDS_ROOT }, () => {
  let lab: Lab;
  before(async () => {
    lab = await Lab.create({ nat: true, ipv6: false });
  });
  after(async () => {
    await lab?.destroy();
  });

  it('P reaches G from N’s public address and another port; the answer comes back to P', async () => {
    const echo = lab.spawn('g', [process.execPath, '-e', ECHO]);
    await new Promise<void>((resolve) => echo.stdout?.once('data', () => resolve()));
    const g = lab.nic('g').ipv4;
    const out = await lab.exec('p', [process.execPath, '-e', ASK, g]);
    const [address, port] = out.stdout.trim().split(':');
    assert.equal(address, lab.nic('n').ipv4, 'seen from N’s address (masquerade)');
    assert.equal(lab.nic('p').ipv4, '192.168.51.10');
    assert.ok(Number(port) > 0);
    // A host on the SIP subnet cannot reach P's private address: only the mapping leads there.
    const direct = await lab.exec('g', ['ping', '-n', '-c', '1', '-W', '1', lab.nic('p').ipv4], {
      allowFailure: true,
    });
    assert.notEqual(direct.exitCode, 0);
  });
});
