// Every kind of config mistake gives one clear error naming the key and the problem.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, parseConfigText } from '../../src/config/load.js';

const SIP = 'sip: { listen: [udp://127.0.0.1:5060] }';

function error(text: string): ConfigError {
  try {
    parseConfigText(text, 'sipha.yaml');
  } catch (err) {
    assert.ok(err instanceof ConfigError, `not a ConfigError: ${String(err)}`);
    return err;
  }
  assert.fail('expected a config error');
}

describe('config validation', () => {
  it('ha.replication.ack_wait_ms defaults to 10 ms and 0 turns the wait off', () => {
    const ha = `${SIP}\nvip: { address: 198.51.100.10/24, interface: eth0 }\nha: { listen: ["203.0.113.11:7400"], peer: ["203.0.113.12:7400"], key_file: k`;
    assert.equal(parseConfigText(`${ha} }`).ha?.replication.ack_wait_ms, 10);
    assert.equal(parseConfigText(`${ha}, replication: { ack_wait_ms: 0 } }`).ha?.replication.ack_wait_ms, 0);
  });

  it('accepts the minimal standalone config and fills defaults', () => {
    const c = parseConfigText(SIP);
    assert.deepEqual(c.sip.listen, ['udp://127.0.0.1:5060']);
    assert.equal(c.sip.registrar.min_expires, 60);
    assert.equal(c.ha, undefined);
    assert.deepEqual(c.sip.auth, { inbound: 'allow', trusted: [] });
    assert.deepEqual(
      c.sip.auth_algorithms,
      ['MD5'],
      'what every phone answers (test/server/clients.test.ts)',
    );
  });
  it('reads the relay policy keys beside users_file and auth_algorithms', () => {
    const c = parseConfigText(
      'sip: { listen: [udp://127.0.0.1:5060], users_file: u.yaml, auth_algorithms: [SHA-256, MD5], auth: { inbound: challenge, trusted: [198.51.100.50, 203.0.113.0/24, "2001:db8::/32"] } }',
    );
    assert.equal(c.sip.users_file, 'u.yaml');
    assert.deepEqual(c.sip.auth_algorithms, ['SHA-256', 'MD5']);
    assert.deepEqual(c.sip.auth, {
      inbound: 'challenge',
      trusted: ['198.51.100.50', '203.0.113.0/24', '2001:db8::/32'],
    });
  });
  it('fills the overload control defaults and reads them', () => {
    assert.deepEqual(parseConfigText(SIP).sip.overload, {
      enabled: true,
      max_loop_delay_ms: 40,
      retry_after_s: 5,
    });
    const c = parseConfigText(
      'sip: { listen: [udp://127.0.0.1:5060], overload: { enabled: false, max_loop_delay_ms: 80, retry_after_s: 30 } }',
    );
    assert.deepEqual(c.sip.overload, { enabled: false, max_loop_delay_ms: 80, retry_after_s: 30 });
  });
  const cases: Array<[string, string, string, RegExp]> = [
    ['not YAML', 'sip: [unclosed', '', /not valid YAML/],
    ['not a mapping', '- a\n- b', '', /mapping/],
    ['missing sip', 'node: { id: a }', 'sip', /required/],
    ['bad listen URI', 'sip: { listen: [udp://nowhere] }', 'sip.listen[0]', /udp:\/\/ADDRESS:PORT/],
    ['empty listen', 'sip: { listen: [] }', 'sip.listen', /.+/],
    ['unknown key', `${SIP}\nbogus: 1`, '', /unknown key\(s\): bogus/],
    [
      'unknown nested key',
      'sip: { listen: [udp://127.0.0.1:5060], domian: x }',
      'sip',
      /unknown key\(s\): domian/,
    ],
    [
      'wrong type',
      'sip: { listen: [udp://127.0.0.1:5060], registrar: { min_expires: "soon" } }',
      'sip.registrar.min_expires',
      /number/,
    ],
    [
      'bad route regex',
      'sip: { listen: [udp://127.0.0.1:5060], routes: [{ match: "(", to: "sip:1.2.3.4" }] }',
      'sip.routes[0].match',
      /regular expression/,
    ],
    [
      'bad route target',
      'sip: { listen: [udp://127.0.0.1:5060], routes: [{ match: "x", to: "http://x" }] }',
      'sip.routes[0].to',
      /sip:/,
    ],
    ['bad node id', `${SIP}\nnode: { id: "a b" }`, 'node.id', /letters/],
    [
      'ha without vip',
      `${SIP}\nha: { listen: ["203.0.113.11:7400"], peer: ["203.0.113.12:7400"], key_file: k }`,
      'vip',
      /required when ha is set/,
    ],
    [
      'dead_after too short',
      `${SIP}\nvip: { address: 198.51.100.10/24, interface: eth0 }\nha: { listen: ["203.0.113.11:7400"], peer: ["203.0.113.12:7400"], key_file: k, heartbeat_ms: 100, dead_after_ms: 150 }`,
      'ha.dead_after_ms',
      /twice heartbeat_ms/,
    ],
    [
      'ack wait too long',
      `${SIP}\nvip: { address: 198.51.100.10/24, interface: eth0 }\nha: { listen: ["203.0.113.11:7400"], peer: ["203.0.113.12:7400"], key_file: k, replication: { ack_wait_ms: 5000 } }`,
      'ha.replication.ack_wait_ms',
      /whole number of ms from 0 to 1000/,
    ],
    [
      'ack wait not whole',
      `${SIP}\nvip: { address: 198.51.100.10/24, interface: eth0 }\nha: { listen: ["203.0.113.11:7400"], peer: ["203.0.113.12:7400"], key_file: k, replication: { ack_wait_ms: 2.5 } }`,
      'ha.replication.ack_wait_ms',
      /whole number of ms from 0 to 1000/,
    ],
    [
      'repeated auth algorithm',
      'sip: { listen: [udp://127.0.0.1:5060], auth_algorithms: [MD5, MD5] }',
      'sip.auth_algorithms',
      /repeat/,
    ],
    [
      'trusted peer not an address',
      'sip: { listen: [udp://127.0.0.1:5060], auth: { trusted: [198.51.100.50, gw.example] } }',
      'sip.auth.trusted[1]',
      /IP address or ADDRESS\/PREFIX/,
    ],
    [
      'trusted prefix too long',
      'sip: { listen: [udp://127.0.0.1:5060], auth: { trusted: ["2001:db8::/129"] } }',
      'sip.auth.trusted[0]',
      /ADDRESS\/PREFIX/,
    ],
    [
      'unknown inbound policy',
      'sip: { listen: [udp://127.0.0.1:5060], users_file: u.yaml, auth: { inbound: deny } }',
      'sip.auth.inbound',
      /allow|challenge/,
    ],
    [
      'inbound challenge without users',
      'sip: { listen: [udp://127.0.0.1:5060], auth: { inbound: challenge } }',
      'sip.auth.inbound',
      /needs sip\.users_file/,
    ],
    [
      'unknown auth key',
      'sip: { listen: [udp://127.0.0.1:5060], auth: { trust: [] } }',
      'sip.auth',
      /unknown key\(s\): trust/,
    ],
    [
      'overload threshold of zero',
      'sip: { listen: [udp://127.0.0.1:5060], overload: { max_loop_delay_ms: 0 } }',
      'sip.overload.max_loop_delay_ms',
      /5/,
    ],
    [
      'overload Retry-After not a whole number',
      'sip: { listen: [udp://127.0.0.1:5060], overload: { retry_after_s: 2.5 } }',
      'sip.overload.retry_after_s',
      /expected int/,
    ],
    [
      'unknown overload key',
      'sip: { listen: [udp://127.0.0.1:5060], overload: { threshold: 10 } }',
      'sip.overload',
      /unknown key\(s\): threshold/,
    ],
  ];
  for (const [name, text, key, problem] of cases) {
    it(name, () => {
      const e = error(text);
      assert.equal(e.key, key);
      assert.match(e.problem, problem);
      assert.match(e.message, /^sipha\.yaml: /);
    });
  }
});
