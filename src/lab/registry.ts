// Labs alive in this process, torn down on exit, SIGINT, SIGTERM and SIGHUP even when a test forgets.
import type { ChildProcess } from 'node:child_process';
import { destroyNamespacesSync } from './netns.js';

interface Entry {
  namespaces: readonly string[];
  children: Set<ChildProcess>;
}

const live = new Set<Entry>();
const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

export function register(namespaces: readonly string[], children: Set<ChildProcess>): () => void {
  const entry: Entry = { namespaces, children };
  if (live.size === 0) install();
  live.add(entry);
  return () => {
    live.delete(entry);
    if (live.size === 0) uninstall();
  };
}

function teardownAllSync(): void {
  for (const entry of live) {
    for (const child of entry.children) child.kill('SIGKILL');
    destroyNamespacesSync(entry.namespaces);
  }
  live.clear();
}

function onExit(): void {
  teardownAllSync();
}

function onSignal(signal: NodeJS.Signals): void {
  teardownAllSync();
  uninstall();
  // Alone, die of the same signal as if we had not been here; otherwise the program's own handlers decide.
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

function install(): void {
  process.on('exit', onExit);
  for (const s of SIGNALS) process.on(s, onSignal);
}

function uninstall(): void {
  process.off('exit', onExit);
  for (const s of SIGNALS) process.off(s, onSignal);
}
