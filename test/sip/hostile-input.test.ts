// 100,000+ random, truncated and mutated messages thrown at real UDP and TCP sockets: the process stays up, every bad
// message is answered or counted, and the server still answers afterwards.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parseMessage } from '../../src/sip/parser.js';
import { type EchoServer, startEchoServer } from '../helpers/echo-server.js';
import { hostileMessage, prng } from '../helpers/hostile.js';
import { request, TcpPeer, UdpPeer } from '../helpers/sip-peer.js';

const UDP_MESSAGES = 100_000;
const TCP_MESSAGES = 20_000;

describe('hostile input', () => {
  let server: EchoServer;
  before(async () => {
    server = await startEchoServer(undefined, { keepRequests: false });
  });
  after(async () => {
    await server.stop();
  });

  it('parseMessage never throws on 100,000 hostile inputs', () => {
    const rand = prng(1);
    let errors = 0;
    for (let i = 0; i < UDP_MESSAGES; i++) {
      const r = parseMessage(hostileMessage(rand));
      if (!r.ok) errors++;
    }
    assert.ok(errors > UDP_MESSAGES / 2, `most hostile inputs are rejected (${errors})`);
  });

  it('a real UDP socket takes 100,000 hostile datagrams and keeps answering', async () => {
    const rand = prng(2);
    const peer = await UdpPeer.open();
    const c = server.transport.counters;
    const inBefore = c.messagesIn;
    try {
      let sent = 0;
      for (let i = 0; i < UDP_MESSAGES; i++) {
        const m = hostileMessage(rand);
        if (m.length === 0 || m.length > 65_000) continue;
        await peer.send(m, server.port('udp'));
        sent++;
        // Pace the burst (the sender shares the event loop with the server) so that the kernel's receive buffer
        // does not overflow: wait until the server has read nearly everything, or briefly when datagrams were lost.
        if (sent % 50 === 0) {
          const deadline = Date.now() + 20;
          while (c.messagesIn - inBefore < sent - 50 && Date.now() < deadline)
            await new Promise((r) => setImmediate(r));
          peer.received.length = 0;
        }
      }
      await new Promise((r) => setTimeout(r, 200));
      peer.received.length = 0;
      await peer.send(request('OPTIONS'), server.port('udp'));
      const res = await peer.nextResponse((r) => r.cseq?.method === 'OPTIONS' && r.status === 200, 3000);
      assert.equal(res.status, 200);
    } finally {
      peer.close();
    }
    const seen = c.messagesIn - inBefore;
    // Empty and oversized datagrams are never sent; the rest should almost all arrive on loopback.
    const parseErrors = Object.values(c.parseErrors).reduce((a, b) => a + b, 0);
    assert.ok(seen > UDP_MESSAGES * 0.9, `the socket received most datagrams (${seen})`);
    assert.ok(parseErrors > seen * 0.3, `malformed datagrams were counted (${parseErrors})`);
    assert.ok(c.malformedAnswered > 0, 'some malformed requests were answered with 400/505/513');
    assert.ok(c.malformedDropped > 0, 'unanswerable ones were dropped and counted');
    assert.equal(c.handlerErrors, 0);
  });

  it('a real TCP listener takes 20,000 hostile messages over many connections and keeps answering', async () => {
    const rand = prng(3);
    let sent = 0;
    let connections = 0;
    while (sent < TCP_MESSAGES) {
      const peer = await TcpPeer.connect(server.port('tcp'));
      connections++;
      // Framing errors close the connection: keep writing until it does, then open another.
      for (let k = 0; k < 50 && !peer.closed && sent < TCP_MESSAGES; k++, sent++)
        peer.write(hostileMessage(rand));
      await new Promise((r) => setImmediate(r));
      peer.close();
    }
    const peer = await TcpPeer.connect(server.port('tcp'));
    try {
      peer.write(request('OPTIONS', { over: 'TCP' }));
      assert.equal((await peer.nextResponse(3000)).status, 200);
    } finally {
      peer.close();
    }
    assert.ok(
      connections > 100,
      `hostile streams broke framing and were closed (${connections} connections)`,
    );
    assert.equal(server.transport.counters.handlerErrors, 0);
  });
});
