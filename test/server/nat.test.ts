// Which bindings are reached through their flow (src/server/nat.ts), and the contact key that finds a phone's
// binding from a dialog's remote target.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isPrivateAddress } from '../../src/net/address.js';
import { LocationService } from '../../src/server/location-service.js';
import { contactKey, useFlow } from '../../src/server/nat.js';

const FROM_NAT = { transport: 'udp' as const, address: '198.51.100.254', port: 40000 };

describe('NAT decisions', () => {
  it('private networks: RFC 1918, RFC 6598, RFC 4193 and link-local; not public or loopback', () => {
    for (const a of [
      '10.1.2.3',
      '172.16.0.1',
      '172.31.255.255',
      '192.168.51.10',
      '100.64.0.1',
      '169.254.1.1',
      'fd00::1',
      'fe80::1',
    ])
      assert.equal(isPrivateAddress(a), true, a);
    for (const a of [
      '198.51.100.10',
      '172.32.0.1',
      '100.128.0.1',
      '2001:db8::1',
      '127.0.0.1',
      'example.test',
    ])
      assert.equal(isPrivateAddress(a), false, a);
  });

  const cases: Array<[string, typeof FROM_NAT | undefined, 'auto' | 'always' | 'never', boolean]> = [
    ['sip:p@192.168.51.10:5060', FROM_NAT, 'auto', true],
    ['sip:p@192.168.51.10:5060', { ...FROM_NAT, address: '192.168.51.10' }, 'auto', false],
    ['sip:p@198.51.100.77', FROM_NAT, 'auto', false],
    ['sip:p@192.168.51.10:5060', undefined, 'auto', false],
    ['sip:p@192.168.51.10:5060', FROM_NAT, 'never', false],
    ['sip:p@198.51.100.77', FROM_NAT, 'always', true],
    ['tel:+15551234', FROM_NAT, 'auto', false],
  ];
  for (const [contact, received, mode, flow] of cases) {
    it(`${mode}: ${contact} from ${received?.address ?? 'nowhere'} → ${flow ? 'flow' : 'contact'}`, () => {
      assert.equal(useFlow(contact, received, mode), flow);
    });
  }

  it('the contact key ignores parameters and host case, keeps user, host and port', () => {
    assert.equal(contactKey('sip:p@Host.Example:5060;transport=udp'), contactKey('sip:p@host.example:5060'));
    assert.notEqual(contactKey('sip:p@host.example:5060'), contactKey('sip:p@host.example:5062'));
    assert.notEqual(contactKey('sip:p@host.example'), contactKey('sip:q@host.example'));
    assert.equal(contactKey('tel:+1555'), undefined);
  });

  it('the location service finds a live binding by its contact, and forgets it when it goes', () => {
    const loc = new LocationService();
    const b = {
      aor: 'p@example.test',
      contact: 'sip:p@192.168.51.10:5060;transport=udp',
      q: 1000,
      expiresAt: 1000,
      callId: 'x',
      cseq: 1,
      path: [],
      received: FROM_NAT,
      updatedAt: 0,
    };
    loc.put(b);
    assert.equal(loc.byContactUri('sip:p@192.168.51.10:5060', 0)?.aor, 'p@example.test');
    assert.equal(loc.byContactUri('sip:p@192.168.51.10:5060', 1000), undefined, 'expired');
    loc.put({ ...b, expiresAt: 5000 });
    assert.equal(
      loc.byContactUri('sip:p@192.168.51.10:5060', 1000)?.expiresAt,
      5000,
      'the refresh is indexed',
    );
    loc.remove(b.aor, b.contact);
    assert.equal(loc.byContactUri('sip:p@192.168.51.10:5060', 0), undefined);
  });
});
