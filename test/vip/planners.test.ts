// The exact command lines of every driver. Windows, AIX and Solaris cannot run here, so their argv is the
// contract; Linux's is also run for real in the lab tests.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseVipAddress, prefixToNetmask } from '../../src/vip/address.js';
import { ANNOUNCE_SCRIPT } from '../../src/vip/announce-sender.js';
import { vipSchema } from '../../src/vip/config.js';
import { planFor } from '../../src/vip/driver.js';
import { parseIpAddrShow } from '../../src/vip/linux.js';
import type { RunOutput } from '../../src/vip/runner.js';

const plan = (over: Record<string, unknown>) =>
  planFor(vipSchema.parse({ address: '198.51.100.10/24', interface: 'eth0', ...over }));

const output = (stdout: string, exitCode = 0, stderr = ''): RunOutput => ({
  stdout,
  stderr,
  exitCode,
  signal: null,
  timedOut: false,
  durationMs: 1,
});

describe('addresses', () => {
  it('parses IP/PREFIX and derives the netmask', () => {
    assert.deepEqual(parseVipAddress('198.51.100.10/24'), {
      ip: '198.51.100.10',
      prefix: 24,
      family: 4,
      netmask: '255.255.255.0',
      cidr: '198.51.100.10/24',
    });
    assert.equal(parseVipAddress('2001:db8:51::10/64').family, 6);
    assert.equal(prefixToNetmask(0), '0.0.0.0');
    assert.equal(prefixToNetmask(21), '255.255.248.0');
    assert.equal(prefixToNetmask(32), '255.255.255.255');
    assert.throws(() => parseVipAddress('198.51.100.10'));
    assert.throws(() => parseVipAddress('198.51.100.10/33'));
    assert.throws(() => vipSchema.parse({ address: 'eth0/24', interface: 'eth0' }));
    assert.throws(() => vipSchema.parse({ address: '198.51.100.10/24', interface: 'eth0', label: 'eth1:1' }));
    assert.throws(() =>
      vipSchema.parse({ address: '198.51.100.10/24', interface: 'eth0', driver: 'script' }),
    );
  });
});

describe('linux planner', () => {
  it('IPv4: logical sub-interface with a label', () => {
    const p = plan({ label: 'eth0:7' });
    assert.deepEqual(p.enable.argv, [
      'ip',
      '-4',
      'addr',
      'add',
      '198.51.100.10/24',
      'dev',
      'eth0',
      'label',
      'eth0:7',
    ]);
    assert.deepEqual(p.disable.argv, ['ip', '-4', 'addr', 'del', '198.51.100.10/24', 'dev', 'eth0']);
    assert.deepEqual(p.status.argv, ['ip', '-4', '-o', 'addr', 'show', 'dev', 'eth0']);
    assert.equal(plan({}).enable.argv.at(-1), 'eth0:1', 'default label eth0:1');
  });

  it('IPv6: nodad, no label', () => {
    const p = plan({ address: '2001:db8:51::10/64' });
    assert.deepEqual(p.enable.argv, [
      'ip',
      '-6',
      'addr',
      'add',
      '2001:db8:51::10/64',
      'dev',
      'eth0',
      'nodad',
    ]);
    assert.deepEqual(p.disable.argv, ['ip', '-6', 'addr', 'del', '2001:db8:51::10/64', 'dev', 'eth0']);
  });

  it('announces with the built-in sender: ARP for IPv4, NA for IPv6', () => {
    assert.deepEqual(plan({}).announceBurst(5, 200)?.argv, [
      'perl',
      '-e',
      ANNOUNCE_SCRIPT,
      '--',
      'arp',
      'eth0',
      '198.51.100.10',
      '5',
      '200',
    ]);
    assert.deepEqual(plan({ address: '2001:db8:51::10/64' }).announceBurst(3, 100)?.argv.slice(3), [
      '--',
      'na',
      'eth0',
      '2001:db8:51::10',
      '3',
      '100',
    ]);
  });

  it('reads `ip -o addr show`, with IPv6 flags and non-canonical spelling', () => {
    const v4 =
      '2: eth0    inet 198.51.100.11/24 scope global eth0\\       valid_lft forever preferred_lft forever\n' +
      '2: eth0    inet 198.51.100.10/24 scope global secondary eth0:1\\       valid_lft forever\n';
    assert.deepEqual(parseIpAddrShow(v4, '198.51.100.10'), { present: true, flags: ['secondary'] });
    assert.equal(parseIpAddrShow(v4, '198.51.100.1').present, false);
    const v6 =
      '2: eth0    inet6 2001:db8:51::10/64 scope global tentative dadfailed \\       valid_lft forever\n';
    assert.deepEqual(parseIpAddrShow(v6, '2001:DB8:51:0::10'), {
      present: true,
      flags: ['tentative', 'dadfailed'],
    });
  });

  it('knows which failures mean "already done"', () => {
    const p = plan({});
    assert.equal(p.alreadyDone('enable', output('', 2, 'RTNETLINK answers: File exists')), true);
    assert.equal(
      p.alreadyDone('disable', output('', 2, 'RTNETLINK answers: Cannot assign requested address')),
      true,
    );
    assert.equal(p.alreadyDone('enable', output('', 1, 'Cannot find device "eth0"')), false);
    // Kernels with extended acks (iproute2 6.x prints them) say it in words.
    assert.equal(p.alreadyDone('enable', output('', 2, 'Error: ipv4: Address already assigned.')), true);
    assert.equal(p.alreadyDone('enable', output('', 2, 'Error: ipv6: address already assigned.')), true);
    assert.equal(p.alreadyDone('disable', output('', 2, 'Error: ipv4: Address not found.')), true);
    assert.equal(p.alreadyDone('disable', output('', 2, 'Error: ipv6: address not found.')), true);
  });

  it('has batch lines for the ip coprocess (no family options: they are global in ip) and a primed sender', () => {
    assert.deepEqual(plan({}).batch, {
      enable: 'addr add 198.51.100.10/24 dev eth0 label eth0:1',
      disable: 'addr del 198.51.100.10/24 dev eth0',
      status: 'addr show dev eth0',
    });
    assert.deepEqual(
      plan({ address: '2001:db8:51::10/64' }).batch?.enable,
      'addr add 2001:db8:51::10/64 dev eth0 nodad',
    );
    assert.deepEqual(plan({}).announceServe?.argv, [
      'perl',
      '-e',
      ANNOUNCE_SCRIPT,
      '--',
      'arp',
      'eth0',
      '198.51.100.10',
      'serve',
    ]);
    for (const driver of ['windows', 'aix', 'solaris'] as const) {
      assert.equal(plan({ driver }).batch, undefined, driver);
      assert.equal(plan({ driver }).announceServe, undefined, driver);
    }
  });
});

