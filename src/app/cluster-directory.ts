// The SIP worker's (or the standalone server's) part of a multi-pair cluster: the directory (src/cluster/), set
// up from the `cluster` section. Without that section nothing here runs and no etcd client is opened.
import type { Etcd3 } from 'etcd3';
import type { Logger } from 'pino';
import { Directory } from '../cluster/directory.js';
import { openEtcd } from '../cluster/etcd-client.js';
import type { LoadedConfig } from '../config/load.js';
import type { SiphaConfig } from '../config/schema.js';
import { formatHostPort } from '../net/address.js';
import type { SipServer } from '../server/sip-server.js';

export interface ClusterDirectory {
  directory: Directory;
  /** Publishing starts (after the SIP server bound its sockets: the default target is its address). */
  start(): void;
  close(): Promise<void>;
}

/**
 * Opens etcd and creates the directory, handed to the server before it starts; undefined without `cluster`. An
 * unreadable TLS or password file is a ConfigError (a fatal start error); etcd being down is not.
 */
export async function createClusterDirectory(
  server: SipServer,
  loaded: LoadedConfig,
  log: Logger,
  o: { acting: () => boolean; revokeOnClose: boolean },
): Promise<ClusterDirectory | undefined> {
  const { config } = loaded;
  const cluster = config.cluster;
  const domain = config.sip.domain;
  if (cluster === undefined || domain === undefined) return undefined;
  const etcd: Etcd3 = await openEtcd({ cluster, resolvePath: loaded.resolvePath, configFile: loaded.file });
  const directory = new Directory({
    cluster,
    domain,
    etcd,
    location: server.location,
    acting: o.acting,
    log: log.child({ component: 'directory' }),
    revokeOnClose: o.revokeOnClose,
  });
  server.directory = directory;
  return {
    directory,
    start: () => {
      const target = directoryTarget(config, server);
      log.info({ pair: cluster.pair_id, target, domain }, 'cluster directory: publishing this pair');
      directory.start(target);
    },
    close: async () => {
      await directory.close();
      etcd.close();
    },
  };
}

/**
 * Where the other pairs send this pair's calls: `cluster.advertise`, else the VIP (HA) or the first UDP listen
 * address, on the first UDP port.
 */
export function directoryTarget(config: SiphaConfig, server: Pick<SipServer, 'listening'>): string {
  const advertise = config.cluster?.advertise;
  if (advertise !== undefined) return advertise;
  const udp = server.listening.find((l) => l.transport === 'udp') ?? server.listening[0];
  if (udp === undefined)
    throw new Error('cluster: no SIP listen address to advertise (set cluster.advertise)');
  const vip = config.vip?.address.split('/')[0];
  return formatHostPort({ host: vip ?? udp.address, port: udp.port });
}
