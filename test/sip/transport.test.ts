import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parseMessage } from '../../src/sip/parser.js';
import { type EchoServer, startEchoServer } from '../helpers/echo-server.js';
import { request, TcpPeer, UdpPeer } from '../helpers/sip-peer.js';

describe('UDP transport on loopback', () => {
  let server: EchoServer;
  let peer: UdpPeer;
  before(async () => {
    server = await startEchoServer();
    peer = await UdpPeer.open();
  });
  after(async () => {
    peer.close();
    await server.stop();
  });

  it('answers a request at the source port (rport) and stamps received/rport in the Via', async () => {
    await peer.send(request('OPTIONS', { port: 5999 }), server.port('udp'));
    const res = await peer.nextResponse();
    assert.equal(res.status, 200);
    const via = res.via!;
    assert.equal(via.received, '127.0.0.1', 'received is added because rport was asked for');
    assert.equal(via.rport, peer.port);
  });

  it('answers a request missing Call-ID with a 400 naming the header, and counts it', async () => {
    const before = server.transport.counters.malformedAnswered;
    const text = request('OPTIONS').replace(/Call-ID: [^\r]*\r\n/, '');
    await peer.send(text, server.port('udp'));
    const res = await peer.nextStatusLine();
    assert.equal(res.status, 400);
    assert.equal(res.reason, 'Missing Call-ID Header');
    assert.equal(server.transport.counters.malformedAnswered, before + 1);
    assert.ok((server.transport.counters.parseErrors['missing-header'] ?? 0) >= 1);
  });

  it('answers another SIP version with 505', async () => {
    await peer.send(request('OPTIONS').replace(' SIP/2.0\r\n', ' SIP/3.0\r\n'), server.port('udp'));
    const res = await peer.nextResponse();
    assert.equal(res.status, 505);
  });

  it('answers a bad CSeq with 400 Bad CSeq Header', async () => {
    await peer.send(request('OPTIONS').replace(/CSeq: \d+/, 'CSeq: 99999999999'), server.port('udp'));
    const res = await peer.nextStatusLine();
    assert.match(res.text, /\r\nCSeq: 99999999999 OPTIONS\r\n/, 'the defective header is copied as received');
    assert.equal(res.status, 400);
    assert.equal(res.reason, 'Bad CSeq Header');
  });

  it('drops malformed responses, malformed ACKs and garbage, counting each', async () => {
    const c = server.transport.counters;
    const dropped = c.malformedDropped;
    await peer.send('SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1\r\n\r\n', server.port('udp'));
    await peer.send(request('ACK').replace(/Call-ID: [^\r]*\r\n/, ''), server.port('udp'));
    await peer.send(Buffer.from([0, 1, 2, 3, 255, 254, 10, 13]), server.port('udp'));
    await peer.send(request('OPTIONS'), server.port('udp'));
    assert.equal((await peer.nextResponse()).status, 200, 'still answering afterwards');
    assert.equal(c.malformedDropped, dropped + 3);
    assert.equal(peer.received.length, 0, 'nothing was sent back for the dropped messages');
  });

  it('survives a handler that throws, counts it, and keeps answering', async () => {
    const before = server.transport.counters.handlerErrors;
    await peer.send(request('OPTIONS', { extra: ['X-Throw: yes'] }), server.port('udp'));
    await peer.send(request('OPTIONS'), server.port('udp'));
    assert.equal((await peer.nextResponse()).status, 200);
    assert.equal(server.transport.counters.handlerErrors, before + 1);
  });

  it('cuts the body to Content-Length and rejects a body shorter than announced', async () => {
    await peer.send(request('MESSAGE', { body: 'hello' }) + 'EXTRA', server.port('udp'));
    assert.equal((await peer.nextResponse()).status, 200);
    const last = server.requests.at(-1)!.request;
    assert.equal(last.body.toString(), 'hello');
    await peer.send(
      request('MESSAGE', { body: 'hello' }).replace('Content-Length: 5', 'Content-Length: 50'),
      server.port('udp'),
    );
    const res = await peer.nextResponse();
    assert.equal(res.status, 400);
    assert.equal(res.reason, 'Body Shorter Than Content-Length');
  });

  it('answers an oversized datagram with 513', async () => {
    const small = await startEchoServer(undefined, {
      limits: { maxMessageBytes: 2000, maxHeaders: 50, maxLineLength: 1000 },
    });
    try {
      await peer.send(request('MESSAGE', { body: 'x'.repeat(3000) }), small.port('udp'));
      const res = await peer.nextResponse();
      assert.equal(res.status, 513, 'too large for the limit, but the head is readable: answered');
      assert.equal(small.requests.length, 0);
    } catch (err) {
      await small.stop();
      throw err;
    }
    await small.stop();
  });
});

