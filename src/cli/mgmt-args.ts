// What the management commands share: the options (config, URL, JSON) and the way to the node's API.
import type { ApiTarget } from '../mgmt/client.js';
import {
  CONFIG_OPTION,
  configPath,
  JSON_OPTION,
  type OptionSpec,
  type ParsedArgs,
  stringValue,
  URL_OPTION,
} from './args.js';

export const MGMT_OPTIONS: readonly OptionSpec[] = [CONFIG_OPTION, URL_OPTION, JSON_OPTION];

/** The API address and token from the config (a ConfigError, exit 2, when the file is missing or wrong). */
export async function mgmtTarget(
  values: ParsedArgs['values'],
  url = stringValue(values, 'url'),
): Promise<ApiTarget> {
  // Loaded on use: the client pulls in the config loader (yaml, zod).
  const { targetFromConfig } = await import('../mgmt/client.js');
  return targetFromConfig(configPath(values), url);
}

/** One line for an API answer that is not a 200: the token refused, the worker silent, or the status. */
export function httpProblem(status: number, body: unknown): string {
  if (status === 401) return 'the node refused the token (management.token_file)';
  const error = (body as { error?: unknown } | null)?.error;
  return `HTTP ${status}${typeof error === 'string' ? `: ${error}` : ''}`;
}
