// The semantic config checks (src/app/config-check.ts), one row per mistake an operator makes: each must be found
// and name its key; a good config must pass.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkConfig, type HostFacts } from '../../src/app/config-check.js';
import { parseConfigText } from '../../src/config/load.js';

const host: HostFacts = {
  interfaces: { lo: ['127.0.0.1/8', '::1/128'], eth0: ['198.51.100.1/24'], eth1: ['203.0.113.1/24'] },
  interfaceExists: (n) => ['lo', 'eth0', 'eth1', 'eth2'].includes(n),
};

function ha(
  over: { listen?: string; vip?: string; iface?: string; haListen?: string; mgmt?: string } = {},
): string {
  return [
    'node: { id: a }',
    `sip: { listen: [${over.listen ?? 'udp://198.51.100.10:5060, tcp://198.51.100.10:5060'}] }`,
    `vip: { address: ${over.vip ?? '198.51.100.10/24'}, interface: ${over.iface ?? 'eth0'} }`,
    `ha: { listen: [${over.haListen ?? '203.0.113.1:7400'}], peer: ['203.0.113.2:7400'], key_file: ha.key }`,
    `management: { listen: '${over.mgmt ?? '203.0.113.1:8080'}', token_file: api.token }`,
  ].join('\n');
}

const check = (yaml: string) =>
  checkConfig(parseConfigText(yaml, 'sipha.yaml'), 'sipha.yaml', host).map((e) => e.message);

describe('config check: the mistakes that used to pass validation', () => {
  it('a good HA config passes', () => assert.deepEqual(check(ha()), []));
  it('a good standalone config passes', () =>
    assert.deepEqual(check('sip: { listen: [udp://127.0.0.1:5060] }'), []));

  const rows: Array<[string, string, RegExp]> = [
    [
      'SIP port 70000',
      'sip: { listen: [udp://127.0.0.1:70000] }',
      /sip\.listen\[0\]: port 70000 is outside 1-65535/,
    ],
    ['SIP port 0', 'sip: { listen: [udp://127.0.0.1:0] }', /sip\.listen\[0\]: port 0 .*random port/],
    [
      'the same listen entry twice',
      'sip: { listen: [udp://127.0.0.1:5060, tcp://127.0.0.1:5060, udp://127.0.0.1:5060] }',
      /sip\.listen\[2\]: the same as sip\.listen\[0\]/,
    ],
    [
      'a VIP no listener serves',
      ha({ listen: 'udp://198.51.100.11:5060' }),
      /vip\.address: 198\.51\.100\.10 is not the address of any sip\.listen/,
    ],
    ['a VIP interface that does not exist', ha({ iface: 'eth9' }), /vip\.interface: no interface eth9/],
    [
      'a VIP outside its interface subnet',
      ha({ iface: 'eth1' }),
      /vip\.interface: eth1 has no address in 198\.51\.100\.10\/24/,
    ],
    [
      'an HA address of another host',
      ha({ haListen: '203.0.113.7:7400' }),
      /ha\.listen\[0\]: 203\.0\.113\.7 is not an address of this host/,
    ],
    [
      'a management address of another host',
      ha({ mgmt: '203.0.113.9:8080' }),
      /management\.listen: 203\.0\.113\.9 is not an address/,
    ],
    ['a management port 70000', ha({ mgmt: '203.0.113.1:70000' }), /management\.listen: port 70000/],
    [
      'a management section without ha',
      "sip: { listen: [udp://127.0.0.1:5060] }\nmanagement: { listen: '127.0.0.1:8080', token_file: t }",
      /management: works only with ha/,
    ],
  ];
  for (const [name, yaml, re] of rows)
    it(name, () => {
      const found = check(yaml);
      assert.ok(
        found.some((m) => re.test(m)),
        `expected ${re} in:\n${found.join('\n')}`,
      );
    });

  it('an interface with no address yet is not "missing" (it may get one before the VIP is added)', () =>
    assert.deepEqual(check(ha({ iface: 'eth2' })), []));
});
