// The failover benchmark's probe process, run inside host C (prober.ts starts it): a SIP OPTIONS to the VIP every
// INTERVAL ms, each a new transaction (new branch and Call-ID, never retransmitted), so that an answer proves the
// service works *now*.
// Prints one line per final response: "R <seq> <sentMs> <receivedMs> <status>", and at exit "S <sent>".
// Times are CLOCK_MONOTONIC in ms (process.hrtime): one clock for every process on the machine, so the parent's
// fault instant and these times compare exactly (performance.timeOrigin + now() drifts between processes).
// Usage: node prober-process.js TARGET_IP TARGET_PORT LOCAL_IP [INTERVAL_MS]; stops on SIGTERM, SIGINT or EOF.
import { createSocket } from 'node:dgram';

const [target = '', portArg = '5060', local = '0.0.0.0', intervalArg = '5'] = process.argv.slice(2);
const port = Number(portArg);
const interval = Number(intervalArg);
const mono = () => Number(process.hrtime.bigint()) / 1e6;
const tag = `${process.pid.toString(36)}${Date.now().toString(36)}`;
const sent = new Map<number, number>();
let seq = 0;
let out = '';

const sock = createSocket('udp4');
sock.on('message', (msg) => {
  const at = mono();
  const text = msg.toString('latin1');
  const status = /^SIP\/2\.0 (\d{3})/.exec(text)?.[1];
  const m = /branch=z9hG4bKp([0-9a-z]+)x(\d+)/i.exec(text);
  if (status === undefined || m === null || m[1] !== tag) return;
  if (status.startsWith('1')) return;
  const n = Number(m[2]);
  const at0 = sent.get(n);
  if (at0 === undefined) return;
  sent.delete(n);
  out += `R ${n} ${at0.toFixed(3)} ${at.toFixed(3)} ${status}\n`;
});
sock.on('error', () => {});

function send(): void {
  const n = ++seq;
  const { address, port: lp } = sock.address();
  const msg =
    `OPTIONS sip:${target}:${port} SIP/2.0\r\n` +
    `Via: SIP/2.0/UDP ${address}:${lp};branch=z9hG4bKp${tag}x${n}\r\n` +
    `From: <sip:probe@${address}>;tag=${tag}\r\n` +
    `To: <sip:${target}:${port}>\r\n` +
    `Call-ID: p${tag}x${n}@${address}\r\n` +
    `CSeq: ${n} OPTIONS\r\n` +
    'Max-Forwards: 70\r\n' +
    'Content-Length: 0\r\n\r\n';
  sent.set(n, mono());
  sock.send(msg, port, target);
  // Unanswered probes are forgotten after 10 s (they count as lost: sent - answered).
  if (n > 2000) sent.delete(n - 2000);
}

function flush(): void {
  if (out !== '') {
    process.stdout.write(out);
    out = '';
  }
}

let stopping = false;
function stop(): void {
  if (stopping) return;
  stopping = true;
  clearInterval(tick);
  clearInterval(flusher);
  // Answers in flight get 50 ms.
  setTimeout(() => {
    flush();
    process.stdout.write(`S ${seq}\n`, () => process.exit(0));
  }, 50);
}

let tick: NodeJS.Timeout;
let flusher: NodeJS.Timeout;
sock.bind(0, local, () => {
  // Drift-free schedule on a 1 ms timer; after a stall of more than two intervals it restarts from now rather
  // than bursting the probes it owes.
  let next = mono();
  tick = setInterval(() => {
    const now = mono();
    if (now - next > 2 * interval) next = now;
    while (next <= now) {
      send();
      next += interval;
    }
  }, 1);
  flusher = setInterval(flush, 50);
  process.stdout.write('READY\n');
});
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdin.on('end', stop);
process.stdin.resume();
