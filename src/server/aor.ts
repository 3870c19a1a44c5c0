// Address-of-record keys: `user@domain`, with our own hosts folded into our canonical domain so that
// sip:alice@127.0.0.1:5060 and sip:alice@example.test are the same alice.
import { SipUri, type Uri, unescapeUri } from '../sip/uri.js';
import type { Myself } from './myself.js';

export function aorKey(uri: Uri | undefined, myself: Myself): string | undefined {
  if (!(uri instanceof SipUri) || uri.user === undefined) return undefined;
  const domain = myself.isMyUri(uri) ? myself.canonicalDomain : uri.host.toLowerCase();
  return `${unescapeUri(uri.user)}@${domain}`;
}
