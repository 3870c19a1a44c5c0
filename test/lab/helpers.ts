// Shared bits of the lab tests: the root check and polling.
import { setTimeout as sleep } from 'node:timers/promises';

export const isRoot = process.getuid?.() === 0;
export const NEEDS_ROOT = isRoot ? false : 'needs root for network namespaces';

/** Polls fn until it returns true, or gives up after timeoutMs and returns false. */
export async function eventually(
  fn: () => Promise<boolean>,
  timeoutMs = 3000,
  stepMs = 20,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await fn()) return true;
    if (Date.now() >= deadline) return false;
    await sleep(stepMs);
  }
}
