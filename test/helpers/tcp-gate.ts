// A TCP relay for tests that can hold one direction: bytes from the connecting side (`up`) are buffered while the
// gate is paused and passed on when it resumes; the other direction always flows. Used to delay a backup's
// replication acks without touching the code under test.
import { connect, createServer, type Server, type Socket } from 'node:net';

export class TcpGate {
  private paused = false;
  private cutOff = false;
  private held: Array<{ to: Socket; chunk: Buffer }> = [];
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  /** Listens on a free loopback port and relays each connection to `targetPort`. */
  static async open(targetPort: number): Promise<TcpGate> {
    let gate: TcpGate | undefined;
    const server = createServer((up) => gate?.relay(up, targetPort));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const a = server.address();
    gate = new TcpGate(server, typeof a === 'object' && a !== null ? a.port : 0);
    return gate;
  }

  private relay(up: Socket, targetPort: number): void {
    if (this.cutOff) {
      up.destroy();
      return;
    }
    const down = connect({ host: '127.0.0.1', port: targetPort });
    for (const s of [up, down]) {
      s.setNoDelay(true);
      this.sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => {
        this.sockets.delete(s);
        up.destroy();
        down.destroy();
      });
    }
    down.on('data', (chunk: Buffer) => up.write(chunk));
    up.on('data', (chunk: Buffer) => {
      if (this.paused) this.held.push({ to: down, chunk });
      else down.write(chunk);
    });
  }

  /** Holds what the connecting side sends from now on. */
  pause(): void {
    this.paused = true;
  }

  /** Passes on what was held, then lets everything through again. */
  resume(): void {
    this.paused = false;
    for (const { to, chunk } of this.held.splice(0)) if (!to.destroyed) to.write(chunk);
  }

  /** Cuts the path: every connection through the gate is reset, and new ones are refused, until `heal`. */
  cut(): void {
    this.cutOff = true;
    for (const s of this.sockets) s.destroy();
  }

  heal(): void {
    this.cutOff = false;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}
