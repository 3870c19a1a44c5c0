// The HA link over real UDP sockets on loopback: two paths per node through relays that can be cut, and an
// attacker socket that sends forged, replayed, stale, reflected and malformed datagrams. The link authenticates
// and delivers; whether the peer is dead is the role machine's verdict (test/ha/role-machine.test.ts, and the
// node on a fake clock in test/ha/node-fake-clock.test.ts). Here each side sends a heartbeat every HB ms.
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { PeerLink } from '../../src/ha/peer-link.js';
import { encode, type PeerMessage } from '../../src/ha/wire.js';
import { eventually } from '../lab/helpers.js';
import { freePorts, UdpRelay } from './udp-relay.js';

const KEY = Buffer.from('0123456789abcdef0123456789abcdef-test-key', 'latin1');
const HB = 20;
const DEAD = 120;

const HB_BODY = { type: 'hb', role: 'backup', term: 3, priority: 100, ready: true, yielding: false } as const;

interface Side {
  link: PeerLink;
  timer?: NodeJS.Timeout;
  messages: PeerMessage[];
  rejects: string[];
}

function side(
  id: string,
  paths: Array<{ listen: string; peer: string }>,
  onRefused?: (path: number) => void,
): Side {
  const s: Side = { link: undefined as unknown as PeerLink, messages: [], rejects: [] };
  s.link = new PeerLink({
    id,
    paths,
    key: KEY,
    deadAfterMs: DEAD,
    maxSkewMs: 1000,
    onMessage: (m) => s.messages.push(m),
    onReject: (reason, detail) => s.rejects.push(`${reason}: ${detail}`),
    ...(onRefused === undefined ? {} : { onRefused }),
  });
  return s;
}

async function startSide(s: Side): Promise<void> {
  await s.link.start();
  s.link.send(HB_BODY);
  s.timer = setInterval(() => s.link.send(HB_BODY), HB);
}

async function closeSide(s: Side | undefined): Promise<void> {
  clearInterval(s?.timer);
  await s?.link.close();
}

/** Heard within dead_after_ms on some path. */
const hearsPeer = (s: Side) => s.link.status().paths.some((p) => p.alive);

describe('peer link over loopback UDP', () => {
  let a: Side;
  let b: Side;
  // relays[i].ab carries path i from A to B, relays[i].ba from B to A.
  const relays: Array<{ ab: UdpRelay; ba: UdpRelay }> = [];
  let aPorts: number[];

  before(async () => {
    const [a0, a1, b0, b1] = (await freePorts(4)) as [number, number, number, number];
    aPorts = [a0, a1];
    for (const [ap, bp] of [
      [a0, b0],
      [a1, b1],
    ] as const) {
      relays.push({ ab: await UdpRelay.open(bp), ba: await UdpRelay.open(ap) });
    }
    const r0 = relays[0] as { ab: UdpRelay; ba: UdpRelay };
    const r1 = relays[1] as { ab: UdpRelay; ba: UdpRelay };
    a = side('a', [
      { listen: `127.0.0.1:${a0}`, peer: `127.0.0.1:${r0.ab.port}` },
      { listen: `127.0.0.1:${a1}`, peer: `127.0.0.1:${r1.ab.port}` },
    ]);
    b = side('b', [
      { listen: `127.0.0.1:${b0}`, peer: `127.0.0.1:${r0.ba.port}` },
      { listen: `127.0.0.1:${b1}`, peer: `127.0.0.1:${r1.ba.port}` },
    ]);
    await startSide(a);
    await startSide(b);
  });

  after(async () => {
    await closeSide(a);
    await closeSide(b);
    for (const r of relays) {
      await r.ab.close();
      await r.ba.close();
    }
  });

  it('hears the peer on both paths and reports them alive', async () => {
    assert.ok(await eventually(async () => hearsPeer(a) && hearsPeer(b), 1000));
    await sleep(3 * HB);
    const st = a.link.status();
    assert.equal(st.peerId, 'b');
    assert.deepEqual(
      st.paths.map((p) => p.alive),
      [true, true],
    );
    assert.ok(st.paths.every((p) => p.received > 0));
    assert.deepEqual(st.rejected, { forged: 0, replayed: 0, stale: 0, malformed: 0 }, a.rejects.join('; '));
    const hb = a.messages.at(-1);
    assert.deepEqual(hb?.body, {
      type: 'hb',
      role: 'backup',
      term: 3,
      priority: 100,
      ready: true,
      yielding: false,
    });
  });

  it('rejects and counts forged, reflected, replayed, stale and malformed datagrams', async () => {
    const attacker = createSocket('udp4');
    attacker.bind(0, '127.0.0.1');
    await once(attacker, 'listening');
    const to = aPorts[0] as number;
    const sendRaw = (buf: Buffer) =>
      new Promise<void>((res) => attacker.send(buf, to, '127.0.0.1', () => res()));
    const before = { ...a.link.status().rejected };
    const okBody = {
      type: 'hb',
      role: 'primary',
      term: 99,
      priority: 255,
      ready: true,
      yielding: false,
    } as const;
    const base: PeerMessage = { from: 'b', inc: Date.now(), seq: 1, ts: Date.now(), path: 0, body: okBody };

    await sendRaw(encode(base, Buffer.from('x'.repeat(32) + 'wrong-key-wrong-key', 'latin1')));
    await sendRaw(encode({ ...base, from: 'a' }, KEY)); // our own id: reflected
    const captured = (relays[0] as { ba: UdpRelay }).ba.seen.at(-1) as Buffer;
    await sendRaw(captured); // a real datagram of B, already delivered
    await sendRaw(encode({ ...base, inc: 1, ts: Date.now() - 10_000 }, KEY)); // stale
    await sendRaw(Buffer.from('SPH1{not json at all}' + '0'.repeat(32), 'latin1'));
    await sendRaw(Buffer.from('hello'));
    await sleep(50);
    attacker.close();

    const r = a.link.status().rejected;
    assert.equal(r.forged - before.forged, 3, a.rejects.join('; ')); // wrong key, bad-MAC garbage, reflected
    assert.equal(r.replayed - before.replayed, 1, a.rejects.join('; '));
    assert.equal(r.stale - before.stale, 1, a.rejects.join('; '));
    assert.equal(r.malformed - before.malformed, 1, a.rejects.join('; '));
    assert.ok(
      !a.messages.some((m) => m.body.type === 'hb' && m.body.term === 99),
      'no rejected message reached the node',
    );
  });

  it('one path cut: the peer stays alive, the path is reported down', async () => {
    const r1 = relays[1] as { ab: UdpRelay; ba: UdpRelay };
    r1.ab.cut = true;
    r1.ba.cut = true;
    await sleep(DEAD * 2);
    assert.ok(hearsPeer(a));
    assert.ok(hearsPeer(b));
    assert.deepEqual(
      a.link.status().paths.map((p) => p.alive),
      [true, false],
    );
  });

  it('all paths cut: every path reported down after dead_after_ms, up again on the first message', async () => {
    const r0 = relays[0] as { ab: UdpRelay; ba: UdpRelay };
    r0.ab.cut = true;
    r0.ba.cut = true;
    const delivered = a.messages.length;
    assert.ok(await eventually(async () => !hearsPeer(a), 2000, 5));
    assert.ok(a.messages.length - delivered <= 2, 'nothing is delivered through a cut path');
    r0.ab.cut = false;
    r0.ba.cut = false;
    assert.ok(await eventually(async () => hearsPeer(a), 1000, 5));
    assert.deepEqual(a.link.status().rejected.replayed, 1, 'the restored path brings no false replays');
  });
});

