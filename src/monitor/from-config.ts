// The monitoring section of the config → a SipMonitor for an HA node (undefined when SIP traffic monitoring is
// off). An absent section means the defaults: monitoring is on unless switched off.
import { monitoringSchema, type SiphaConfig } from '../config/schema.js';
import { familyOf, isIpv6, parseHostPort } from '../net/address.js';
import { parseListenUri } from '../sip/transport/listen-uri.js';
import { sipAddresses } from './sip-addresses.js';
import { SipMonitor, type SipMonitorOptions } from './sip-monitor.js';

export type Monitoring = NonNullable<SiphaConfig['monitoring']>;

export function monitoringOf(config: SiphaConfig): Monitoring {
  return config.monitoring ?? monitoringSchema.parse({});
}

export function sipMonitorFromConfig(
  config: SiphaConfig,
  deps: Pick<SipMonitorOptions, 'witnesses' | 'serving' | 'onDecision' | 'log'>,
): SipMonitor | undefined {
  const m = monitoringOf(config);
  const ha = config.ha;
  const vip = config.vip;
  if (!m.sip_traffic.enabled || ha === undefined || vip === undefined) return undefined;
  const vipHost = vip.address.split('/')[0] ?? vip.address;
  // The cross-probe goes where the worker serves the VIP over UDP.
  const served = config.sip.listen
    .map(parseListenUri)
    .find((l) => l?.transport === 'udp' && l.address === vipHost);
  const t = m.sip_traffic;
  return new SipMonitor({
    settings: {
      idleMs: t.idle_ms,
      probeTimeoutMs: t.probe_timeout_ms,
      crossProbeMs: t.cross_probe_ms,
      failRounds: t.fail_rounds,
      probeTargets: t.probe_targets.map(parseHostPort),
      probePort: t.probe_port,
      nic: {
        enabled: m.nic.enabled,
        interface: m.nic.interface ?? vip.interface,
        intervalMs: m.nic.interval_ms,
      },
    },
    addresses: sipAddresses({
      vipCidr: vip.address.includes('/') ? vip.address : `${vip.address}/${isIpv6(vipHost) ? 64 : 24}`,
      haListen: ha.listen,
      haPeer: ha.peer,
      local: t.local_address,
      peer: t.peer_address,
    }),
    vip: { host: vipHost, port: served?.port ?? 5060, family: familyOf(vipHost) },
    ...deps,
  });
}
