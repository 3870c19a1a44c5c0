// Reads and validates a YAML config file. Every failure is one ConfigError naming the key and the problem.
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import type { z } from 'zod';
import { errorCode, errorMessage } from '../net/errors.js';
import { configSchema, type SiphaConfig } from './schema.js';

export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly key: string,
    readonly problem: string,
  ) {
    super(`${file}: ${key === '' ? '' : `${key}: `}${problem}`);
    this.name = 'ConfigError';
  }
}

export interface LoadedConfig {
  file: string;
  config: SiphaConfig;
  /** Resolves a path from the config relative to the config file's folder. */
  resolvePath(p: string): string;
}

export async function loadConfig(file: string): Promise<LoadedConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, '', `cannot read file (${errorCode(err) ?? String(err)})`);
  }
  const config = parseConfigText(text, file);
  const base = dirname(resolve(file));
  return { file, config, resolvePath: (p) => (isAbsolute(p) ? p : resolve(base, p)) };
}

export function parseConfigText(text: string, file = '<config>'): SiphaConfig {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    const where = err instanceof YAMLParseError && err.linePos ? ` at line ${err.linePos[0].line}` : '';
    throw new ConfigError(file, '', `not valid YAML${where}: ${errorMessage(err).split('\n')[0]}`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError(file, '', 'must be a YAML mapping with at least a sip section');
  }
  const result = configSchema.safeParse(raw);
  if (!result.success) throw firstIssue(file, result.error);
  return result.data;
}

function firstIssue(file: string, error: z.ZodError): ConfigError {
  const issue = error.issues[0];
  if (issue === undefined) return new ConfigError(file, '', 'invalid config');
  const key = issue.path
    .map((p) => (typeof p === 'number' ? `[${p}]` : String(p)))
    .join('.')
    .replace(/\.\[/g, '[');
  let problem = issue.message;
  if (issue.code === 'unrecognized_keys') problem = `unknown key(s): ${issue.keys.join(', ')}`;
  else if (issue.code === 'invalid_type' && /received undefined/.test(issue.message)) problem = 'is required';
  return new ConfigError(file, key, problem);
}
