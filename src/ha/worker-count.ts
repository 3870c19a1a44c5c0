// How many SIP worker processes a node runs (`sip.workers`), pure: the host's core count goes in.
//
// `auto` leaves one core to the node process (heartbeats, VIP, management — README "Busy is not dead") and gives
// every other core a worker, as Kamailio's `children` and OpenSIPS's `udp_workers` are sized.
import { MAX_SIP_WORKERS } from '../config/schema.js';

export type WorkersSetting = 'auto' | number;

export function resolveWorkerCount(setting: WorkersSetting, cores: number): number {
  if (setting !== 'auto') return setting;
  return Math.min(MAX_SIP_WORKERS, Math.max(1, Math.floor(cores) - 1));
}
