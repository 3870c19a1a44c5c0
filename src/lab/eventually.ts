// Polling until a condition holds: the lab's way to wait for a distributed state without fixed sleeps.
import { setTimeout as sleep } from 'node:timers/promises';

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
