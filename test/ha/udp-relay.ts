// A UDP relay for one direction of one HA path: forwards datagrams to a target until cut, keeps the last ones.
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';

export class UdpRelay {
  cut = false;
  readonly seen: Buffer[] = [];
  private constructor(
    private readonly socket: Socket,
    readonly port: number,
  ) {}

  static async open(targetPort: number, host = '127.0.0.1'): Promise<UdpRelay> {
    const socket = createSocket('udp4');
    socket.bind(0, host);
    await once(socket, 'listening');
    const relay = new UdpRelay(socket, socket.address().port);
    socket.on('message', (buf) => {
      relay.seen.push(buf);
      if (relay.seen.length > 50) relay.seen.shift();
      if (!relay.cut) socket.send(buf, targetPort, host);
    });
    return relay;
  }

  close(): Promise<void> {
    return new Promise((res) => this.socket.close(() => res()));
  }
}

/** Free UDP ports on 127.0.0.1 (bound and released; fine for a test). */
export async function freePorts(n: number): Promise<number[]> {
  const ports: number[] = [];
  const sockets: Socket[] = [];
  for (let i = 0; i < n; i++) {
    const s = createSocket('udp4');
    s.bind(0, '127.0.0.1');
    await once(s, 'listening');
    ports.push(s.address().port);
    sockets.push(s);
  }
  await Promise.all(sockets.map((s) => new Promise<void>((res) => s.close(() => res()))));
  return ports;
}
