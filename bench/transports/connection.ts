// One client "connection" of the load generator over udp, tls or wss, all with the same face: send a SIP message as
// text, get every whole SIP message received. UDP is a socket of its own per connection (so each simulated phone has
// its own address, like a TLS/WS one); TLS frames the byte stream by Content-Length; WebSocket carries one message
// per text frame (RFC 7118 §5).
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { type TLSSocket, connect as tlsConnect } from 'node:tls';
import WebSocket from 'ws';
import { StreamFramer } from '../../src/sip/transport/stream-framer.js';

export type Transport = 'udp' | 'tls' | 'wss';
export const TRANSPORTS: readonly Transport[] = ['udp', 'tls', 'wss'];

export interface Connection {
  readonly transport: Transport;
  /** What goes into Via sent-by: the local address, or a made-up .invalid host for WebSocket (RFC 7118 §5.2). */
  readonly viaHost: string;
  /** The host[:port] part of a Contact URI reaching this connection, with its transport parameter. */
  readonly contactHost: string;
  send(text: string): void;
  onMessage(handler: (bytes: Buffer) => void): void;
  /** Called once when the server closes or resets the connection (never for UDP). */
  onClose(handler: () => void): void;
  close(): void;
  /** TLS only: whether the handshake resumed a session, and the latest session to offer next time. */
  reused(): boolean;
  session(): Buffer | undefined;
}

export interface ConnectOptions {
  /** A saved TLS session to offer (session resumption). */
  session?: Buffer;
  timeoutMs?: number;
}

const MAX_MESSAGE = 65_535;

export function openConnection(
  transport: Transport,
  port: number,
  opts: ConnectOptions = {},
): Promise<Connection> {
  const timeoutMs = opts.timeoutMs ?? 5000;
  if (transport === 'udp') return openUdp(port);
  if (transport === 'tls') return openTls(port, opts.session, timeoutMs);
  return openWss(port, timeoutMs);
}

function openUdp(port: number): Promise<Connection> {
  return new Promise((resolve, reject) => {
    const s: UdpSocket = createSocket('udp4');
    s.once('error', reject);
    s.bind(0, '127.0.0.1', () => {
      s.setRecvBufferSize(4 * 1024 * 1024);
      const local = s.address().port;
      resolve({
        transport: 'udp',
        viaHost: `127.0.0.1:${local}`,
        contactHost: `127.0.0.1:${local}`,
        send: (text) => s.send(text, port, '127.0.0.1'),
        onMessage: (h) => s.on('message', h),
        onClose: () => {},
        close: () => s.close(),
        reused: () => false,
        session: () => undefined,
      });
    });
  });
}

function openTls(port: number, offered: Buffer | undefined, timeoutMs: number): Promise<Connection> {
  return new Promise((resolve, reject) => {
    // rejectUnauthorized off: the certificate is the run's own self-signed one (certs.ts).
    const sock: TLSSocket = tlsConnect({
      host: '127.0.0.1',
      port,
      servername: 'bench.test',
      rejectUnauthorized: false,
      ...(offered === undefined ? {} : { session: offered }),
    });
    let saved: Buffer | undefined = offered;
    // TLS 1.3 tickets come after the handshake: keep the latest one for the next connection.
    sock.on('session', (s: Buffer) => {
      saved = s;
    });
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error('TLS connect timeout'));
    }, timeoutMs);
    sock.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    sock.once('secureConnect', () => {
      clearTimeout(timer);
      sock.setNoDelay(true);
      sock.removeAllListeners('error');
      sock.on('error', () => {}); // a reset shows as 'close'
      const framer = new StreamFramer(MAX_MESSAGE);
      const handlers: Array<(b: Buffer) => void> = [];
      sock.on('data', (chunk: Buffer) => {
        for (const ev of framer.push(chunk)) {
          if (ev.kind === 'message') for (const h of handlers) h(ev.bytes);
        }
      });
      const local = `127.0.0.1:${sock.localPort}`;
      resolve({
        transport: 'tls',
        viaHost: local,
        contactHost: `${local};transport=tls`,
        send: (text) => {
          sock.write(text);
        },
        onMessage: (h) => handlers.push(h),
        onClose: (h) => sock.once('close', h),
        // A clean close (close_notify, FIN); reset only if the server does not finish it within a second.
        close: () => {
          sock.end();
          setTimeout(() => sock.destroy(), 1000).unref();
        },
        reused: () => sock.isSessionReused(),
        session: () => saved,
      });
    });
  });
}

let invalidSeq = 0;

function openWss(port: number, timeoutMs: number): Promise<Connection> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`wss://127.0.0.1:${port}/`, 'sip', {
      rejectUnauthorized: false,
      handshakeTimeout: timeoutMs,
      perMessageDeflate: false,
      headers: { Origin: 'https://bench.test' },
    });
    ws.once('error', reject);
    ws.once('open', () => {
      ws.removeAllListeners('error');
      ws.on('error', () => {});
      // A browser phone knows no address of its own: a random .invalid host (RFC 7118 §5.2).
      const host = `${(++invalidSeq).toString(36)}${process.pid.toString(36)}.invalid`;
      resolve({
        transport: 'wss',
        viaHost: host,
        contactHost: `${host};transport=ws`,
        send: (text) => ws.send(text),
        onMessage: (h) =>
          ws.on('message', (data: WebSocket.RawData) => {
            h(Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer));
          }),
        onClose: (h) => ws.once('close', h),
        close: () => {
          ws.close(1000);
          setTimeout(() => ws.terminate(), 1000).unref();
        },
        reused: () => false,
        session: () => undefined,
      });
    });
  });
}
