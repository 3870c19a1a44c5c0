import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { directoryTarget } from '../../src/app/cluster-directory.js';
import { configSchema } from '../../src/config/schema.js';

const listening = [
  { transport: 'tcp' as const, address: '192.0.2.5', port: 5070 },
  { transport: 'udp' as const, address: '192.0.2.5', port: 5060 },
];

function config(extra: Record<string, unknown>, advertise?: string) {
  return configSchema.parse({
    sip: { listen: ['udp://192.0.2.5:5060'], domain: 'example.test' },
    cluster: {
      etcd: ['http://127.0.0.1:2379'],
      pair_id: 'p1',
      ...(advertise === undefined ? {} : { advertise }),
    },
    ...extra,
  });
}

describe('directory target (where the other pairs send our calls)', () => {
  it('is cluster.advertise when set', () => {
    assert.equal(directoryTarget(config({}, '203.0.113.9:5080'), { listening }), '203.0.113.9:5080');
  });

  it('is the first UDP listen address standalone', () => {
    assert.equal(directoryTarget(config({}), { listening }), '192.0.2.5:5060');
  });

  it('is the VIP on the first UDP port in HA mode', () => {
    const c = config({ vip: { address: '198.51.100.10/24', interface: 'eth0' } });
    assert.equal(directoryTarget(c, { listening }), '198.51.100.10:5060');
  });

  it('brackets an IPv6 address', () => {
    const v6 = [{ transport: 'udp' as const, address: '2001:db8::5', port: 5060 }];
    assert.equal(directoryTarget(config({}), { listening: v6 }), '[2001:db8::5]:5060');
  });
});
