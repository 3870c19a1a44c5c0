// How a long-lived helper process of the VIP driver (the `ip -batch` coprocess, the primed announcement sender)
// failed one request. The driver turns it into a fallback or a VipCommandError; callers never see it.

/**
 * spawn: the process could not be started (or died before it was ready); timeout: no answer in time (it was
 * killed); exit: it died with the request pending; cancelled: the request was withdrawn (an announcement burst
 * cut short by disable()).
 */
export class CoprocessError extends Error {
  constructor(
    message: string,
    readonly kind: 'spawn' | 'timeout' | 'exit' | 'cancelled',
    readonly exitCode: number | null,
    readonly signal: NodeJS.Signals | null,
    readonly durationMs: number,
  ) {
    super(message);
    this.name = 'CoprocessError';
  }
}
