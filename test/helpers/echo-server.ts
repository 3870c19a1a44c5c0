// A minimal SIP element on the real transport layer for transport tests: answers every request except ACK with 200
// (or with the status in an X-Reply header), so tests can watch parsing, addressing and bad-input handling.
import { createResponse } from '../../src/sip/build.js';
import type { ParseLimits } from '../../src/sip/limits.js';
import type { SipRequest } from '../../src/sip/message.js';
import type { ListenSpec } from '../../src/sip/transport/listen-uri.js';
import { TransportLayer } from '../../src/sip/transport/transport-layer.js';
import type { Source } from '../../src/sip/transport/types.js';

export interface EchoServer {
  transport: TransportLayer;
  requests: Array<{ request: SipRequest; source: Source }>;
  port(kind: 'udp' | 'tcp', family?: 4 | 6): number;
  stop(): Promise<void>;
}

export async function startEchoServer(
  listen: ListenSpec[] = [
    { transport: 'udp', address: '127.0.0.1', port: 0 },
    { transport: 'tcp', address: '127.0.0.1', port: 0 },
  ],
  options: { limits?: ParseLimits; tcpIdleTimeoutMs?: number; keepRequests?: boolean } = {},
): Promise<EchoServer> {
  const transport = new TransportLayer({ listen, ...options });
  const requests: Array<{ request: SipRequest; source: Source }> = [];
  transport.onRequest = (request, source) => {
    if (options.keepRequests !== false) requests.push({ request, source });
    if (request.method === 'ACK') return;
    if (request.headers.has('x-throw')) throw new Error('handler failure on purpose');
    const status = Number(request.headers.get('x-reply') ?? '200');
    transport.sendResponse(createResponse(request, status), source);
  };
  await transport.start();
  return {
    transport,
    requests,
    port(kind, family = 4) {
      const l = transport.listening.find(
        (s) => s.transport === kind && s.address.includes(':') === (family === 6),
      );
      if (l === undefined) throw new Error(`no ${kind} listener`);
      return l.port;
    },
    stop: () => transport.stop(),
  };
}
