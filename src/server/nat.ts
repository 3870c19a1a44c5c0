// Phones behind NAT (Kamailio's nathelper `fix_nated_contact`, RFC 5626 §5 "flows"): a binding remembers the
// transport, address and port its REGISTER came from. A request for a phone whose Contact is a private address
// seen from another source address goes to that source — the NAT's mapping — over the same transport (and, for
// TCP, the same connection), while the Contact stays as the phone wrote it in the message. Pure.
import { isPrivateAddress } from '../net/address.js';
import type { Endpoint } from '../sip/transport/types.js';
import { parseUri, SipUri } from '../sip/uri.js';

/**
 * `auto`: the flow when the Contact's host is a private address and the REGISTER came from another address
 * (a phone behind NAT); `always`: the flow whenever there is one (every phone is reached where it registered
 * from); `never`: the Contact, as written.
 */
export type NatMode = 'auto' | 'always' | 'never';

/** Whether a binding with this Contact, registered from `received`, is reached through its flow. */
export function useFlow(contact: string, received: Endpoint | undefined, mode: NatMode): boolean {
  if (received === undefined || mode === 'never') return false;
  if (mode === 'always') return true;
  const uri = parseUri(contact);
  if (!(uri instanceof SipUri)) return false;
  return isPrivateAddress(uri.host) && uri.host !== received.address;
}

/**
 * A key for a contact URI that survives the small differences between how a phone writes its Contact in a
 * REGISTER and in a dialog (parameters, letter case of the host): user, host and port.
 */
export function contactKey(contact: string | SipUri): string | undefined {
  const uri = typeof contact === 'string' ? parseUri(contact) : contact;
  if (!(uri instanceof SipUri)) return undefined;
  return `${uri.user ?? ''}@${uri.host.toLowerCase()}:${uri.port ?? ''}`;
}
