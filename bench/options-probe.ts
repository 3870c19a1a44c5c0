// Whether a SIP server on loopback answers an OPTIONS over UDP with 200 within 300 ms: how the benchmarks know a
// server they started (sipha or Kamailio) is ready.
import { createSocket } from 'node:dgram';

export function answersOptions(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    const done = (ok: boolean) => {
      s.close();
      resolve(ok);
    };
    const t = setTimeout(() => done(false), 300);
    s.on('message', (m) => {
      clearTimeout(t);
      done(m.toString().startsWith('SIP/2.0 200'));
    });
    s.bind(0, '127.0.0.1', () => {
      const lp = s.address().port;
      const id = `probe${Date.now()}`;
      s.send(
        `OPTIONS sip:127.0.0.1:${port} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:${lp};branch=z9hG4bK${id}\r\nFrom: <sip:probe@127.0.0.1>;tag=1\r\nTo: <sip:127.0.0.1>\r\nCall-ID: ${id}\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n`,
        port,
        '127.0.0.1',
      );
    });
  });
}
