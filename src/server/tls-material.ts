// The TLS material of sip.tls read from its files: certificate chain, private key, CAs, session-ticket keys. Every
// problem is a ConfigError naming the key, found before anything binds (and again on a reload, which then keeps
// the material in use). Both nodes of a pair present the same certificate for the VIP and share the ticket keys,
// so that a client's session from the old primary resumes on the new one after a takeover (RFC 5077 tickets).
import { hkdfSync } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { type ConnectionOptions, createSecureContext, type TlsOptions } from 'node:tls';
import { ConfigError } from '../config/load.js';
import type { SiphaConfig } from '../config/schema.js';
import { errorCode, errorMessage } from '../net/errors.js';
import type { StreamTls } from '../sip/transport/stream.js';

type TlsConfig = NonNullable<SiphaConfig['sip']['tls']>;

/** Node's ticket keys: 16 bytes of name, 16 of HMAC key, 16 of AES key. */
export const TICKET_KEY_BYTES = 48;

export interface TlsMaterialSource {
  tls: TlsConfig | undefined;
  resolvePath: (p: string) => string;
  /** The config file, for the error messages. */
  configFile: string;
  /** The HA link's shared key: the ticket keys derive from it when no ticket_key_file is given. */
  haKey?: Buffer;
}

/** The transport layer's TLS settings; without sip.tls, only TLS out, checked against the system's CAs. */
export async function loadTlsMaterial(o: TlsMaterialSource): Promise<StreamTls> {
  const t = o.tls;
  if (t === undefined) return { client: { minVersion: 'TLSv1.2' }, maxHandshakes: 256 };
  const read = async (key: string, file: string, secret: boolean): Promise<Buffer> => {
    const path = o.resolvePath(file);
    try {
      // A private key others can read is no longer private: refuse it, as for ha.key_file.
      if (secret && ((await stat(path)).mode & 0o007) !== 0)
        throw new ConfigError(o.configFile, key, `${path}: must not be accessible by others (chmod 600)`);
      return await readFile(path);
    } catch (err) {
      if (err instanceof ConfigError) throw err;
      throw new ConfigError(
        o.configFile,
        key,
        `${path}: cannot read (${errorCode(err) ?? errorMessage(err)})`,
      );
    }
  };
  const cert = await read('sip.tls.cert_file', t.cert_file, false);
  const key = await read('sip.tls.key_file', t.key_file, true);
  const ca = t.ca_file === undefined ? undefined : await read('sip.tls.ca_file', t.ca_file, false);
  if (!cert.includes('-----BEGIN CERTIFICATE-----'))
    throw new ConfigError(o.configFile, 'sip.tls.cert_file', 'is not a PEM certificate');
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(key.toString('latin1')))
    throw new ConfigError(o.configFile, 'sip.tls.key_file', 'is not a PEM private key');
  if (ca !== undefined && !ca.includes('-----BEGIN CERTIFICATE-----'))
    throw new ConfigError(o.configFile, 'sip.tls.ca_file', 'is not a PEM certificate');
  // OpenSSL checks the pair: a key that does not belong to the certificate fails here, not at the first client.
  try {
    createSecureContext({ cert, key, ...(ca === undefined ? {} : { ca }) });
  } catch (err) {
    throw new ConfigError(
      o.configFile,
      'sip.tls.key_file',
      `does not fit sip.tls.cert_file (${errorMessage(err)})`,
    );
  }
  const ticketKeys = await ticketKeysFor(t, o, read);
  const server: TlsOptions = {
    cert,
    key,
    minVersion: t.min_version,
    ...(ca === undefined ? {} : { ca }),
    requestCert: t.verify_client,
    rejectUnauthorized: t.verify_client,
    ...(ticketKeys === undefined ? {} : { ticketKeys }),
    // OpenSSL resumes only a session of the same context; Node's default hashes the process's argv, which differs
    // between the two nodes of a pair (their config paths), and a ticket from the other node would not resume.
    sessionIdContext: 'sipha-sip',
  };
  const client: ConnectionOptions = {
    minVersion: t.min_version,
    rejectUnauthorized: t.verify_server,
    ...(ca === undefined ? {} : { ca }),
    // Our certificate for servers that ask (mutual TLS with a carrier's SBC).
    cert,
    key,
  };
  return { server, client, maxHandshakes: t.max_handshakes };
}

async function ticketKeysFor(
  t: TlsConfig,
  o: TlsMaterialSource,
  read: (key: string, file: string, secret: boolean) => Promise<Buffer>,
): Promise<Buffer | undefined> {
  if (t.ticket_key_file !== undefined) {
    const raw = await read('sip.tls.ticket_key_file', t.ticket_key_file, true);
    const material = Buffer.from(raw.toString('latin1').replace(/\s+$/, ''), 'latin1');
    if (material.length < TICKET_KEY_BYTES)
      throw new ConfigError(
        o.configFile,
        'sip.tls.ticket_key_file',
        `too short: ${material.length} bytes, at least ${TICKET_KEY_BYTES} (e.g. openssl rand -hex 48)`,
      );
    return deriveTicketKeys(material);
  }
  return o.haKey === undefined ? undefined : deriveTicketKeys(o.haKey);
}

/**
 * RFC 5869 HKDF: the ticket keys are a function of the shared secret (both nodes derive the same ones) that reveals
 * nothing about it, and differ from every other key derived from it.
 */
export function deriveTicketKeys(secret: Buffer): Buffer {
  return Buffer.from(
    hkdfSync('sha256', secret, 'sipha', 'sipha tls session ticket keys v1', TICKET_KEY_BYTES),
  );
}
