// The one way a sipha process stops on SIGTERM/SIGINT: once, logging the signal, then resolving with the exit
// code the stop produced. Both the node and the standalone server use it.
import type { Logger } from 'pino';

export function stopOnSignal(log: Logger, what: string, stop: () => Promise<unknown>): Promise<number> {
  return new Promise<number>((resolve) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, `stopping ${what}`);
      stop().then(
        () => {
          log.info('stopped');
          log.flush();
          resolve(0);
        },
        (err: unknown) => {
          log.error({ err }, 'error while stopping');
          log.flush();
          resolve(1);
        },
      );
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  });
}
