// `sipha vip status|release [-c FILE]`: look at or remove the VIP outside a running node.
// release is the safe start: nodes do it before anything else, and systemd runs it as ExecStopPost.
// status exits 3 when the VIP is not on this host, so that scripts and keepalived-style checks can use it.
import type { VipConfig } from '../vip/config.js';
import {
  CONFIG_OPTION,
  type CommandSpec,
  configPath,
  EXIT_FAILURE,
  EXIT_OK,
  EXIT_USAGE,
  flag,
  JSON_OPTION,
  type ParsedArgs,
} from './args.js';
import type { CliCommand } from './command.js';

/** `sipha vip status`: the VIP is not held on this host. */
export const EXIT_VIP_ABSENT = 3;

export const spec: CommandSpec = {
  name: 'vip',
  summary: 'show (status) or remove (release) the Virtual IP on this host',
  options: [CONFIG_OPTION, JSON_OPTION],
  args: [{ name: 'ACTION', choices: ['status', 'release'], description: 'what to do with the VIP' }],
  synopsis: ['status [options]', 'release [options]'],
  exitCodes: [
    [0, 'status: the VIP is held on this host; release: removed, or was not present'],
    [1, 'the VIP command (ip, or the configured script) failed'],
    [EXIT_VIP_ABSENT, 'status: the VIP is not held on this host'],
  ],
};

export async function runVipCommand({ values, positionals }: ParsedArgs): Promise<number> {
  const action = positionals[0] === 'release' ? 'release' : 'status';
  const json = flag(values, 'json');
  const file = configPath(values);
  const { loadConfig } = await import('../config/load.js');
  const { createVipDriver } = await import('../vip/driver.js');
  const { VipCommandError } = await import('../vip/errors.js');
  const { config, resolvePath } = await loadConfig(file);
  if (config.vip === undefined) {
    process.stderr.write(`sipha vip: ${file} has no vip section\n`);
    return EXIT_USAGE;
  }
  const vip: VipConfig = config.vip;
  // Script paths are relative to the config file, like every other path in it.
  const script =
    vip.script === undefined
      ? undefined
      : {
          enable: resolvePath(vip.script.enable),
          disable: resolvePath(vip.script.disable),
          status: resolvePath(vip.script.status),
          announce: vip.script.announce === undefined ? undefined : resolvePath(vip.script.announce),
        };
  // One-off and verified: a process per command (status, change, status), no coprocess to start and end.
  const driver = createVipDriver({ ...vip, script }, { coprocess: false });
  try {
    if (action === 'status') {
      const st = await driver.isPresent();
      report(
        json,
        { address: vip.address, interface: vip.interface, ...st },
        () =>
          `${vip.address} on ${vip.interface}: ${st.present ? 'present' : 'absent'}` +
          `${st.flags.length > 0 ? ` (${st.flags.join(' ')})` : ''}`,
      );
      return st.present ? EXIT_OK : EXIT_VIP_ABSENT;
    }
    const out = await driver.disable();
    report(
      json,
      { address: vip.address, interface: vip.interface, ...out },
      () =>
        `${vip.address} on ${vip.interface}: ${out.changed ? 'released' : 'was not present'} ` +
        `(${Math.round(out.durationMs)} ms)`,
    );
    return EXIT_OK;
  } catch (err) {
    if (!(err instanceof VipCommandError)) throw err;
    process.stderr.write(`sipha vip ${action}: ${err.message}\n`);
    return EXIT_FAILURE;
  }
}

function report(json: boolean, data: object, text: () => string): void {
  process.stdout.write(json ? `${JSON.stringify(data)}\n` : `${text()}\n`);
}

export const vipCommand: CliCommand = { spec, run: runVipCommand };
