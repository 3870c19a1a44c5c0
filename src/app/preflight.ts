// Everything `sipha start` checks before it binds anything, and what `sipha config check` reports: the schema (done by
// loading), the semantic rules of config-check.ts against this host, and the files the config names — HA key,
// management token, TLS material, users file — read as the service will read them. Every problem is a ConfigError
// naming its key; `start` stops at them (exit 2), `config check` lists them all.

import { etcdOptions } from '../cluster/etcd-client.js';
import { ConfigError, type LoadedConfig } from '../config/load.js';
import { loadHaKey } from '../ha/key-file.js';
import { readTokenFile } from '../mgmt/token.js';
import { errorMessage } from '../net/errors.js';
import { loadTlsMaterial } from '../server/tls-material.js';
import { loadUsersFile } from '../server/users-file.js';
import { checkConfig, type HostFacts } from './config-check.js';
import { hostFacts } from './host-facts.js';

export async function preflight(loaded: LoadedConfig, host: HostFacts = hostFacts()): Promise<ConfigError[]> {
  const { config, file, resolvePath } = loaded;
  const problems = checkConfig(config, file, host);
  const attempt = async (key: string, run: () => Promise<unknown>): Promise<unknown> => {
    try {
      return await run();
    } catch (err) {
      problems.push(err instanceof ConfigError ? err : new ConfigError(file, key, errorMessage(err)));
      return undefined;
    }
  };
  const haKey =
    config.ha === undefined
      ? undefined
      : ((await attempt('ha.key_file', () => loadHaKey(loaded))) as Buffer | undefined);
  if (config.management !== undefined) {
    const token = config.management.token_file;
    await attempt('management.token_file', () => readTokenFile(resolvePath(token), file));
  }
  await attempt('sip.tls', () =>
    loadTlsMaterial({
      tls: config.sip.tls,
      resolvePath,
      configFile: file,
      ...(haKey === undefined ? {} : { haKey }),
    }),
  );
  // Cluster mode: etcd's TLS material and password, read as the node and the worker will (src/cluster/).
  const cluster = config.cluster;
  if (cluster !== undefined)
    await attempt('cluster', () => etcdOptions({ cluster, resolvePath, configFile: file }));
  const users = config.sip.users_file;
  if (users !== undefined)
    await attempt('sip.users_file', async () => {
      try {
        return await loadUsersFile(resolvePath(users));
      } catch (err) {
        throw new ConfigError(file, 'sip.users_file', `${resolvePath(users)}: ${errorMessage(err)}`);
      }
    });
  return problems;
}

/** For `start`: the first problem as a thrown ConfigError (the caller prints it and exits 2). */
export async function assertPreflight(loaded: LoadedConfig): Promise<void> {
  const [first, ...rest] = await preflight(loaded);
  if (first === undefined) return;
  if (rest.length === 0) throw first;
  throw new ConfigError(
    loaded.file,
    '',
    `${[first, ...rest].map((p) => p.message.replace(`${loaded.file}: `, '')).join('; ')}`,
  );
}
