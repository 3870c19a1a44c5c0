// The active SIP probe: OPTIONS (Request-URI without a user part, which sipha and most SIP servers answer with
// 200) sent from a socket bound to this node's unique SIP address, so that it leaves through the SIP NIC and the
// SIP network, never through loopback. Any response proves the path both ways. Within the timeout the request is
// retransmitted a few times (same branch), so one lost datagram does not fail a probe.
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { formatHostPort, type HostPort, udpType } from '../net/address.js';
import { errorMessage } from '../net/errors.js';
import { Headers } from '../sip/headers.js';
import { SipRequest } from '../sip/message.js';
import { parseMessage } from '../sip/parser.js';
import { serializeMessage } from '../sip/serializer.js';
import { MAGIC_COOKIE } from '../sip/via.js';

export interface ProbeResult {
  ok: boolean;
  /** Round trip of the first answer; null on failure. */
  rttMs: number | null;
  status: number | null;
  detail: string;
}

/** Pure: the probe request (exported for tests). */
export function buildOptions(local: HostPort, target: HostPort, branch: string, callId: string): SipRequest {
  const h = new Headers();
  const self = formatHostPort(local);
  h.append('Via', `SIP/2.0/UDP ${self};branch=${branch};rport`);
  h.append('Max-Forwards', '70');
  h.append('From', `<sip:sipha-monitor@${self}>;tag=${randomBytes(4).toString('hex')}`);
  h.append('To', `<sip:${formatHostPort(target)}>`);
  h.append('Call-ID', callId);
  h.append('CSeq', '1 OPTIONS');
  h.append('User-Agent', 'sipha-monitor');
  h.append('Content-Length', '0');
  return new SipRequest('OPTIONS', `sip:${formatHostPort(target)}`, h);
}

export class OptionsProber {
  private socket: Socket | undefined;
  private binding: Promise<Socket> | undefined;
  private readonly pending = new Map<string, (status: number) => void>();

  constructor(private readonly localAddress: string) {}

  /** One probe: ok when any SIP response comes back within timeoutMs. */
  async probe(target: HostPort, timeoutMs: number): Promise<ProbeResult> {
    let socket: Socket;
    try {
      socket = await this.bind();
    } catch (err) {
      return {
        ok: false,
        rttMs: null,
        status: null,
        detail: `cannot bind ${this.localAddress}: ${errorMessage(err)}`,
      };
    }
    const addr = socket.address();
    const branch = `${MAGIC_COOKIE}${randomBytes(8).toString('hex')}`;
    const bytes = serializeMessage(
      buildOptions(
        { host: addr.address, port: addr.port, family: addr.family === 'IPv6' ? 6 : 4 },
        target,
        branch,
        randomBytes(10).toString('hex'),
      ),
    );
    const started = performance.now();
    let lastError = '';
    return new Promise<ProbeResult>((resolve) => {
      // The socket may be closed under a probe in flight (close() at stop or role change): dgram then throws
      // synchronously, from a timer — that must end this probe, never the process.
      const send = () => {
        try {
          socket.send(bytes, target.port, target.host, (err) => {
            if (err !== null && err !== undefined) lastError = err.message;
          });
        } catch (err) {
          lastError = errorMessage(err);
        }
      };
      const every = Math.max(20, Math.floor(timeoutMs / 3));
      const resend = setInterval(send, every);
      const finish = (r: ProbeResult) => {
        clearInterval(resend);
        clearTimeout(timer);
        this.pending.delete(branch);
        resolve(r);
      };
      const timer = setTimeout(
        () =>
          finish({
            ok: false,
            rttMs: null,
            status: null,
            detail: lastError || `no answer within ${timeoutMs} ms`,
          }),
        timeoutMs,
      );
      this.pending.set(branch, (status) =>
        finish({ ok: true, rttMs: Math.round(performance.now() - started), status, detail: `${status}` }),
      );
      send();
    });
  }

  close(): void {
    const s = this.socket;
    this.socket = undefined;
    this.binding = undefined;
    s?.close();
  }

  private bind(): Promise<Socket> {
    if (this.binding !== undefined) return this.binding;
    const s = createSocket(udpType(this.localAddress));
    this.binding = new Promise<Socket>((resolve, reject) => {
      s.once('error', (err) => {
        // A bind that failed (the address is not there yet): try again on the next probe.
        this.binding = undefined;
        s.close();
        reject(err);
      });
      s.bind(0, this.localAddress, () => {
        s.removeAllListeners('error');
        s.on('error', () => {}); // ICMP unreachable and the like: the probe times out
        s.on('message', (buf) => this.onMessage(buf));
        this.socket = s;
        resolve(s);
      });
    });
    return this.binding;
  }

  private onMessage(buf: Buffer): void {
    const r = parseMessage(buf);
    if (!r.ok || r.message.kind !== 'response') return;
    const branch = r.message.via?.branch;
    if (branch === undefined) return;
    this.pending.get(branch)?.(r.message.status);
  }
}
