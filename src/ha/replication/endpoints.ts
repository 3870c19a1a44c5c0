// Where the replication stream runs: TCP on the HA path addresses (ha.listen, ha.peer) at ha.replication_port,
// by default the port of each side's first path + 1 (so two hosts with different HA ports still agree).
import type { SiphaConfig } from '../../config/schema.js';
import { type HostPort, parseHostPort } from '../../net/address.js';

export interface ReplicationEndpoints {
  /** Addresses this node serves the stream on (one per distinct path address). */
  listen: HostPort[];
  /** The peer's addresses, one per path, in preference order. */
  peers: HostPort[];
  /** Local address to connect from on each path (same index as `peers`), so the stream uses that path. */
  locals: string[];
}

type Ha = NonNullable<SiphaConfig['ha']>;

export function replicationEndpoints(ha: Ha): ReplicationEndpoints {
  const listen = ha.listen.map(parseHostPort);
  const peer = ha.peer.map(parseHostPort);
  const listenPort = ha.replication_port ?? (listen[0]?.port ?? 0) + 1;
  const peerPort = ha.replication_port ?? (peer[0]?.port ?? 0) + 1;
  const seen = new Set<string>();
  const out: ReplicationEndpoints = { listen: [], peers: [], locals: [] };
  for (const l of listen) {
    if (seen.has(l.host)) continue;
    seen.add(l.host);
    out.listen.push({ ...l, port: listenPort });
  }
  peer.forEach((p, i) => {
    out.peers.push({ ...p, port: peerPort });
    out.locals.push(listen[i]?.host ?? '');
  });
  return out;
}
