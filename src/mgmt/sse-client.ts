// A small server-sent events reader for the CLI and tests (`sipha events --follow`): bearer token in the
// header, reconnects with Last-Event-ID so that nothing is missed while the connection was down.
import { type ClientRequest, request } from 'node:http';
import type { ApiTarget } from './client.js';

export interface SseMessage {
  /** The event id as sent (`<boot>-<n>` from sipha, see event-feed.ts); null when the message had none. */
  id: string | null;
  event: string;
  data: string;
}

/** Splits an SSE byte stream into messages; returns the unfinished tail. */
export function parseSse(buffer: string, emit: (m: SseMessage) => void): string {
  let rest = buffer;
  for (let end = rest.indexOf('\n\n'); end !== -1; end = rest.indexOf('\n\n')) {
    const block = rest.slice(0, end);
    rest = rest.slice(end + 2);
    let id: string | null = null;
    let event = 'message';
    const data: string[] = [];
    for (const line of block.split('\n')) {
      const colon = line.indexOf(':');
      if (colon === 0) continue; // a comment (keep-alive)
      const field = colon === -1 ? line : line.slice(0, colon);
      const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'id') id = value;
      else if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
    }
    if (data.length > 0) emit({ id, event, data: data.join('\n') });
  }
  return rest;
}

export interface SseFollow {
  close(): void;
}

/** Follows /api/v1/events (plus `query`), reconnecting after `retryMs`; `onStatus` reports HTTP errors. */
export function followEvents(
  target: ApiTarget,
  opts: {
    /** Resume after this event id; '0' (or an id of an earlier run of the node): everything it holds. */
    since?: string;
    query?: string;
    retryMs?: number;
    onMessage: (m: SseMessage) => void;
    onError?: (err: string) => void;
  },
): SseFollow {
  let lastId = opts.since;
  let closed = false;
  let req: ClientRequest | undefined;
  let timer: NodeJS.Timeout | undefined;
  const connect = () => {
    if (closed) return;
    const headers: Record<string, string> = {
      authorization: `Bearer ${target.token}`,
      accept: 'text/event-stream',
    };
    // After a node restart this is an id of its previous run: the node then replays all it holds.
    if (lastId !== undefined) headers['last-event-id'] = lastId;
    req = request(`${target.url}/api/v1/events${opts.query ?? ''}`, { headers }, (res) => {
      if (res.statusCode !== 200) {
        opts.onError?.(`HTTP ${res.statusCode}`);
        res.resume();
        return;
      }
      res.setEncoding('utf8');
      let buf = '';
      res.on('data', (chunk: string) => {
        buf = parseSse(buf + chunk, (m) => {
          if (m.id !== null) lastId = m.id;
          opts.onMessage(m);
        });
      });
    });
    req.on('error', (err) => opts.onError?.(err.message));
    req.on('close', () => {
      if (!closed) timer = setTimeout(connect, opts.retryMs ?? 1000);
    });
    req.end();
  };
  connect();
  return {
    close() {
      closed = true;
      clearTimeout(timer);
      req?.destroy();
    },
  };
}
