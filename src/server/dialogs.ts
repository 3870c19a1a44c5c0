// Dialog tracking for INVITE dialogs seen by the proxy (RFC 3261 §12): early → confirmed → terminated, with the
// parties and timestamps, for call listings, CTI events and replication to the backup.
import type { SipRequest, SipResponse } from '../sip/message.js';
import { ChangeFeed, type ChangeOrigin, type Unsubscribe } from './change-feed.js';

export type DialogState = 'early' | 'confirmed' | 'terminated';

export interface Dialog {
  /** Call-ID;from-tag;to-tag */
  id: string;
  callId: string;
  fromTag: string;
  toTag: string;
  caller: string;
  callee: string;
  state: DialogState;
  /** Epoch ms (for display; replication ships ages, not dates). */
  createdAt: number;
  confirmedAt?: number;
  endedAt?: number;
  endReason?: string;
}

export type DialogChange = {
  kind: 'created' | 'confirmed' | 'terminated';
  dialog: Dialog;
  origin: ChangeOrigin;
};

export function dialogId(callId: string, fromTag: string, toTag: string): string {
  return `${callId};${fromTag};${toTag}`;
}

export class DialogStore {
  private readonly dialogs = new Map<string, Dialog>();
  private readonly changes = new ChangeFeed<DialogChange>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Hears every change after it is made, in order (the replication stream and the CTI feed listen here). */
  subscribe(listener: (change: DialogChange) => void): Unsubscribe {
    return this.changes.subscribe(listener);
  }

  get size(): number {
    return this.dialogs.size;
  }

  get(id: string): Dialog | undefined {
    return this.dialogs.get(id);
  }

  active(): Dialog[] {
    return [...this.dialogs.values()];
  }

  /**
   * A response to an INVITE on its way back to the caller. Returns whether it confirmed a dialog (a `confirmed`
   * change was recorded), so that the proxy can hold that 2xx until the change is replicated.
   */
  onInviteResponse(invite: SipRequest, response: SipResponse): boolean {
    const callId = invite.callId;
    const fromTag = invite.from?.tag;
    const toTag = response.to?.tag;
    if (callId === undefined || fromTag === undefined) return false;
    // A re-INVITE (To tag in the request) does not create or end its dialog.
    if (invite.to?.tag !== undefined) return false;
    if (response.status >= 300) {
      // "a non-2xx final response ... terminates all early dialogs created by provisional responses" (§12.3, §13.2.2.3)
      for (const d of [...this.dialogs.values()]) {
        if (d.callId === callId && d.fromTag === fromTag && d.state === 'early')
          this.end(d, `${response.status}`);
      }
      return false;
    }
    if (toTag === undefined || response.status === 100) return false;
    const id = dialogId(callId, fromTag, toTag);
    let d = this.dialogs.get(id);
    if (d === undefined) {
      d = {
        id,
        callId,
        fromTag,
        toTag,
        caller: invite.from?.uri.toString() ?? '',
        callee: invite.to?.uri.toString() ?? '',
        state: response.status < 200 ? 'early' : 'confirmed',
        createdAt: this.now(),
      };
      if (d.state === 'confirmed') d.confirmedAt = d.createdAt;
      this.dialogs.set(id, d);
      this.changes.emit({ kind: 'created', dialog: d, origin: 'local' });
      if (d.state === 'confirmed') this.changes.emit({ kind: 'confirmed', dialog: d, origin: 'local' });
      return d.state === 'confirmed';
    }
    if (response.status >= 200 && d.state === 'early') {
      d.state = 'confirmed';
      d.confirmedAt = this.now();
      this.changes.emit({ kind: 'confirmed', dialog: d, origin: 'local' });
      return true;
    }
    return false;
  }

  /** A BYE ends its dialog whichever side sent it. */
  onBye(bye: SipRequest): void {
    const callId = bye.callId;
    const a = bye.from?.tag;
    const b = bye.to?.tag;
    if (callId === undefined || a === undefined || b === undefined) return;
    const d = this.dialogs.get(dialogId(callId, a, b)) ?? this.dialogs.get(dialogId(callId, b, a));
    if (d !== undefined) this.end(d, 'BYE');
  }

  /** Removes dialogs older than `maxAgeMs` (a BYE we never saw); only the acting node calls this. */
  expire(maxAgeMs: number): number {
    const cutoff = this.now() - maxAgeMs;
    let n = 0;
    for (const d of [...this.dialogs.values()]) {
      if (d.createdAt < cutoff) {
        this.end(d, 'timeout');
        n++;
      }
    }
    return n;
  }

  /**
   * Adds or replaces a dialog as given (replication on the backup). Heard as `created` when it is new, `confirmed`
   * when it replaces an early one, and not at all when it replaces one in the same state.
   */
  restore(dialog: Dialog, origin: ChangeOrigin): void {
    const held = this.dialogs.get(dialog.id);
    this.dialogs.set(dialog.id, dialog);
    if (held === undefined) this.changes.emit({ kind: 'created', dialog, origin });
    else if (held.state === 'early' && dialog.state === 'confirmed')
      this.changes.emit({ kind: 'confirmed', dialog, origin });
  }

  /** Forgets a dialog as it is (replication on the backup: it ended on the primary); heard as `terminated`. */
  remove(id: string, origin: ChangeOrigin): void {
    const d = this.dialogs.get(id);
    if (d === undefined) return;
    this.dialogs.delete(id);
    this.changes.emit({ kind: 'terminated', dialog: { ...d, state: 'terminated' }, origin });
  }

  private end(d: Dialog, reason: string): void {
    d.state = 'terminated';
    d.endedAt = this.now();
    d.endReason = reason;
    this.dialogs.delete(d.id);
    this.changes.emit({ kind: 'terminated', dialog: d, origin: 'local' });
  }
}
