// A CTI client for the pair: one WebSocket to each node's /api/v1/cti, merged into one stream of
// call events that follows whichever node is primary. No duplicates: an event is delivered once per
// (dialogId, index) (cti-feed.ts). No gaps: both connections stay up, so the new primary's first events arrive
// while the old primary's last ones still do; a dropped connection reconnects with (stream, seq) and the node
// replays what was missed. What a node that died held but had not sent is lost with it.
import WebSocket from 'ws';
import type { CtiEvent } from './cti-feed.js';

export interface CtiClientOptions {
  /** Management base URLs of both nodes, e.g. http://203.0.113.11:8080. */
  urls: readonly string[];
  token: string;
  onEvent: (e: CtiEvent) => void;
  /** A node connected, disconnected, or changed role. */
  onNode?: (n: CtiNodeState) => void;
  reconnectMs?: number;
  /** How many delivered event keys to remember for de-duplication. */
  remember?: number;
}

export interface CtiNodeState {
  url: string;
  node: string | null;
  connected: boolean;
  role: string | null;
  stream: string | null;
  lastSeq: number;
}

type ServerMessage =
  | { type: 'hello'; node: string; stream: string; lastSeq: number; role: string }
  | { type: 'role'; node: string; role: string; term: number }
  | ({ type: 'event' } & CtiEvent);

export class CtiClient {
  private readonly nodes: Array<CtiNodeState & { ws?: WebSocket; timer?: NodeJS.Timeout }>;
  private readonly seen = new Set<string>();
  private readonly order: string[] = [];
  private stopped = false;
  delivered = 0;
  duplicatesDropped = 0;

  constructor(private readonly o: CtiClientOptions) {
    this.nodes = o.urls.map((url) => ({
      url,
      node: null,
      connected: false,
      role: null,
      stream: null,
      lastSeq: 0,
    }));
  }

  start(): void {
    for (const n of this.nodes) this.connect(n);
  }

  stop(): void {
    this.stopped = true;
    for (const n of this.nodes) {
      clearTimeout(n.timer);
      n.ws?.terminate();
    }
  }

  /** The node that says it is primary now (null while none does). */
  get primary(): string | null {
    return this.nodes.find((n) => n.connected && n.role === 'primary')?.node ?? null;
  }

  state(): CtiNodeState[] {
    return this.nodes.map(({ url, node, connected, role, stream, lastSeq }) => ({
      url,
      node,
      connected,
      role,
      stream,
      lastSeq,
    }));
  }

  private connect(n: (typeof this.nodes)[number]): void {
    if (this.stopped) return;
    const u = new URL('/api/v1/cti', n.url.replace(/^http/, 'ws'));
    // Resume where this node's stream left off; on first contact, take what it still holds (deduplicated).
    if (n.stream !== null) u.searchParams.set('stream', n.stream);
    u.searchParams.set('since', String(n.lastSeq));
    const ws = new WebSocket(u, {
      headers: { authorization: `Bearer ${this.o.token}` },
      handshakeTimeout: 3000,
    });
    n.ws = ws;
    ws.on('message', (raw) => this.onMessage(n, raw.toString()));
    ws.on('close', () => {
      if (n.ws !== ws) return;
      n.connected = false;
      this.o.onNode?.(this.publicState(n));
      if (!this.stopped) n.timer = setTimeout(() => this.connect(n), this.o.reconnectMs ?? 500);
    });
    ws.on('error', () => {
      // 'close' follows and schedules the reconnect.
    });
  }

  private onMessage(n: (typeof this.nodes)[number], text: string): void {
    let m: ServerMessage;
    try {
      m = JSON.parse(text) as ServerMessage;
    } catch {
      return;
    }
    if (m.type === 'hello') {
      n.connected = true;
      n.node = m.node;
      n.role = m.role;
      // A new stream (the node restarted): its numbering starts over.
      if (n.stream !== m.stream) {
        n.stream = m.stream;
        n.lastSeq = 0;
      }
      this.o.onNode?.(this.publicState(n));
      return;
    }
    if (m.type === 'role') {
      n.role = m.role;
      this.o.onNode?.(this.publicState(n));
      return;
    }
    const { type: _t, ...e } = m;
    if (e.stream === n.stream && e.seq > n.lastSeq) n.lastSeq = e.seq;
    const key = `${e.dialogId}#${e.index}`;
    if (this.seen.has(key)) {
      this.duplicatesDropped++;
      return;
    }
    this.seen.add(key);
    this.order.push(key);
    if (this.order.length > (this.o.remember ?? 100_000)) this.seen.delete(this.order.shift() as string);
    this.delivered++;
    this.o.onEvent(e);
  }

  private publicState(n: CtiNodeState): CtiNodeState {
    return {
      url: n.url,
      node: n.node,
      connected: n.connected,
      role: n.role,
      stream: n.stream,
      lastSeq: n.lastSeq,
    };
  }
}
