// Throw-away TLS material for the transport benchmark: a self-signed P-256 certificate for bench.test and session
// ticket key files, written into a temporary directory per run so that nothing secret is ever checked into git.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface CertFiles {
  cert: string;
  key: string;
}

/** A certificate valid for two days (a bench run is minutes); EC keys keep the handshakes cheap, like a real deployment. */
export function makeCert(dir: string): CertFiles {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=bench.test',
      '-keyout',
      key,
      '-out',
      cert,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], timeout: 15_000 },
  );
  chmodSync(key, 0o600);
  return { cert, key };
}

/**
 * A session-ticket key file for sipha's sip.tls.ticket_key_file: 48 random bytes as hex text, like `openssl rand -hex
 * 48` (sipha trims trailing whitespace, so raw random bytes would now and then come out a byte short).
 */
export function makeTicketKey(dir: string, name: string): string {
  const file = join(dir, name);
  writeFileSync(file, `${randomBytes(48).toString('hex')}\n`, { mode: 0o600 });
  return file;
}
