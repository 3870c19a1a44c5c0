// Which addresses the SIP probes use, pure: this node's unique SIP address (the probes' source and the OPTIONS
// responder) and the peer's. By default they are the ha.listen / ha.peer addresses that lie in the VIP's subnet
// (the HA link runs over the SIP network too, one path per network, DESIGN.md); the config may name them.
import { BlockList, isIP } from 'node:net';
import { parseHostPort } from '../net/address.js';

export interface SipAddresses {
  local: string | undefined;
  peer: string | undefined;
}

/** "198.51.100.10/24" → does ip lie in that subnet. */
export function inSubnet(ip: string, cidr: string): boolean {
  const [net, bits] = cidr.split('/');
  const family = isIP(net ?? '');
  if (net === undefined || family === 0 || family !== isIP(ip)) return false;
  const prefix = bits === undefined ? (family === 4 ? 32 : 128) : Number(bits);
  const list = new BlockList();
  const type = family === 4 ? 'ipv4' : 'ipv6';
  list.addSubnet(net, prefix, type);
  return list.check(ip, type);
}

export function sipAddresses(o: {
  vipCidr: string;
  haListen: readonly string[];
  haPeer: readonly string[];
  local?: string;
  peer?: string;
}): SipAddresses {
  const i = o.haListen.findIndex((l) => {
    try {
      return inSubnet(parseHostPort(l).host, o.vipCidr);
    } catch {
      return false;
    }
  });
  const host = (s: string | undefined) => (s === undefined ? undefined : parseHostPort(s).host);
  return {
    local: o.local ?? (i >= 0 ? host(o.haListen[i]) : undefined),
    peer: o.peer ?? (i >= 0 ? host(o.haPeer[i]) : undefined),
  };
}
