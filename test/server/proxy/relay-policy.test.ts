// The relay policy (§16.3 step 6) as a table: facts about a request in, allow / challenge / forbid out.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AddressSet, isLoopback, parseCidr } from '../../../src/net/address.js';
import {
  type RelayDecision,
  type RelayFacts,
  type RelayPolicy,
  relayDecision,
} from '../../../src/server/proxy/relay-policy.js';

/** Out of dialog, From a stranger, to a local user, from an untrusted address, no credentials. */
const BASE: RelayFacts = {
  method: 'INVITE',
  inDialog: false,
  fromOurs: false,
  fromUser: 'mallory',
  destination: 'local',
  trustedSource: false,
  authenticatedUser: undefined,
};
const ON: RelayPolicy = { authentication: true, inbound: 'allow' };
const OURS = { fromOurs: true, fromUser: 'alice' };

const table: Array<[string, Partial<RelayFacts>, RelayPolicy, RelayDecision]> = [
  [
    'no users file: open, even a relay to a gateway',
    { destination: 'leaving' },
    { ...ON, authentication: false },
    'allow',
  ],
  ['stranger to a local user (inbound: allow)', {}, ON, 'allow'],
  ['stranger to a local user (inbound: challenge)', {}, { ...ON, inbound: 'challenge' }, 'challenge'],
  ['stranger to a gateway or foreign host', { destination: 'leaving' }, ON, 'challenge'],
  ['stranger MESSAGE out of the domain', { method: 'MESSAGE', destination: 'leaving' }, ON, 'challenge'],
  ['our From to a local user, no credentials', OURS, ON, 'challenge'],
  ['our From, SUBSCRIBE to a local user', { ...OURS, method: 'SUBSCRIBE' }, ON, 'challenge'],
  ['our From, OPTIONS to a local user', { ...OURS, method: 'OPTIONS' }, ON, 'challenge'],
  ['our From, the From user’s credentials', { ...OURS, authenticatedUser: 'alice' }, ON, 'allow'],
  ['our From, another user’s credentials', { ...OURS, authenticatedUser: 'bob' }, ON, 'forbid'],
  [
    'our From leaving, the From user’s credentials',
    { ...OURS, destination: 'leaving', authenticatedUser: 'alice' },
    ON,
    'allow',
  ],
  [
    'our From leaving, another user’s credentials',
    { ...OURS, destination: 'leaving', authenticatedUser: 'bob' },
    ON,
    'forbid',
  ],
  [
    'stranger From leaving with valid credentials',
    { destination: 'leaving', authenticatedUser: 'alice' },
    ON,
    'allow',
  ],
  ['in dialog (To tag and our Route), leaving', { inDialog: true, destination: 'leaving' }, ON, 'allow'],
  ['in dialog, our From without credentials', { ...OURS, inDialog: true }, ON, 'allow'],
  ['trusted peer to a gateway', { destination: 'leaving', trustedSource: true }, ON, 'allow'],
  ['trusted peer with our From', { ...OURS, trustedSource: true }, ON, 'allow'],
  ['trusted peer, inbound: challenge', { trustedSource: true }, { ...ON, inbound: 'challenge' }, 'allow'],
  [
    'the server itself (keepalive OPTIONS)',
    { ...OURS, method: 'OPTIONS', destination: 'server' },
    ON,
    'allow',
  ],
  [
    'the server itself, inbound: challenge',
    { destination: 'server' },
    { ...ON, inbound: 'challenge' },
    'allow',
  ],
  ['ACK out of the domain', { method: 'ACK', destination: 'leaving' }, ON, 'allow'],
  ['CANCEL from our From', { ...OURS, method: 'CANCEL' }, ON, 'allow'],
  [
    'REGISTER for our domain (the registrar’s 401)',
    { ...OURS, method: 'REGISTER', destination: 'server' },
    ON,
    'allow',
  ],
  ['REGISTER relayed out of the domain', { method: 'REGISTER', destination: 'leaving' }, ON, 'challenge'],
];

describe('relay policy (§16.3 step 6, Kamailio route[AUTH])', () => {
  for (const [name, facts, policy, want] of table) {
    it(`${name} → ${want}`, () => assert.equal(relayDecision({ ...BASE, ...facts }, policy), want));
  }
});

describe('trusted addresses (sip.auth.trusted)', () => {
  it('matches addresses and networks of both families, IPv4-mapped IPv6 included', () => {
    const set = new AddressSet(['198.51.100.50', '203.0.113.0/24', '2001:db8:5::/48']);
    for (const a of ['198.51.100.50', '203.0.113.255', '::ffff:203.0.113.7', '2001:DB8:5::9']) {
      assert.equal(set.has(a), true, a);
    }
    for (const a of ['198.51.100.51', '203.0.112.255', '2001:db8:6::1', 'example.test', '']) {
      assert.equal(set.has(a), false, a);
    }
  });
  it('parses ADDRESS and ADDRESS/PREFIX, refusing a prefix too long for the family', () => {
    assert.deepEqual(parseCidr('10.0.0.0/8'), { address: '10.0.0.0', prefix: 8, family: 4 });
    assert.deepEqual(parseCidr('::1'), { address: '::1', prefix: 128, family: 6 });
    for (const bad of ['10.0.0.0/33', '10.0.0.0/', 'gw.example', '2001:db8::/129', '10.0.0.0/8/8']) {
      assert.equal(parseCidr(bad), undefined, bad);
      assert.throws(() => new AddressSet([bad]), /ADDRESS\/PREFIX/);
    }
  });
  it('knows loopback from the rest (the open-relay warning at start)', () => {
    assert.deepEqual(['127.0.0.1', '127.9.9.9', '::1', '0.0.0.0', '::', '192.0.2.1'].map(isLoopback), [
      true,
      true,
      true,
      false,
      false,
      false,
    ]);
  });
});
