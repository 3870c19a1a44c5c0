// NIC carrier watching: /sys/class/net/IF/carrier and operstate, polled (inside `ip netns exec` /sys shows the
// namespace's own devices). A pulled cable, a NIC or switch port that died: carrier goes to 0 at once, long
// before any probe times out.
import { access, readFile } from 'node:fs/promises';
import type { Carrier } from './health-decision.js';

/** Pure: the two files' contents (undefined when unreadable) → up, down or unknown. */
export function nicState(carrier: string | undefined, operstate: string | undefined): Carrier {
  const op = operstate?.trim();
  // operstate is authoritative when it says down; "unknown" (loopback, some virtual NICs) defers to carrier.
  if (op === 'down' || op === 'lowerlayerdown' || op === 'notpresent') return 'down';
  const c = carrier?.trim();
  if (c === '0') return 'down';
  if (c === '1') return op === 'dormant' ? 'down' : 'up';
  // carrier is unreadable (EINVAL) while the interface is administratively down.
  if (op === 'up') return 'up';
  return operstate === undefined && carrier === undefined ? 'unknown' : 'down';
}

async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** Reads the interface's state now. No /sys/class/net (not Linux): unknown; no such interface: down. */
export async function readNic(ifname: string, root = '/sys/class/net'): Promise<Carrier> {
  try {
    await access(root);
  } catch {
    return 'unknown';
  }
  const dir = `${root}/${ifname}`;
  try {
    await access(dir);
  } catch {
    return 'down';
  }
  return nicState(await readText(`${dir}/carrier`), await readText(`${dir}/operstate`));
}

export interface NicWatcherOptions {
  ifname: string;
  intervalMs: number;
  onChange: (state: Carrier) => void;
  root?: string;
}

/** Polls one interface and reports changes (the first reading too). */
export class NicWatcher {
  private state: Carrier | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly o: NicWatcherOptions) {}

  get current(): Carrier {
    return this.state ?? 'unknown';
  }

  start(): void {
    void this.poll();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private async poll(): Promise<void> {
    const next = await readNic(this.o.ifname, this.o.root);
    if (this.stopped) return;
    if (next !== this.state) {
      this.state = next;
      this.o.onChange(next);
    }
    this.timer = setTimeout(() => void this.poll(), this.o.intervalMs);
  }
}