describe('windows planner (netsh)', () => {
  it('IPv4 add/delete/show with skipassource', () => {
    const p = plan({ driver: 'windows', interface: 'Ethernet' });
    assert.deepEqual(p.enable.argv, [
      'netsh',
      'interface',
      'ipv4',
      'add',
      'address',
      'name=Ethernet',
      'address=198.51.100.10',
      'mask=255.255.255.0',
      'store=active',
      'skipassource=true',
    ]);
    assert.deepEqual(p.disable.argv, [
      'netsh',
      'interface',
      'ipv4',
      'delete',
      'address',
      'name=Ethernet',
      'address=198.51.100.10',
    ]);
    assert.deepEqual(p.status.argv, [
      'netsh',
      'interface',
      'ipv4',
      'show',
      'ipaddresses',
      'interface=Ethernet',
    ]);
    assert.equal(p.announceBurst(5, 200), undefined, 'Windows announces by itself');
  });

  it('IPv6 add/delete/show with skipassource', () => {
    const p = plan({ driver: 'windows', interface: 'Ethernet', address: '2001:db8:51::10/64' });
    assert.deepEqual(p.enable.argv, [
      'netsh',
      'interface',
      'ipv6',
      'add',
      'address',
      'interface=Ethernet',
      'address=2001:db8:51::10/64',
      'store=active',
      'skipassource=true',
    ]);
    assert.deepEqual(p.disable.argv, [
      'netsh',
      'interface',
      'ipv6',
      'delete',
      'address',
      'interface=Ethernet',
      'address=2001:db8:51::10',
    ]);
    assert.deepEqual(p.status.argv, [
      'netsh',
      'interface',
      'ipv6',
      'show',
      'addresses',
      'interface=Ethernet',
    ]);
  });

  it('reads netsh output', () => {
    const p = plan({ driver: 'windows', interface: 'Ethernet' });
    const shown =
      'Address 198.51.100.10 Parameters\n---------------------------------------------------------\nSkip as Source : true\n';
    assert.equal(p.parseStatus(output(shown)).present, true);
    assert.equal(p.parseStatus(output('Address 198.51.100.100 Parameters\n')).present, false);
  });
});

