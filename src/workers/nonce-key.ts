// The digest nonce key all SIP workers of a node share (SipServerOptions.nonceKey). In an HA pair it derives from
// the HA key, so both nodes' workers verify each other's nonces after a takeover; a standalone node's workers
// share a random one, written once (by whichever worker comes first) to the node's private directory.
import { createHmac, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { errorCode } from '../net/errors.js';

const KEY_BYTES = 32;

export function nonceKeyFromHaKey(haKey: Buffer): Buffer {
  return createHmac('sha256', haKey).update('sipha digest nonce key').digest();
}

/** The node's shared nonce key in `meshDir` (mode 0700), made by the first worker to ask. */
export async function sharedNonceKey(meshDir: string): Promise<Buffer> {
  const path = join(meshDir, 'nonce.key');
  try {
    const key = randomBytes(KEY_BYTES);
    writeFileSync(path, key, { flag: 'wx', mode: 0o600 });
    return key;
  } catch (err) {
    if (errorCode(err) !== 'EEXIST') throw err;
  }
  // Another worker made it: it may still be writing.
  for (let tries = 0; tries < 100; tries++) {
    const key = readFileSync(path);
    if (key.length === KEY_BYTES) return key;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`${path}: not ${KEY_BYTES} bytes`);
}
