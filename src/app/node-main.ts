// `sipha start --config FILE` with an `ha` section: the node supervisor, its SIP worker and the management API.
// Resolves when the node has stopped (SIGTERM/SIGINT: hand over if primary, release the VIP, stop the worker).
import { fileURLToPath } from 'node:url';
import { permitFromConfig } from '../cluster/permit-from-config.js';
import { ConfigError, type LoadedConfig, loadConfig } from '../config/load.js';
import { restartOnlyDifferences } from '../config/reloadable.js';
import { loadHaKey } from '../ha/key-file.js';
import { HaNode } from '../ha/node.js';
import { setOwnNice } from '../ha/scheduling.js';
import { TermStore } from '../ha/term-store.js';
import { keepingVip, testBreak } from '../ha/test-break.js';
import { createLogger } from '../log/logger.js';
import { Metrics } from '../mgmt/metrics.js';
import { ManagementServer } from '../mgmt/server.js';
import { readTokenFile } from '../mgmt/token.js';
import { errorMessage } from '../net/errors.js';
import { createVipDriver } from '../vip/driver.js';
import { assertPreflight, preflight } from './preflight.js';
import { stopOnSignal } from './stop-on-signal.js';
import { notifyReady } from './systemd-notify.js';

export async function startHaNode(loaded: LoadedConfig): Promise<void> {
  const { config, resolvePath, file } = loaded;
  const vipConfig = config.vip;
  if (config.ha === undefined || vipConfig === undefined) throw new ConfigError(file, 'ha', 'is required');
  // Every config problem before anything moves: what `sipha config check` checks (this host's interfaces and
  // addresses, the files), then the key and token themselves.
  await assertPreflight(loaded);
  const key = await loadHaKey(loaded);
  const token =
    config.management === undefined
      ? undefined
      : await readTokenFile(resolvePath(config.management.token_file), file);
  const log = createLogger(config.log.level).child({ node: config.node.id });
  // Cluster mode: the pair's permit in etcd (its files read now: an unreadable one stops the start here).
  const permit = await permitFromConfig(loaded, log);
  // Above the worker and the host's other work (ha.node_nice), before the worker is forked: it inherits this
  // value and lowers its own threads to ha.worker_nice.
  const nice = setOwnNice(config.ha.node_nice);
  if (nice.ok) log.info({ nice: nice.nice }, 'node scheduling priority set');
  else
    log.warn(
      { want: config.ha.node_nice, nice: nice.nice, detail: nice.detail },
      'node priority not raised (needs root, CAP_SYS_NICE or Nice= in the unit): heartbeats may be late on a saturated host',
    );
  const script =
    vipConfig.script === undefined
      ? undefined
      : {
          enable: resolvePath(vipConfig.script.enable),
          disable: resolvePath(vipConfig.script.disable),
          status: resolvePath(vipConfig.script.status),
          announce:
            vipConfig.script.announce === undefined ? undefined : resolvePath(vipConfig.script.announce),
        };
  const metrics = new Metrics();
  // The driver's after-the-fact verification reaches the node once it exists (it is made with the driver).
  let onVerifyFailed: (op: 'enable' | 'disable', detail: string) => void = () => {};
  const vip = createVipDriver(
    { ...vipConfig, script },
    {
      onEvent: (e) => {
        if (e.type === 'command') {
          // One plain line when the VIP is added or removed (the operator's question after a takeover: when, how
          // long, which command); status checks stay at debug.
          const what =
            e.operation === 'enable' ? 'VIP added' : e.operation === 'disable' ? 'VIP removed' : undefined;
          if (what !== undefined)
            log[e.ok ? 'info' : 'error'](
              {
                vip: vipConfig.address,
                command: e.argv.join(' '),
                ms: Math.round(e.durationMs),
                attempts: e.attempts,
              },
              e.ok ? what : `${what}: FAILED`,
            );
          else log.debug({ vip: e }, 'vip command');
          metrics.vipCommand(e.operation, e.ok, e.durationMs, vipConfig.announce.count);
        } else if (e.type === 'verify-failed') onVerifyFailed(e.operation, e.detail);
        else log.warn({ err: e.error }, 'vip announcement failed');
      },
    },
  );
  // The chaos checker's self-test only (test-break.ts).
  const broken = testBreak();
  if (broken !== undefined)
    log.warn({ testBreak: broken }, `SIPHA_TEST_BREAK=${broken}: this node is broken on purpose`);
  const node = new HaNode({
    config,
    key,
    vip: broken === 'keep-vip' ? keepingVip(vip) : vip,
    terms: new TermStore(resolvePath(config.node.state_dir), config.node.id),
    log,
    worker: {
      modulePath: fileURLToPath(new URL('./worker-main.js', import.meta.url)),
      args: ['--config', file],
    },
    ...(permit === undefined ? {} : { permit }),
  });
  onVerifyFailed = (op, detail) => node.vipVerifyFailed(op, detail);
  // The ip coprocess and the announcement sender up before any switchover needs them (best effort: operations
  // start them, or fall back to one process per command, when this fails).
  vip.prime().catch((err: unknown) => log.warn({ err }, 'vip driver could not be primed'));
  await node.start();
  // SIGHUP and POST /api/v1/reload: the config again. The node checks it as start would; the worker applies what
  // can change live (users, routes, registrar, log level, TLS files) or refuses, naming what needs a restart. Each
  // node reloads its own file: on a pair, reload both (README "Reload").
  let current = config;
  const reload = async (): Promise<string | undefined> => {
    try {
      const next = await loadConfig(file);
      const problems = await preflight(next);
      if (problems.length > 0) throw problems[0];
      const fixed = restartOnlyDifferences(current, next.config);
      if (fixed.length > 0) throw new ConfigError(file, fixed.join(', '), 'changed: needs a restart');
      current = next.config;
      log.level = next.config.log.level;
      log.info('config checked, the SIP worker applies it');
      node.toWorker({ type: 'reload' });
      return undefined;
    } catch (err) {
      const why = errorMessage(err);
      log.error({ err: why }, 'config reload refused; the config in force stays');
      return why;
    }
  };
  process.on('SIGHUP', () => void reload());
  const mgmt =
    config.management === undefined || token === undefined
      ? undefined
      : new ManagementServer({ listen: config.management.listen, token, node, log, metrics, reload });
  await mgmt?.start();
  // Under systemd: ready once the node runs and its API answers (Type=notify).
  notifyReady((err) => log.warn({ err: err.message }, 'systemd-notify failed'));

  // close after stop: stopping releases the VIP through the driver.
  await stopOnSignal(log, 'the HA node', () =>
    Promise.allSettled([node.stop().finally(() => vip.close()), mgmt?.close()]),
  );
}
