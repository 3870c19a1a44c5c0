// A minimal SIP user agent on one UDP socket for the benchmark: REGISTER, a caller that times INVITE → 200 and ends
// each call (ACK, BYE along the Record-Route), and a callee that answers every INVITE and BYE at once.
import { createSocket, type Socket } from 'node:dgram';
import type { SipRequest, SipResponse } from '../../src/sip/message.js';
import { parseMessage } from '../../src/sip/parser.js';
import { DOMAIN, mono } from './common.js';

let seq = 0;

interface Waiter {
  pred: (r: SipResponse) => boolean;
  resolve: (r: SipResponse) => void;
  timer: NodeJS.Timeout;
}

export class Ua {
  /** Called for every response (part 1 counts them without waiters). */
  onResponse: ((r: SipResponse) => void) | undefined;
  private waiters: Waiter[] = [];
  private answering = false;

  private constructor(private readonly socket: Socket) {
    socket.on('message', (b) => this.receive(b));
  }

  static async open(): Promise<Ua> {
    const socket = createSocket('udp4');
    await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
    return new Ua(socket);
  }

  get port(): number {
    return this.socket.address().port;
  }

  send(text: string, port: number, host = '127.0.0.1'): void {
    this.socket.send(text, port, host);
  }

  /** The next response matching pred, within timeoutMs. */
  response(pred: (r: SipResponse) => boolean, timeoutMs = 5000): Promise<SipResponse> {
    return new Promise((resolve, reject) => {
      const w: Waiter = {
        pred,
        resolve,
        timer: setTimeout(() => {
          this.waiters = this.waiters.filter((x) => x !== w);
          reject(new Error('no response in time'));
        }, timeoutMs),
      };
      this.waiters.push(w);
    });
  }

  /** Answers every INVITE (200 at once) and BYE (200); ACKs are absorbed. */
  answerCalls(): void {
    this.answering = true;
  }

  async register(user: string, port: number, cseq = 1, expires = 600): Promise<void> {
    const id = `reg-${user}-${this.port}`;
    const done = this.response((r) => r.headers.get('call-id') === id && r.status >= 200);
    this.send(registerText(user, this.port, cseq, expires), port);
    const r = await done;
    if (r.status !== 200) throw new Error(`REGISTER ${user}: ${r.status}`);
  }

  /** A whole call through `port` to `user`: INVITE → 200 timed, then ACK, BYE and its 200. Returns ms to 200. */
  async call(user: string, port: number): Promise<number> {
    const id = `call-${user}-${++seq}-${this.port}`;
    const ok = this.response((r) => r.headers.get('call-id') === id && r.status >= 200);
    const t0 = mono();
    this.send(inviteText(user, this.port, id), port);
    const got = await ok;
    const ms = mono() - t0;
    if (got.status !== 200) throw new Error(`INVITE ${user}: ${got.status}`);
    this.send(inDialog('ACK', got, this.port, 1), port);
    const byeOk = this.response((r) => r.headers.get('call-id') === id && r.cseq?.method === 'BYE');
    this.send(inDialog('BYE', got, this.port, 2), port);
    if ((await byeOk).status !== 200) throw new Error(`BYE ${user}: not 200`);
    return ms;
  }

  close(): void {
    for (const w of this.waiters) clearTimeout(w.timer);
    this.waiters = [];
    this.socket.close();
  }

  private receive(b: Buffer): void {
    const p = parseMessage(b);
    if (!p.ok) return;
    const m = p.message;
    if (m.kind === 'request') {
      if (this.answering && (m.method === 'INVITE' || m.method === 'BYE')) this.answer(m);
      return;
    }
    this.onResponse?.(m);
    const w = this.waiters.find((x) => x.pred(m));
    if (w === undefined) return;
    clearTimeout(w.timer);
    this.waiters = this.waiters.filter((x) => x !== w);
    w.resolve(m);
  }

  private answer(request: SipRequest): void {
    const copy = (name: string) => request.headers.getFields(name).map((v) => `${name}: ${v}`);
    const text = [
      'SIP/2.0 200 OK',
      ...copy('Via'),
      ...copy('Record-Route'),
      ...copy('From'),
      `To: ${request.headers.get('to')}${request.method === 'INVITE' ? ';tag=callee' : ''}`,
      ...copy('Call-ID'),
      ...copy('CSeq'),
      `Contact: <sip:callee@127.0.0.1:${this.port}>`,
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n');
    const via = request.via;
    if (via !== undefined) this.send(text, via.rport ?? via.port ?? 5060, via.host);
  }
}

export function registerText(user: string, port: number, cseq: number, expires: number): string {
  seq++;
  return [
    `REGISTER sip:${DOMAIN} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:${port};branch=z9hG4bKreg${seq}x${port};rport`,
    'Max-Forwards: 70',
    `From: <sip:${user}@${DOMAIN}>;tag=r${seq}`,
    `To: <sip:${user}@${DOMAIN}>`,
    `Call-ID: reg-${user}-${port}`,
    `CSeq: ${cseq} REGISTER`,
    `Contact: <sip:${user}@127.0.0.1:${port}>`,
    `Expires: ${expires}`,
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

function inviteText(user: string, port: number, id: string): string {
  seq++;
  return [
    `INVITE sip:${user}@${DOMAIN} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:${port};branch=z9hG4bKinv${seq}x${port};rport`,
    'Max-Forwards: 70',
    `From: <sip:alice@${DOMAIN}>;tag=alice${seq}`,
    `To: <sip:${user}@${DOMAIN}>`,
    `Call-ID: ${id}`,
    'CSeq: 1 INVITE',
    `Contact: <sip:alice@127.0.0.1:${port}>`,
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

/** An in-dialog request from the caller along the route set (the Record-Route of the 200, reversed). */
function inDialog(method: 'ACK' | 'BYE', ok: SipResponse, port: number, cseq: number): string {
  seq++;
  const rr = ok.headers.getFields('record-route').reverse();
  const contact = /<([^>]+)>/.exec(ok.headers.get('contact') ?? '')?.[1];
  return [
    `${method} ${contact} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:${port};branch=z9hG4bK${method}${seq}x${port};rport`,
    'Max-Forwards: 70',
    ...rr.map((r) => `Route: ${r}`),
    `From: ${ok.headers.get('from')}`,
    `To: ${ok.headers.get('to')}`,
    `Call-ID: ${ok.headers.get('call-id')}`,
    `CSeq: ${cseq} ${method}`,
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}