describe('aix planner (ifconfig alias)', () => {
  it('IPv4 and IPv6 alias/delete', () => {
    const p = plan({ driver: 'aix', interface: 'en0' });
    assert.deepEqual(p.enable.argv, [
      'ifconfig',
      'en0',
      'inet',
      '198.51.100.10',
      'netmask',
      '255.255.255.0',
      'alias',
    ]);
    assert.deepEqual(p.disable.argv, ['ifconfig', 'en0', 'inet', '198.51.100.10', 'delete']);
    assert.deepEqual(p.status.argv, ['ifconfig', 'en0']);
    const p6 = plan({ driver: 'aix', interface: 'en0', address: '2001:db8:51::10/64' });
    assert.deepEqual(p6.enable.argv, ['ifconfig', 'en0', 'inet6', '2001:db8:51::10/64', 'alias']);
    assert.deepEqual(p6.disable.argv, ['ifconfig', 'en0', 'inet6', '2001:db8:51::10', 'delete']);
    const shown =
      'en0: flags=1e080863<UP,BROADCAST>\n\tinet 198.51.100.11 netmask 0xffffff00 broadcast 198.51.100.255\n' +
      '\tinet 198.51.100.10 netmask 0xffffff00 broadcast 198.51.100.255\n';
    assert.equal(p.parseStatus(output(shown)).present, true);
    assert.equal(p6.parseStatus(output(shown)).present, false);
  });
});

describe('solaris planner (ifconfig addif/removeif)', () => {
  it('IPv4 and IPv6 addif/removeif', () => {
    const p = plan({ driver: 'solaris', interface: 'e1000g0' });
    assert.deepEqual(p.enable.argv, ['ifconfig', 'e1000g0', 'addif', '198.51.100.10/24', 'up']);
    assert.deepEqual(p.disable.argv, ['ifconfig', 'e1000g0', 'removeif', '198.51.100.10']);
    assert.deepEqual(p.status.argv, ['ifconfig', '-a']);
    const p6 = plan({ driver: 'solaris', interface: 'e1000g0', address: '2001:db8:51::10/64' });
    assert.deepEqual(p6.enable.argv, ['ifconfig', 'e1000g0', 'inet6', 'addif', '2001:db8:51::10/64', 'up']);
    assert.deepEqual(p6.disable.argv, ['ifconfig', 'e1000g0', 'inet6', 'removeif', '2001:db8:51::10']);
  });

  it('counts only the NIC and its logical interfaces', () => {
    const p = plan({ driver: 'solaris', interface: 'e1000g0' });
    const onOther =
      'e1000g0: flags=1000843<UP> mtu 1500 index 2\n\tinet 198.51.100.11 netmask ffffff00\n' +
      'e1000g1:1: flags=1000843<UP> mtu 1500 index 3\n\tinet 198.51.100.10 netmask ffffff00\n';
    assert.equal(p.parseStatus(output(onOther)).present, false);
    const onLogical = onOther.replace('e1000g1:1', 'e1000g0:1');
    assert.equal(p.parseStatus(output(onLogical)).present, true);
  });
});

describe('script planner', () => {
  it('runs the user programs with the VIP in the environment', () => {
    const p = plan({
      driver: 'script',
      label: 'eth0:3',
      script: { enable: '/opt/vip/up', disable: '/opt/vip/down', status: '/opt/vip/status' },
    });
    assert.deepEqual(p.enable.argv, ['/opt/vip/up']);
    assert.deepEqual(p.disable.argv, ['/opt/vip/down']);
    assert.deepEqual(p.status.argv, ['/opt/vip/status']);
    assert.deepEqual(p.enable.env, {
      SIPHA_VIP_OPERATION: 'enable',
      SIPHA_VIP: '198.51.100.10',
      SIPHA_VIP_PREFIX: '24',
      SIPHA_VIP_CIDR: '198.51.100.10/24',
      SIPHA_VIP_FAMILY: '4',
      SIPHA_VIP_NETMASK: '255.255.255.0',
      SIPHA_VIP_INTERFACE: 'eth0',
      SIPHA_VIP_LABEL: 'eth0:3',
    });
    assert.equal(p.announceBurst(5, 200), undefined, 'no announce program: nothing to run');
    assert.equal(p.statusAccepted(output('', 1)), true);
    assert.equal(p.parseStatus(output('', 1)).present, false);
    assert.equal(p.statusAccepted(output('', 2)), false);
  });
});
