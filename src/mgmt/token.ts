// The management API's bearer token (management.token_file): the same rules as the HA key, since it can move
// the VIP. Compared in constant time.
import { timingSafeEqual } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { ConfigError } from '../config/load.js';
import { errorCode } from '../net/errors.js';

export const MIN_TOKEN_BYTES = 16;

export async function readTokenFile(path: string, configFile: string): Promise<string> {
  const fail = (problem: string) =>
    new ConfigError(configFile, 'management.token_file', `${path}: ${problem}`);
  let token: string;
  let mode: number;
  try {
    mode = (await stat(path)).mode;
    token = (await readFile(path, 'utf8')).trim();
  } catch (err) {
    throw fail(`cannot read the token (${errorCode(err) ?? String(err)})`);
  }
  if ((mode & 0o007) !== 0) throw fail('must not be accessible by others (chmod 600)');
  if (token.length < MIN_TOKEN_BYTES) throw fail(`too short: at least ${MIN_TOKEN_BYTES} characters`);
  if (/\s/.test(token)) throw fail('must be one word');
  return token;
}

/** True when an Authorization header carries exactly this bearer token. */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer\s+(\S+)$/i.exec(header ?? '');
  if (m?.[1] === undefined) return false;
  const got = Buffer.from(m[1]);
  const want = Buffer.from(token);
  return got.length === want.length && timingSafeEqual(got, want);
}
