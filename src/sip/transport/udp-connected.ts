// Connected UDP sockets for the requests we send, one per next hop, on the listener's own address and port.
//
// §18.4: "the transport layer [...] SHOULD use ICMP errors" and §17.1.4: a transport failure is reported to the
// client transaction at once. Linux hands an ICMP error (port unreachable → ECONNREFUSED, host or network
// unreachable) only to a *connected* UDP socket; Node 20 emits it there as an 'error' event shortly after the send
// (the send callback itself succeeds), and on an unconnected socket not at all. So a request leaves through a socket
// connected to its next hop. It shares the listener's address and port (SO_REUSEADDR on both): the source port the
// next hop sees is still ours, so Via, Record-Route, NAT bindings and a takeover of the VIP by the other node are
// unaffected. The kernel delivers what that next hop sends us to the connected socket, everything else to the
// listener; both go to the same handler.
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { udpType } from '../../net/address.js';
import { errorCode, errorMessage } from '../../net/errors.js';

export interface ConnectedUdpOptions {
  /**
   * Sockets kept at most (each is a file descriptor). Beyond that, requests leave from the listener itself until an
   * idle socket is closed: closing a busy one could drop what is queued on it.
   */
  maxSockets: number;
  /** A socket unused for this long is closed (what its next hop sends then reaches the listener). */
  idleMs: number;
}

export const DEFAULT_CONNECTED_UDP: ConnectedUdpOptions = { maxSockets: 256, idleMs: 60_000 };

/** What the cache needs from its listener. */
export interface ConnectedUdpHost {
  readonly address: string;
  readonly port: number;
  /** A datagram that arrived on a connected socket, as if on the listener. */
  onDatagram(bytes: Buffer, remote: RemoteInfo): void;
  /** An ICMP error or a failed connect: the next hop `address:port` cannot be reached. */
  onUnreachable(address: string, port: number, error: Error): void;
  /** Sends from the listener itself (no connected socket could be had). */
  sendUnconnected(bytes: Buffer, port: number, address: string, onError?: (error: Error) => void): void;
}

interface Queued {
  bytes: Buffer;
  onError: ((error: Error) => void) | undefined;
}

interface Entry {
  readonly socket: Socket;
  readonly address: string;
  readonly port: number;
  /** Sends made before the socket was connected, sent once it is. */
  queue: Queued[] | undefined;
  lastUsed: number;
  closed: boolean;
}

export class ConnectedUdpSockets {
  /** By next hop. */
  private readonly entries = new Map<string, Entry>();
  private sweeper: NodeJS.Timeout | undefined;
  /** Set when the listener's port cannot be shared: every send goes from the listener then. */
  private disabled = false;

  constructor(
    private readonly host: ConnectedUdpHost,
    private readonly options: ConnectedUdpOptions = DEFAULT_CONNECTED_UDP,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  send(bytes: Buffer, port: number, address: string, onError?: (error: Error) => void): void {
    if (this.disabled) {
      this.host.sendUnconnected(bytes, port, address, onError);
      return;
    }
    const key = hopKey(address, port);
    let entry = this.entries.get(key);
    if (entry === undefined) {
      if (this.entries.size >= this.options.maxSockets) {
        this.host.sendUnconnected(bytes, port, address, onError);
        return;
      }
      entry = this.open(address, port);
      this.entries.set(key, entry);
    }
    entry.lastUsed = performance.now();
    if (entry.queue !== undefined) {
      entry.queue.push({ bytes, onError });
      return;
    }
    sendOn(entry.socket, bytes, onError);
  }

  close(): void {
    for (const entry of this.entries.values()) this.drop(entry, true);
    this.entries.clear();
    this.stopSweeper();
  }

  private open(address: string, port: number): Entry {
    const socket = createSocket({ type: udpType(address), reuseAddr: true });
    const entry: Entry = { socket, address, port, queue: [], lastUsed: performance.now(), closed: false };
    // Attached before bind: between bind and connect the kernel may hand this socket anyone's datagram.
    socket.on('message', (bytes, remote) => {
      entry.lastUsed = performance.now();
      this.host.onDatagram(bytes, remote);
    });
    let phase: 'bind' | 'connect' | 'open' = 'bind';
    socket.on('error', (err) => {
      if (phase === 'bind') {
        // The listener's port cannot be shared (it was bound without SO_REUSEADDR): send from the listener.
        if (errorCode(err) === 'EADDRINUSE') this.disabled = true;
        this.remove(entry, true);
      } else if (phase === 'connect') {
        // No route (ENETUNREACH), or no way from our address to there (EINVAL): the next hop is unreachable, and
        // each send that waited for the connection failed.
        const waiting = entry.queue ?? [];
        this.remove(entry, false);
        for (const q of waiting) q.onError?.(err);
        this.host.onUnreachable(address, port, err);
      } else this.host.onUnreachable(address, port, err);
    });
    // Exclusive: under node:cluster (several SIP workers) a plain bind would be handed the shared listener itself.
    socket.bind({ port: this.host.port, address: this.host.address, exclusive: true }, () => {
      if (entry.closed) return;
      phase = 'connect';
      // Without a callback: Node hands a failed connect to a callback instead of 'error', and to nothing else.
      socket.once('connect', () => {
        if (entry.closed) return;
        phase = 'open';
        const queue = entry.queue ?? [];
        entry.queue = undefined;
        for (const q of queue) sendOn(socket, q.bytes, q.onError);
      });
      socket.connect(port, address);
    });
    this.startSweeper();
    return entry;
  }

  /** Forgets and closes an entry; `resend`: what it still queues goes from the listener instead. */
  private remove(entry: Entry, resend: boolean): void {
    const key = hopKey(entry.address, entry.port);
    if (this.entries.get(key) === entry) this.entries.delete(key);
    this.drop(entry, resend);
    if (this.entries.size === 0) this.stopSweeper();
  }

  private drop(entry: Entry, resend: boolean): void {
    const queue = entry.queue ?? [];
    entry.queue = undefined;
    if (entry.closed) return;
    entry.closed = true;
    closeQuietly(entry.socket);
    if (resend)
      for (const q of queue) this.host.sendUnconnected(q.bytes, entry.port, entry.address, q.onError);
  }

  private startSweeper(): void {
    if (this.sweeper !== undefined) return;
    this.sweeper = setInterval(() => this.sweep(), Math.max(1, this.options.idleMs / 2));
    this.sweeper.unref();
  }

  private stopSweeper(): void {
    if (this.sweeper !== undefined) clearInterval(this.sweeper);
    this.sweeper = undefined;
  }

  private sweep(): void {
    const cutoff = performance.now() - this.options.idleMs;
    for (const entry of [...this.entries.values()]) {
      if (entry.lastUsed <= cutoff && entry.queue === undefined) this.remove(entry, false);
    }
  }
}

function sendOn(socket: Socket, bytes: Buffer, onError: ((error: Error) => void) | undefined): void {
  try {
    // A failure of this very send (EHOSTUNREACH, ENETUNREACH, EMSGSIZE) comes in the callback.
    socket.send(bytes, (err) => {
      if (err) onError?.(err);
    });
  } catch (err) {
    onError?.(err instanceof Error ? err : new Error(errorMessage(err)));
  }
}

export function closeQuietly(socket: Socket): void {
  try {
    socket.close();
  } catch {
    // Never bound, or closed already.
  }
}

function hopKey(address: string, port: number): string {
  return `${address.toLowerCase()}|${port}`;
}
