// One UDP socket bound to a listen address (possibly a not-yet-present VIP, with ip_nonlocal_bind).
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { errorMessage } from '../../net/errors.js';

const UDP_BUFFER_BYTES = 4 * 1024 * 1024;

export type DatagramHandler = (bytes: Buffer, remote: RemoteInfo, listener: UdpListener) => void;

export class UdpListener {
  private socket: Socket | undefined;
  private boundPort = 0;

  constructor(
    readonly address: string,
    private readonly requestedPort: number,
    private readonly onDatagram: DatagramHandler,
    private readonly onSocketError: (error: Error) => void,
  ) {}

  get family(): 4 | 6 {
    return isIPv6(this.address) ? 6 : 4;
  }

  get port(): number {
    return this.boundPort;
  }

  start(): Promise<void> {
    // Large kernel buffers absorb bursts (a takeover brings every client's retransmissions at once); the kernel caps
    // them at net.core.rmem_max / wmem_max.
    const socket = createSocket({
      type: this.family === 6 ? 'udp6' : 'udp4',
      reuseAddr: false,
      recvBufferSize: UDP_BUFFER_BYTES,
      sendBufferSize: UDP_BUFFER_BYTES,
    });
    this.socket = socket;
    return new Promise((resolve, reject) => {
      const onStartError = (err: Error) => reject(err);
      socket.once('error', onStartError);
      socket.bind(this.requestedPort, this.address, () => {
        socket.off('error', onStartError);
        // Runtime errors (e.g. ICMP unreachable on some platforms) must never crash the process.
        socket.on('error', this.onSocketError);
        socket.on('message', (bytes, remote) => this.onDatagram(bytes, remote, this));
        this.boundPort = socket.address().port;
        resolve();
      });
    });
  }

  send(bytes: Buffer, port: number, address: string, onError?: (error: Error) => void): void {
    const socket = this.socket;
    if (socket === undefined) {
      onError?.(new Error(`UDP ${this.address}:${this.port} is not open`));
      return;
    }
    try {
      socket.send(bytes, port, address, (err) => {
        if (err) onError?.(err);
      });
    } catch (err) {
      onError?.(err instanceof Error ? err : new Error(errorMessage(err)));
    }
  }

  close(): Promise<void> {
    const socket = this.socket;
    this.socket = undefined;
    if (socket === undefined) return Promise.resolve();
    return new Promise((resolve) => socket.close(() => resolve()));
  }
}
