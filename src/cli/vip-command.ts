// `sipha vip status|release --config FILE`: look at or remove the VIP outside a running node.
// release is the safe start: nodes do it before anything else, and systemd runs it as ExecStopPost.
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/load.js';
import { errorMessage } from '../net/errors.js';
import type { VipConfig } from '../vip/config.js';
import { createVipDriver } from '../vip/driver.js';
import { VipCommandError } from '../vip/errors.js';

const USAGE = 'usage: sipha vip status|release --config FILE [--json]\n';

export async function runVipCommand(args: string[]): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(args);
  } catch (err) {
    process.stderr.write(`sipha vip: ${errorMessage(err)}\n${USAGE}`);
    return 2;
  }
  const { action, file, json } = parsed;
  const { config, resolvePath } = await loadConfig(file);
  if (config.vip === undefined) {
    process.stderr.write(`sipha vip: ${file} has no vip section\n`);
    return 2;
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
      return 0;
    }
    const out = await driver.disable();
    report(
      json,
      { address: vip.address, interface: vip.interface, ...out },
      () =>
        `${vip.address} on ${vip.interface}: ${out.changed ? 'released' : 'was not present'} ` +
        `(${Math.round(out.durationMs)} ms)`,
    );
    return 0;
  } catch (err) {
    if (!(err instanceof VipCommandError)) throw err;
    process.stderr.write(`sipha vip ${action}: ${err.message}\n`);
    return 1;
  }
}

function parse(args: string[]): { action: 'status' | 'release'; file: string; json: boolean } {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { config: { type: 'string', short: 'c' }, json: { type: 'boolean', default: false } },
  });
  const action = positionals[0];
  if (action !== 'status' && action !== 'release') throw new Error('expected status or release');
  if (positionals.length > 1) throw new Error(`unexpected argument '${positionals[1]}'`);
  if (values.config === undefined) throw new Error('--config FILE is required');
  return { action, file: values.config, json: values.json === true };
}

function report(json: boolean, data: object, text: () => string): void {
  process.stdout.write(json ? `${JSON.stringify(data)}\n` : `${text()}\n`);
}
