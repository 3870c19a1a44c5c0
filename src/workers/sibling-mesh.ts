// The SIP workers of one node, each connected to each other over Unix stream sockets in the node's private
// directory (mode 0700: only the node's user can connect, so a frame's sender is a sibling — no key needed, unlike
// the HA link). Each worker listens at DIR/<index>.sock and opens one connection to every sibling for what it
// sends; what it receives comes in on the connections its siblings opened. A sibling that is down or restarting is
// reconnected every RETRY_MS; until then `isUp` says no and the caller decides (a steered message stays here).
import { existsSync, unlinkSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { errorMessage } from '../net/errors.js';
import { encodeFrame, type Frame, FrameDecoder, FrameKind } from './sibling-frames.js';

const RETRY_MS = 200;
/** Queued bytes beyond which a steered SIP message is dropped rather than queued (UDP's own semantics). */
const DROPPABLE_QUEUE_BYTES = 8 * 1024 * 1024;

export interface MeshOptions {
  index: number;
  count: number;
  dir: string;
  log: Logger;
  /** A frame from sibling `from`. */
  onFrame(from: number, frame: Frame): void;
  /** The connection to sibling `to` came up or went down. */
  onPeer?(to: number, up: boolean): void;
}

interface Link {
  socket: Socket | undefined;
  up: boolean;
  retry: NodeJS.Timeout | undefined;
  corked: boolean;
}

export class SiblingMesh {
  private server: Server | undefined;
  private readonly links: Link[];
  private readonly inbound = new Set<Socket>();
  private closed = false;
  /** Steered messages dropped because the sibling's queue was full. */
  dropped = 0;

  constructor(private readonly o: MeshOptions) {
    this.links = Array.from({ length: o.count }, () => ({
      socket: undefined,
      up: false,
      retry: undefined,
      corked: false,
    }));
  }

  static socketPath(dir: string, index: number): string {
    return join(dir, `${index}.sock`);
  }

  /** Listens, then starts connecting to every sibling. */
  async start(): Promise<void> {
    const path = SiblingMesh.socketPath(this.o.dir, this.o.index);
    // A predecessor with this index (killed) leaves its socket file behind.
    if (existsSync(path)) unlinkSync(path);
    const server = createServer((socket) => this.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ path, exclusive: true }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err) => this.o.log.warn({ err: errorMessage(err) }, 'sibling listener error'));
    this.server = server;
    for (let j = 0; j < this.o.count; j++) if (j !== this.o.index) this.connect(j);
  }

  isUp(to: number): boolean {
    return this.links[to]?.up === true;
  }

  /**
   * Sends a frame to sibling `to`; false when it is not connected (or, for a `droppable` frame, its queue is full).
   * Frames written in one turn of the event loop leave together — except an `urgent` one, which leaves now with
   * what is queued before it (a state change whose response waits for it).
   */
  send(
    to: number,
    kind: FrameKind,
    head: unknown,
    body?: Buffer,
    droppable = false,
    urgent = false,
  ): boolean {
    const link = this.links[to];
    const socket = link?.socket;
    if (link === undefined || socket === undefined || !link.up) return false;
    if (droppable && socket.writableLength > DROPPABLE_QUEUE_BYTES) {
      this.dropped++;
      return false;
    }
    if (urgent) {
      if (link.corked) {
        link.corked = false;
        socket.uncork();
      }
      socket.write(encodeFrame(kind, head, body));
      return true;
    }
    if (!link.corked) {
      link.corked = true;
      socket.cork();
      setImmediate(() => {
        if (!link.corked) return;
        link.corked = false;
        socket.uncork();
      });
    }
    socket.write(encodeFrame(kind, head, body));
    return true;
  }

  /** Every sibling that is up hears the same frame (encoded once). */
  broadcast(kind: FrameKind, head: unknown, body?: Buffer): void {
    for (let j = 0; j < this.o.count; j++) if (j !== this.o.index) this.send(j, kind, head, body);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const link of this.links) {
      if (link.retry !== undefined) clearTimeout(link.retry);
      link.socket?.destroy();
      link.up = false;
    }
    for (const s of this.inbound) s.destroy();
    const server = this.server;
    this.server = undefined;
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private connect(to: number): void {
    const link = this.links[to] as Link;
    link.retry = undefined;
    if (this.closed) return;
    const socket = createConnection({ path: SiblingMesh.socketPath(this.o.dir, to) });
    link.socket = socket;
    socket.setNoDelay?.(true);
    socket.once('connect', () => {
      if (link.socket !== socket) return;
      socket.write(encodeFrame(FrameKind.hello, { index: this.o.index }));
      link.up = true;
      this.o.onPeer?.(to, true);
    });
    // Nothing comes back on an outgoing connection; reading keeps the close visible.
    socket.on('data', () => {});
    socket.on('error', () => {});
    socket.once('close', () => {
      if (link.socket !== socket) return;
      const wasUp = link.up;
      link.up = false;
      link.socket = undefined;
      if (wasUp) this.o.onPeer?.(to, false);
      if (!this.closed) link.retry = setTimeout(() => this.connect(to), RETRY_MS);
    });
  }

  private accept(socket: Socket): void {
    this.inbound.add(socket);
    const decoder = new FrameDecoder();
    let from: number | undefined;
    socket.on('data', (chunk: Buffer) => {
      let frames: Frame[];
      try {
        frames = decoder.push(chunk);
      } catch (err) {
        this.o.log.warn(
          { err: errorMessage(err) },
          'malformed frame from a sibling worker: connection closed',
        );
        socket.destroy();
        return;
      }
      for (const frame of frames) {
        if (from === undefined) {
          const index = (frame.head as { index?: unknown } | null)?.index;
          if (frame.kind !== FrameKind.hello || typeof index !== 'number' || !Number.isInteger(index)) {
            socket.destroy();
            return;
          }
          from = index;
          continue;
        }
        try {
          this.o.onFrame(from, frame);
        } catch (err) {
          this.o.log.error({ err, from }, 'error while handling a frame from a sibling worker');
        }
      }
    });
    socket.on('error', () => {});
    socket.once('close', () => this.inbound.delete(socket));
  }
}
