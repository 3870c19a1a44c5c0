// The etcd client of a multi-pair cluster, opened from the `cluster` config section: the SIP worker's directory
// and the node's election use it alike. Files named in the config (TLS material, the auth password) are read here;
// one that cannot be read is a config error naming its key.
import { readFile, stat } from 'node:fs/promises';
import type { Etcd3, IOptions } from 'etcd3';
import { ConfigError } from '../config/load.js';
import type { ClusterConfig } from '../config/schema.js';
import { errorMessage } from '../net/errors.js';

export interface EtcdClientOptions {
  cluster: ClusterConfig;
  /** Resolves a path of the config relative to the config file. */
  resolvePath: (p: string) => string;
  /** The config file, for errors about the files it names. */
  configFile?: string;
}

/** The client's options (hosts, dial timeout, TLS, auth), with every file read. */
export async function etcdOptions(o: EtcdClientOptions): Promise<IOptions> {
  const { cluster } = o;
  const read = async (key: string, path: string, secret = false): Promise<Buffer> => {
    let data: Buffer;
    let mode: number;
    try {
      mode = (await stat(o.resolvePath(path))).mode;
      data = await readFile(o.resolvePath(path));
    } catch (err) {
      throw new ConfigError(o.configFile ?? 'config', key, `cannot read ${path}: ${errorMessage(err)}`);
    }
    // A private key or a password readable by anyone on the host is no secret (as the HA key and the token).
    if (secret && (mode & 0o007) !== 0)
      throw new ConfigError(
        o.configFile ?? 'config',
        key,
        `${path}: must not be accessible by others (chmod 600)`,
      );
    return data;
  };
  const options: IOptions = {
    hosts: cluster.etcd.map((e) => e.replace(/\/$/, '')),
    dialTimeout: cluster.request_timeout_ms,
  };
  const tls = cluster.tls;
  if (tls !== undefined) {
    const rootCertificate = await read('cluster.tls.ca_file', tls.ca_file);
    options.credentials =
      tls.cert_file === undefined || tls.key_file === undefined
        ? { rootCertificate }
        : {
            rootCertificate,
            certChain: await read('cluster.tls.cert_file', tls.cert_file),
            privateKey: await read('cluster.tls.key_file', tls.key_file, true),
          };
  }
  const auth = cluster.auth;
  if (auth !== undefined) {
    const password = (await read('cluster.auth.password_file', auth.password_file, true))
      .toString('utf8')
      .trim();
    if (password.length === 0)
      throw new ConfigError(
        o.configFile ?? 'config',
        'cluster.auth.password_file',
        `${auth.password_file} is empty`,
      );
    options.auth = { username: auth.user, password };
  }
  return options;
}

/**
 * Opens the client (connections are made lazily: an etcd down now is not an error here). etcd3 and its gRPC stack
 * are loaded only here: a server without `cluster` never loads them.
 */
export async function openEtcd(o: EtcdClientOptions): Promise<Etcd3> {
  const options = await etcdOptions(o);
  const { Etcd3 } = await import('etcd3');
  return new Etcd3(options);
}
