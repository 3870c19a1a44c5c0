// The digest users file (`sip.users_file`): YAML `users: [{ username, password }]`, or a plain mapping
// `username: password`. Errors name the file and the entry.
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from '../config/load.js';
import { errorMessage } from '../net/errors.js';

export async function loadUsersFile(file: string): Promise<Map<string, string>> {
  let raw: unknown;
  try {
    raw = parseYaml(await readFile(file, 'utf8'));
  } catch (err) {
    throw new ConfigError(
      file,
      'sip.users_file',
      `cannot read users file: ${errorMessage(err).split('\n')[0]}`,
    );
  }
  const users = new Map<string, string>();
  const add = (key: string, username: unknown, password: unknown) => {
    if (typeof username !== 'string' || username === '' || /[\s:@"]/.test(username)) {
      throw new ConfigError(
        file,
        key,
        'username must be a non-empty string without spaces, ":", "@" or quotes',
      );
    }
    if (typeof password !== 'string' && typeof password !== 'number') {
      throw new ConfigError(file, key, 'password must be a string');
    }
    users.set(username, String(password));
  };
  if (raw !== null && typeof raw === 'object' && !Array.isArray(raw) && 'users' in raw) {
    const list = (raw as { users: unknown }).users;
    if (!Array.isArray(list))
      throw new ConfigError(file, 'users', 'must be a list of { username, password }');
    list.forEach((u: unknown, i) => {
      const entry = (u ?? {}) as { username?: unknown; password?: unknown };
      add(`users[${i}]`, entry.username, entry.password);
    });
  } else if (raw !== null && typeof raw === 'object' && !Array.isArray(raw)) {
    for (const [k, v] of Object.entries(raw)) add(k, k, v);
  } else {
    throw new ConfigError(file, '', 'must be a mapping of username: password or a users list');
  }
  return users;
}