describe('peer link ordering across paths', () => {
  it('delivers a message only if it is newer than the last delivered: a slow path’s stale copy is heard, not delivered', async () => {
    const [p] = (await freePorts(1)) as [number];
    const x = side('x', [{ listen: `127.0.0.1:${p}`, peer: '127.0.0.1:9' }]);
    await x.link.start();
    const raw = createSocket('udp4');
    await new Promise<void>((r) => raw.bind(0, '127.0.0.1', () => r()));
    const inc = Date.now();
    const hb = (seq: number, role: 'primary' | 'backup') =>
      encode({ from: 'y', inc, seq, ts: Date.now(), path: 0, body: { ...HB_BODY, role } }, KEY);
    const send = (buf: Buffer) => new Promise<void>((r) => raw.send(buf, p, '127.0.0.1', () => r()));
    try {
      await send(hb(5, 'backup'));
      await send(hb(7, 'primary'));
      await send(hb(6, 'backup')); // sent before 7, arriving after it
      await sleep(50);
      assert.deepEqual(
        x.messages.map((m) => (m.body.type === 'hb' ? `${m.seq} ${m.body.role}` : m.body.type)),
        ['5 backup', '7 primary'],
      );
      assert.equal(x.link.status().rejected.replayed, 0, 'authentic and fresh: not a replay');
      assert.equal(x.link.status().paths[0]?.received, 3, 'all three were heard');
    } finally {
      raw.close();
      await closeSide(x);
    }
  });
});

describe('peer link: the peer process gone (ICMP port unreachable on the connected send socket)', () => {
  it('reports nothing while the peer answers; each refused heartbeat once its socket is closed, on every path', async () => {
    const [a0, a1, b0, b1] = (await freePorts(4)) as [number, number, number, number];
    const refused: number[] = [];
    const a = side(
      'a',
      [
        { listen: `127.0.0.1:${a0}`, peer: `127.0.0.1:${b0}` },
        { listen: `127.0.0.1:${a1}`, peer: `127.0.0.1:${b1}` },
      ],
      (p) => refused.push(p),
    );
    const b = side('b', [
      { listen: `127.0.0.1:${b0}`, peer: `127.0.0.1:${a0}` },
      { listen: `127.0.0.1:${b1}`, peer: `127.0.0.1:${a1}` },
    ]);
    try {
      await startSide(b);
      await startSide(a);
      assert.ok(await eventually(async () => hearsPeer(a) && hearsPeer(b), 1000));
      await sleep(10 * HB);
      assert.equal(refused.length, 0, 'a live peer never refuses');
      assert.deepEqual(
        a.link.status().paths.map((p) => p.refused),
        [0, 0],
      );
      await closeSide(b);
      assert.ok(
        await eventually(async () => refused.includes(0) && refused.includes(1), 1000, 5),
        `refusals on both paths: ${refused.join(',')}`,
      );
      const paths = a.link.status().paths;
      assert.ok(paths.every((p) => p.refused > 0));
      assert.equal(
        paths.reduce((n, p) => n + p.refused, 0),
        refused.length,
        'each refusal reported once and counted',
      );
      assert.ok(
        paths.every((p) => p.sendErrors === 0),
        'a refusal is not a send error',
      );
    } finally {
      await closeSide(a);
      await closeSide(b);
    }
  });
});
