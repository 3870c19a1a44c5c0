// Found by the fuzzer: TCP framing (§18.3) must read lines as the parser does, LF-terminated, or a bare CR inside a
// header value smuggles a Content-Length that frames the stream differently from what the parser then reads; and the
// 400 for such a request must not echo the bare CR (a receiver ending lines there would read injected fields).
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { describe, it } from 'node:test';
import { freePort, startServer } from '../../bench/fuzz/server.js';
import { parseMessage } from '../../src/sip/parser.js';
import { StreamFramer } from '../../src/sip/transport/stream-framer.js';

function options(callId: string): string {
  return [
    'OPTIONS sip:127.0.0.1 SIP/2.0',
    `Via: SIP/2.0/TCP 127.0.0.1:9;branch=z9hG4bK${callId.length}`,
    'Max-Forwards: 70',
    'From: <sip:a@example.test>;tag=1',
    'To: <sip:127.0.0.1>',
    `Call-ID: ${callId}`,
    'CSeq: 1 OPTIONS',
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

describe('stream framing: a bare CR is not a line end', () => {
  it('frames by the Content-Length the parser reads, so the next message stays whole', () => {
    const first = options('one\rContent-Length: 30');
    const second = options('two');
    const events = new StreamFramer(65_535).push(Buffer.from(first + second, 'latin1'));
    assert.deepEqual(
      events.map((e) => e.kind),
      ['message', 'message'],
    );
    const [a, b] = events as Array<{ kind: 'message'; bytes: Buffer }>;
    assert.equal(a!.bytes.toString('latin1'), first);
    const parsed = parseMessage(b!.bytes);
    assert.ok(parsed.ok && parsed.message.callId === 'two');
  });

  it('still reads a Content-Length on a CRLF line, a bare-LF line and the last line, with spaces around', () => {
    for (const head of [
      'OPTIONS sip:x SIP/2.0\r\nl:  3 \r\nCall-ID: a',
      'OPTIONS sip:x SIP/2.0\nContent-Length:3\nCall-ID: a',
      'OPTIONS sip:x SIP/2.0\r\nCall-ID: a\r\ncontent-length : 3',
    ]) {
      const events = new StreamFramer(65_535).push(Buffer.from(`${head}\r\n\r\nabcOPT`, 'latin1'));
      assert.equal(events.length, 1, head);
      const e = events[0]!;
      assert.ok(e.kind === 'message' && e.bytes.toString('latin1').endsWith('\r\n\r\nabc'), head);
    }
  });

  it('takes a Content-Length line broken by a bare CR as no Content-Length: framing is lost', () => {
    const events = new StreamFramer(65_535).push(
      Buffer.from('OPTIONS sip:x SIP/2.0\r\nContent-Length: 3\rx\r\n\r\nabc'),
    );
    assert.deepEqual(
      events.map((e) => e.kind),
      ['error'],
    );
  });
});

describe('a malformed request over TCP with a bare CR in a header value', () => {
  it('gets a 400 without the bare CR, and the next request on the connection its 200', async () => {
    const server = await startServer(await freePort());
    const socket = connect(server.port, '127.0.0.1');
    try {
      let got = '';
      socket.on('data', (d: Buffer) => {
        got += d.toString('latin1');
      });
      const first = options('one\rContent-Length: 30').replace(
        'sip:127.0.0.1 ',
        `sip:127.0.0.1:${server.port} `,
      );
      const second = options('two').replace('sip:127.0.0.1 ', `sip:127.0.0.1:${server.port} `);
      socket.write(Buffer.from(first + second, 'latin1'));
      const until = Date.now() + 5000;
      while (!got.includes('Call-ID: two') && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
      assert.match(got, /^SIP\/2\.0 400 Bad Character In Header Value\r\n/);
      assert.doesNotMatch(got, /\r(?!\n)/, 'no bare CR in what came back');
      assert.match(got, /SIP\/2\.0 200 OK\r\n[\s\S]*Call-ID: two\r\n/);
    } finally {
      socket.destroy();
      await server.stop();
    }
  });
});
