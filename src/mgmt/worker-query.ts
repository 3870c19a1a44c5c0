// Questions to the SIP worker over IPC (registrations, calls, counters), matched to their answers by id.
import type { NodeToWorker, WorkerQuery, WorkerToNode } from '../ha/worker-ipc.js';

export type WorkerAnswer = Extract<WorkerToNode, { type: 'answer' }>;

export class WorkerQueries {
  private nextId = 0;
  private readonly waiting = new Map<number, (a: WorkerAnswer | undefined) => void>();

  constructor(private readonly send: (m: NodeToWorker) => boolean) {}

  /** The worker's answer, or undefined when there is no worker or it did not answer within `timeoutMs`. */
  ask(what: WorkerQuery, limit = 1000, timeoutMs = 1000): Promise<WorkerAnswer | undefined> {
    const id = ++this.nextId;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        resolve(undefined);
      }, timeoutMs);
      this.waiting.set(id, (a) => {
        clearTimeout(timer);
        this.waiting.delete(id);
        resolve(a);
      });
      if (!this.send({ type: 'query', id, what, limit })) this.waiting.get(id)?.(undefined);
    });
  }

  /** Feed every worker message here; answers resolve their question. */
  onWorkerMessage(m: WorkerToNode): void {
    if (m.type === 'answer') this.waiting.get(m.id)?.(m);
  }
}
