// The HA link's shared key (ha.key_file). Every peer message is authenticated with HMAC-SHA256 under it, so a
// missing, short or readable-by-anyone key is a config error that names ha.key_file, never a warning.
import { readFile, stat } from 'node:fs/promises';
import { ConfigError, type LoadedConfig } from '../config/load.js';
import { errorCode } from '../net/errors.js';

/** RFC 2104 §3: a key shorter than the hash output (32 bytes for SHA-256) weakens the HMAC. */
export const MIN_KEY_BYTES = 32;

export async function loadHaKey(loaded: LoadedConfig): Promise<Buffer> {
  const ha = loaded.config.ha;
  if (ha === undefined) throw new ConfigError(loaded.file, 'ha', 'is required for the HA key');
  return readKeyFile(loaded.resolvePath(ha.key_file), loaded.file);
}

export async function readKeyFile(path: string, configFile: string): Promise<Buffer> {
  const fail = (problem: string) => new ConfigError(configFile, 'ha.key_file', `${path}: ${problem}`);
  let mode: number;
  let raw: Buffer;
  try {
    mode = (await stat(path)).mode;
    raw = await readFile(path);
  } catch (err) {
    throw fail(`cannot read the key (${errorCode(err) ?? String(err)})`);
  }
  if ((mode & 0o007) !== 0) throw fail('must not be accessible by others (chmod 600)');
  // A trailing newline from `echo` or an editor is not part of the key; both nodes read the file the same way.
  const key = Buffer.from(raw.toString('latin1').replace(/\s+$/, ''), 'latin1');
  if (key.length < MIN_KEY_BYTES)
    throw fail(`too short: ${key.length} bytes, at least ${MIN_KEY_BYTES} (e.g. openssl rand -hex 32)`);
  // "aaaa…" or "0000…" pass a length check but not a guess: demand some variety (a hex key has ~16 symbols).
  if (new Set(key).size < 8) throw fail('too weak: fewer than 8 distinct bytes');
  return key;
}
