// Throw-away certificates for TLS tests, made by openssl at test time (never checked in): a CA, and server
// certificates it signed for the names and addresses given.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestPki {
  dir: string;
  caCert: string;
  /** Issues a certificate for `cn` with these subjectAltNames (e.g. ['IP:127.0.0.1', 'DNS:sipha.test']). */
  issue(name: string, cn: string, altNames: readonly string[]): { cert: string; key: string };
  cleanup(): void;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

export function makeTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'sipha-pki-'));
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(
    [
      'req',
      '-x509',
      ...ec,
      '-days',
      '2',
      '-subj',
      '/CN=sipha test CA',
      '-keyout',
      'ca.key',
      '-out',
      'ca.pem',
    ],
    dir,
  );
  return {
    dir,
    caCert: join(dir, 'ca.pem'),
    issue(name, cn, altNames) {
      const key = join(dir, `${name}.key`);
      const csr = join(dir, `${name}.csr`);
      const cert = join(dir, `${name}.pem`);
      const ext = join(dir, `${name}.ext`);
      writeFileSync(ext, `subjectAltName=${altNames.join(',')}\n`);
      openssl(['req', ...ec, '-subj', `/CN=${cn}`, '-keyout', key, '-out', csr], dir);
      openssl(
        [
          'x509',
          '-req',
          '-in',
          csr,
          '-CA',
          'ca.pem',
          '-CAkey',
          'ca.key',
          '-CAcreateserial',
          '-days',
          '2',
          '-extfile',
          ext,
          '-out',
          cert,
        ],
        dir,
      );
      chmodSync(key, 0o600);
      return { cert, key };
    },
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
