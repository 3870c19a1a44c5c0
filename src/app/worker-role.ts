// The SIP worker's role, held in this one place: the node supervisor sets it over IPC; the SIP server's expiry,
// the replication and the management reports read it or hear it change.
import type { WorkerRoleView } from '../ha/replication/worker-replication.js';
import type { FenceView, WorkerRole } from '../ha/worker-ipc.js';
import { ChangeFeed, type Unsubscribe } from '../server/change-feed.js';

export class WorkerRoleHolder implements WorkerRoleView {
  private role: WorkerRole = 'backup';
  private readonly changes = new ChangeFeed<WorkerRole>();
  /** Cluster mode's fencing tokens, from the node (0 without cluster mode). */
  fence: FenceView = { own: 0, highest: 0 };

  get current(): WorkerRole {
    return this.role;
  }

  get isPrimary(): boolean {
    return this.role === 'primary';
  }

  /** Takes the role; says whether it changed. Subscribers hear changes only, after the role is taken. */
  set(role: WorkerRole): boolean {
    if (role === this.role) return false;
    this.role = role;
    this.changes.emit(role);
    return true;
  }

  subscribe(listener: (role: WorkerRole) => void): Unsubscribe {
    return this.changes.subscribe(listener);
  }
}
