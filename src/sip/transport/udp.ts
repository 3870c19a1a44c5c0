// One UDP socket bound to a listen address (possibly a not-yet-present VIP, with ip_nonlocal_bind), and the connected
// sockets on the same address and port that carry the requests we send (udp-connected.ts).
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { familyOf, udpType } from '../../net/address.js';
import { errorMessage } from '../../net/errors.js';
import {
  type ConnectedUdpOptions,
  ConnectedUdpSockets,
  closeQuietly,
  DEFAULT_CONNECTED_UDP,
} from './udp-connected.js';

const UDP_BUFFER_BYTES = 4 * 1024 * 1024;
/** Tries to find a port for `:0` that stays free between the probe and the bind. */
const EPHEMERAL_TRIES = 5;

export interface UdpEvents {
  onDatagram(bytes: Buffer, remote: RemoteInfo, listener: UdpListener): void;
  /** Runtime socket errors that belong to no next hop; they must never crash the process. */
  onSocketError(error: Error): void;
  /** The kernel says `address:port` cannot be reached (ICMP error, or no route when connecting). */
  onUnreachable(address: string, port: number, error: Error): void;
}

export class UdpListener {
  private socket: Socket | undefined;
  private boundPort = 0;
  private connected: ConnectedUdpSockets | undefined;

  constructor(
    readonly address: string,
    private readonly requestedPort: number,
    private readonly events: UdpEvents,
    /** `false`: requests leave from the listener itself, and no ICMP error is ever seen. */
    private readonly connectedOptions: ConnectedUdpOptions | false = DEFAULT_CONNECTED_UDP,
    /**
     * One socket shared by the node's SIP workers (node:cluster binds it once, in the node): no exclusive probe —
     * the first worker's bind made the port ours, and a sibling's probe would only find it taken.
     */
    private readonly shared = false,
  ) {}

  get family(): 4 | 6 {
    return familyOf(this.address);
  }

  get port(): number {
    return this.boundPort;
  }

  /** Connected sockets open now (one per recent next hop). */
  get connectedSockets(): number {
    return this.connected?.size ?? 0;
  }

  async start(): Promise<void> {
    if (this.connectedOptions === false) {
      this.boundPort = await this.bind(this.requestedPort, false);
      return;
    }
    // The port is shared with our connected sockets (SO_REUSEADDR on all of them), which would let another process
    // that sets SO_REUSEADDR bind it too. A bind without it first fails with EADDRINUSE while anyone holds the port.
    for (let attempt = 1; ; attempt++) {
      const port = this.shared ? this.requestedPort : await probeExclusive(this.address, this.requestedPort);
      try {
        this.boundPort = await this.bind(port, true);
        break;
      } catch (err) {
        if (this.requestedPort !== 0 || attempt >= EPHEMERAL_TRIES) throw err;
      }
    }
    const options = this.connectedOptions;
    this.connected = new ConnectedUdpSockets(
      {
        address: this.address,
        port: this.boundPort,
        onDatagram: (bytes, remote) => this.events.onDatagram(bytes, remote, this),
        onUnreachable: (address, port, error) => this.events.onUnreachable(address, port, error),
        sendUnconnected: (bytes, port, address, onError) => this.send(bytes, port, address, onError),
      },
      options,
    );
  }

  private bind(port: number, reuseAddr: boolean): Promise<number> {
    // Large kernel buffers absorb bursts (a takeover brings every client's retransmissions at once); the kernel caps
    // them at net.core.rmem_max / wmem_max.
    const socket = createSocket({
      type: udpType(this.address),
      reuseAddr,
      recvBufferSize: UDP_BUFFER_BYTES,
      sendBufferSize: UDP_BUFFER_BYTES,
    });
    return new Promise((resolve, reject) => {
      const onStartError = (err: Error) => {
        closeQuietly(socket);
        reject(err);
      };
      socket.once('error', onStartError);
      socket.bind(port, this.address, () => {
        socket.off('error', onStartError);
        socket.on('error', this.events.onSocketError);
        socket.on('message', (bytes, remote) => this.events.onDatagram(bytes, remote, this));
        this.socket = socket;
        resolve(socket.address().port);
      });
    });
  }

  /** A request: through the socket connected to its next hop, so an ICMP error reaches us (§18.4). */
  sendRequest(bytes: Buffer, port: number, address: string, onError?: (error: Error) => void): void {
    if (this.connected === undefined || this.socket === undefined) this.send(bytes, port, address, onError);
    else this.connected.send(bytes, port, address, onError);
  }

  /** A response (§18.2.2), or anything else: from the listener itself. */
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
    this.connected?.close();
    this.connected = undefined;
    const socket = this.socket;
    this.socket = undefined;
    if (socket === undefined) return Promise.resolve();
    return new Promise((resolve) => socket.close(() => resolve()));
  }
}

/** Binds `address:port` without SO_REUSEADDR and lets it go: the port (the one chosen, for 0) or EADDRINUSE. */
function probeExclusive(address: string, port: number): Promise<number> {
  const probe = createSocket({ type: udpType(address), reuseAddr: false });
  return new Promise((resolve, reject) => {
    probe.once('error', (err) => {
      closeQuietly(probe);
      reject(err);
    });
    probe.bind(port, address, () => {
      const chosen = probe.address().port;
      probe.close(() => resolve(chosen));
    });
  });
}
