// Dialog tracking for INVITE dialogs seen by the proxy (RFC 3261 §12): early → confirmed → terminated, with the
// parties and timestamps, for call listings, CTI events and replication to the backup.
import type { SipRequest, SipResponse } from '../sip/message.js';

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

export type DialogChange = { kind: 'created' | 'confirmed' | 'terminated'; dialog: Dialog };

export function dialogId(callId: string, fromTag: string, toTag: string): string {
  return `${callId};${fromTag};${toTag}`;
}

export class DialogStore {
  private readonly dialogs = new Map<string, Dialog>();
  onChange: (change: DialogChange) => void = () => {};

  constructor(private readonly now: () => number = Date.now) {}

  get size(): number {
    return this.dialogs.size;
  }

  get(id: string): Dialog | undefined {
    return this.dialogs.get(id);
  }

  active(): Dialog[] {
    return [...this.dialogs.values()];
  }

  /** A response to an INVITE on its way back to the caller. */
  onInviteResponse(invite: SipRequest, response: SipResponse): void {
    const callId = invite.callId;
    const fromTag = invite.from?.tag;
    const toTag = response.to?.tag;
    if (callId === undefined || fromTag === undefined) return;
    // A re-INVITE (To tag in the request) does not create or end its dialog.
    if (invite.to?.tag !== undefined) return;
    if (response.status >= 300) {
      // "a non-2xx final response ... terminates all early dialogs created by provisional responses" (§12.3, §13.2.2.3)
      for (const d of [...this.dialogs.values()]) {
        if (d.callId === callId && d.fromTag === fromTag && d.state === 'early')
          this.end(d, `${response.status}`);
      }
      return;
    }
    if (toTag === undefined || response.status === 100) return;
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
      this.onChange({ kind: 'created', dialog: d });
      if (d.state === 'confirmed') this.onChange({ kind: 'confirmed', dialog: d });
      return;
    }
    if (response.status >= 200 && d.state === 'early') {
      d.state = 'confirmed';
      d.confirmedAt = this.now();
      this.onChange({ kind: 'confirmed', dialog: d });
    }
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

  /** Adds or replaces a dialog as given (replication on the backup). */
  restore(dialog: Dialog): void {
    this.dialogs.set(dialog.id, dialog);
  }

  remove(id: string): void {
    this.dialogs.delete(id);
  }

  private end(d: Dialog, reason: string): void {
    d.state = 'terminated';
    d.endedAt = this.now();
    d.endReason = reason;
    this.dialogs.delete(d.id);
    this.onChange({ kind: 'terminated', dialog: d });
  }
}
