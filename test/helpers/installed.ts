// Tests that drive a real client skip, saying so, when its binary is not on the PATH.
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

export function installed(binary: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, binary), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** A skip reason for node:test when `binary` is missing, else false. */
export function skipWithout(binary: string): string | false {
  return installed(binary) ? false : `${binary} is not installed (apt-get install ${binary})`;
}