describe('TCP transport on loopback', () => {
  let server: EchoServer;
  before(async () => {
    server = await startEchoServer(undefined, { tcpIdleTimeoutMs: 1500 });
  });
  after(async () => {
    await server.stop();
  });

  it('frames back-to-back and split messages by Content-Length', async () => {
    const peer = await TcpPeer.connect(server.port('tcp'));
    try {
      const a = request('OPTIONS', { over: 'TCP' });
      const b = request('MESSAGE', { over: 'TCP', body: 'two\r\n\r\nparts' });
      const both = Buffer.from(a + b, 'latin1');
      peer.write(both.subarray(0, 10));
      await new Promise((r) => setTimeout(r, 20));
      peer.write(both.subarray(10, both.length - 7));
      await new Promise((r) => setTimeout(r, 20));
      peer.write(both.subarray(both.length - 7));
      const r1 = await peer.nextResponse();
      const r2 = await peer.nextResponse();
      assert.deepEqual([r1.cseq!.method, r2.cseq!.method], ['OPTIONS', 'MESSAGE']);
      assert.equal(server.requests.at(-1)!.request.body.toString(), 'two\r\n\r\nparts');
    } finally {
      peer.close();
    }
  });

  it('answers a CRLFCRLF keep-alive ping with a CRLF pong (RFC 5626)', async () => {
    const peer = await TcpPeer.connect(server.port('tcp'));
    try {
      const before = server.transport.counters.keepalivesAnswered;
      peer.write('\r\n\r\n');
      await peer.until(() => Buffer.concat(peer.raw).toString() === '\r\n');
      assert.equal(server.transport.counters.keepalivesAnswered, before + 1);
      peer.write(request('OPTIONS', { over: 'TCP' }));
      assert.equal((await peer.nextResponse()).status, 200, 'the connection still carries SIP after a ping');
    } finally {
      peer.close();
    }
  });

  it('answers a message without Content-Length with 400 and closes the connection', async () => {
    const peer = await TcpPeer.connect(server.port('tcp'));
    try {
      peer.write(request('OPTIONS', { over: 'TCP' }).replace(/Content-Length: 0\r\n/, ''));
      const res = await peer.nextResponse();
      assert.equal(res.status, 400);
      await peer.until(() => peer.closed, 3000);
    } finally {
      peer.close();
    }
  });

  it('closes idle connections', async () => {
    const peer = await TcpPeer.connect(server.port('tcp'));
    await peer.until(() => peer.closed, 4000);
    assert.ok(peer.closed);
  });

  it('reuses the open connection to send a request to that remote address', async () => {
    const peer = await TcpPeer.connect(server.port('tcp'));
    try {
      peer.write(request('OPTIONS', { over: 'TCP' }));
      await peer.nextResponse();
      const { source } = server.requests.at(-1)!;
      const outbound = parseMessage(Buffer.from(request('NOTIFY', { over: 'TCP' }), 'latin1'));
      assert.ok(outbound.ok && outbound.message.kind === 'request');
      const opened = server.transport.tcpConnections;
      server.transport.sendRequest(outbound.message, {
        transport: 'tcp',
        address: source.address,
        port: source.port,
      });
      await peer.until(() => peer.received.length > 0);
      const got = parseMessage(peer.received.shift()!, undefined, 'stream');
      assert.ok(got.ok && got.message.kind === 'request' && got.message.method === 'NOTIFY');
      assert.equal(server.transport.tcpConnections, opened, 'no new connection was opened');
    } finally {
      peer.close();
    }
  });
});

describe('IPv6 transports', () => {
  it('answers over UDP and TCP on ::1', async () => {
    const server = await startEchoServer([
      { transport: 'udp', address: '::1', port: 0 },
      { transport: 'tcp', address: '::1', port: 0 },
    ]);
    const udp = await UdpPeer.open('::1');
    try {
      await udp.send(request('OPTIONS'), server.port('udp', 6), '::1');
      const res = await udp.nextResponse();
      assert.equal(res.via!.received, '::1');
      const tcp = await TcpPeer.connect(server.port('tcp', 6), '::1');
      tcp.write(request('OPTIONS', { over: 'TCP' }));
      assert.equal((await tcp.nextResponse()).status, 200);
      tcp.close();
    } finally {
      udp.close();
      await server.stop();
    }
  });
});
