// The CLI's side of the management API: the address and token come from the same config file as the node's.
import { request } from 'node:http';
import { loadConfig } from '../config/load.js';
import { formatHostPort, parseHostPort } from '../net/address.js';
import { readTokenFile } from './token.js';

export interface ApiTarget {
  url: string;
  token: string;
  /** Connect through this Unix socket instead of to the URL's host (which then only names the Host header). */
  socketPath?: string;
}

export async function targetFromConfig(file: string, urlOverride?: string): Promise<ApiTarget> {
  const { config, resolvePath } = await loadConfig(file);
  if (config.management === undefined) throw new Error(`${file} has no management section`);
  const token = await readTokenFile(resolvePath(config.management.token_file), file);
  const hp = parseHostPort(config.management.listen);
  // A node listening on the wildcard address is reached on loopback.
  const host = hp.host === '0.0.0.0' ? '127.0.0.1' : hp.host === '::' ? '::1' : hp.host;
  return { url: urlOverride ?? `http://${formatHostPort({ host, port: hp.port })}`, token };
}

export function callApi(
  target: ApiTarget,
  method: 'GET' | 'POST',
  path: string,
  timeoutMs = 10_000,
): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${target.url}${path}`,
      {
        method,
        headers: { authorization: `Bearer ${target.token}` },
        timeout: timeoutMs,
        ...(target.socketPath === undefined ? {} : { socketPath: target.socketPath }),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown = text;
          try {
            body = JSON.parse(text);
          } catch {
            // not JSON: keep the text
          }
          resolve({ status: res.statusCode ?? 0, body });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer from ${target.url} within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}
