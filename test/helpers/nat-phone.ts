// A phone for the NAT lab, run inside the phone's namespace: `node nat-phone.js udp|tcp LOCAL_IP LOCAL_PORT
// SERVER_IP SERVER_PORT USER`. On one socket (one TCP connection), as a phone behind NAT must: REGISTER with its
// own private address as Contact, then answer one call (180, 200), take its ACK and BYE, and exit 0. Prints
// "registered" and "call ended" on stdout; exits 1 with the reason on anything else, 2 after 30 s.
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { createResponse } from '../../src/sip/build.js';
import type { SipRequest } from '../../src/sip/message.js';
import { parseMessage } from '../../src/sip/parser.js';
import { serializeMessage } from '../../src/sip/serializer.js';
import { StreamFramer } from '../../src/sip/transport/stream-framer.js';

const [transport, ip, portText, serverIp, serverPortText, user] = process.argv.slice(2) as string[];
// `node --test dist/test/` loads every file under test/, this one too: without arguments there is nothing to do.
if (user === undefined) {
  process.stdout.write('usage: nat-phone udp|tcp LOCAL_IP LOCAL_PORT SERVER_IP SERVER_PORT USER\n');
  process.exit(0);
}
const port = Number(portText);
const serverPort = Number(serverPortText);
const TRANSPORT = transport === 'tcp' ? 'TCP' : 'UDP';
const contact = `<sip:${user}@${ip}:${port};transport=${transport}>`;
setTimeout(() => fail('no call within 30 s', 2), 30_000).unref();

function fail(why: string, code = 1): never {
  process.stderr.write(`nat-phone: ${why}\n`);
  process.exit(code);
}

let send: (bytes: Buffer | string) => void;
let state: 'registering' | 'waiting' | 'answered' = 'registering';

function onMessage(bytes: Buffer): void {
  const parsed = parseMessage(bytes);
  if (!parsed.ok) fail(`unparsable message: ${parsed.error.reason}`);
  const m = parsed.message;
  if (m.kind === 'response') {
    if (state === 'registering' && m.status === 200) {
      state = 'waiting';
      process.stdout.write('registered\n');
    } else if (m.status >= 300) fail(`got ${m.status} ${m.reason}`);
    return;
  }
  answer(m);
}

function answer(req: SipRequest): void {
  if (req.method === 'INVITE' && state === 'waiting') {
    const reply = (status: number) => {
      const res = createResponse(req, status);
      for (const rr of req.headers.values('record-route')) res.headers.append('Record-Route', rr);
      res.headers.set('To', `${req.headers.get('to')};tag=phone-${port}`);
      res.headers.set('Contact', contact);
      return res;
    };
    send(serializeMessage(reply(180)));
    send(serializeMessage(reply(200)));
    state = 'answered';
  } else if (req.method === 'ACK') {
    process.stdout.write('acked\n');
  } else if (req.method === 'BYE') {
    send(serializeMessage(createResponse(req, 200)));
    process.stdout.write('call ended\n');
    setTimeout(() => process.exit(0), 100);
  } else if (req.method !== 'INVITE') {
    send(serializeMessage(createResponse(req, 200)));
  }
}

const register = [
  'REGISTER sip:example.test SIP/2.0',
  `Via: SIP/2.0/${TRANSPORT} ${ip}:${port};branch=z9hG4bK-nat-${port};rport`,
  `From: <sip:${user}@example.test>;tag=reg-${port}`,
  `To: <sip:${user}@example.test>`,
  `Call-ID: nat-phone-${port}@${ip}`,
  'CSeq: 1 REGISTER',
  `Contact: ${contact}`,
  'Expires: 300',
  'Max-Forwards: 70',
  'Content-Length: 0',
  '',
  '',
].join('\r\n');

if (transport === 'tcp') {
  const framer = new StreamFramer(65_535);
  const sock = connect({ host: serverIp, port: serverPort, localAddress: ip, localPort: port });
  send = (b) => sock.write(b);
  sock.on('connect', () => send(register));
  sock.on('data', (chunk) => {
    for (const e of framer.push(chunk)) if (e.kind === 'message') onMessage(e.bytes);
  });
  sock.on('error', (err) => fail(`tcp: ${err.message}`));
  sock.on('close', () => state !== 'answered' && fail('the connection closed'));
} else {
  const sock = createSocket('udp4');
  send = (b) => sock.send(b, serverPort, serverIp);
  sock.on('message', onMessage);
  sock.bind(port, ip, () => send(register));
}
