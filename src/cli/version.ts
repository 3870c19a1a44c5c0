// The version printed by `sipha --version`: package.json's, found from this module so that it holds in the
// checkout (dist/src/cli/ → ../../../package.json) and in an installed npm pack tarball (same layout under the
// package root). Walks up rather than trusting one depth, in case the build layout changes.
import { readFileSync } from 'node:fs';

export function packageVersion(from: string | URL = import.meta.url): string {
  let dir = new URL('./', from);
  for (let i = 0; i < 6; i++) {
    try {
      const pkg = JSON.parse(readFileSync(new URL('package.json', dir), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'sipha' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // no package.json here: keep walking up
    }
    dir = new URL('../', dir);
  }
  return 'unknown';
}
