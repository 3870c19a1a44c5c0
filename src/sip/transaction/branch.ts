// Branch IDs for requests we originate or forward (RFC 3261 §8.1.1.7, §16.6 step 8).
import { randomFillSync } from 'node:crypto';
import { MAGIC_COOKIE } from '../via.js';

// 12 random bytes per branch (96 bits, 16 base64url characters, all token characters): unique across
// restarts and across the two HA nodes, and unguessable so a blind attacker cannot match our transactions.
// Entropy is drawn in batches because one randomFillSync per branch costs a syscall.
const BYTES_PER_BRANCH = 12;
const pool = Buffer.allocUnsafe(BYTES_PER_BRANCH * 256);
let offset = pool.length;

export function newBranch(): string {
  if (offset === pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  const id = pool.toString('base64url', offset, offset + BYTES_PER_BRANCH);
  offset += BYTES_PER_BRANCH;
  return MAGIC_COOKIE + id;
}
