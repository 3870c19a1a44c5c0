// The pair's permit built from `cluster:` for the HA node (src/ha/node.ts's `permit` option): its own etcd client
// (no circuit breaker, see permitClientOptions), opened before the node starts so that an unreadable TLS or
// password file is a fatal start error naming its key.
import type { Logger } from 'pino';
import type { LoadedConfig } from '../config/load.js';
import { etcdOptions } from './etcd-client.js';
import { pairPrefix, permitKey } from './keys.js';
import { PairPermit, type PermitEvents, permitClientOptions } from './pair-permit.js';

export async function permitFromConfig(
  loaded: LoadedConfig,
  log: Logger,
): Promise<((events: PermitEvents) => PairPermit) | undefined> {
  const { config } = loaded;
  const cluster = config.cluster;
  const domain = config.sip.domain;
  if (cluster === undefined || domain === undefined) return undefined;
  const options = await etcdOptions({ cluster, resolvePath: loaded.resolvePath, configFile: loaded.file });
  const { Etcd3 } = await import('etcd3');
  const client = new Etcd3(permitClientOptions(options));
  return (events) =>
    new PairPermit(
      {
        client,
        key: permitKey(cluster.prefix, domain, cluster.pair_id),
        nodeId: config.node.id,
        ttlS: cluster.lease_ttl_s,
        requestTimeoutMs: cluster.request_timeout_ms,
        log: log.child({ component: 'etcd-permit' }),
        onClose: () => client.close(),
        pairsPrefix: pairPrefix(cluster.prefix, domain),
      },
      events,
    );
}
