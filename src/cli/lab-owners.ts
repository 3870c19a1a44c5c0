// Who started each kept lab. The lab needs root, so the uid that matters is the person behind sudo: `sipha lab
// down` without a name removes only the labs recorded with the caller's uid, never a colleague's on a shared host.
// The record is a file next to the lab's state file (<prefix>.owner); labs without one are nobody's to sweep.
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface LabOwner {
  uid: number;
  /** The `sipha lab up` process, for the curious (it has exited by the time anyone reads this). */
  pid: number;
  at: string;
}

/** The person's uid: SUDO_UID when root runs on someone's behalf, else the process's own uid. */
export function callerUid(uid: number, env: NodeJS.ProcessEnv = process.env): number {
  const sudo = env.SUDO_UID;
  return uid === 0 && sudo !== undefined && /^\d+$/.test(sudo) ? Number(sudo) : uid;
}

export function ownerFile(stateDir: string, prefix: string): string {
  return join(stateDir, `${prefix}.owner`);
}

export async function recordOwner(stateDir: string, prefix: string, uid: number): Promise<void> {
  const owner: LabOwner = { uid, pid: process.pid, at: new Date().toISOString() };
  await writeFile(ownerFile(stateDir, prefix), `${JSON.stringify(owner)}\n`);
}

/** The recorded owner's uid, or undefined for a lab with no (readable) record. */
export async function readOwnerUid(stateDir: string, prefix: string): Promise<number | undefined> {
  try {
    const o = JSON.parse(await readFile(ownerFile(stateDir, prefix), 'utf8')) as Partial<LabOwner>;
    return typeof o.uid === 'number' ? o.uid : undefined;
  } catch {
    return undefined;
  }
}

export async function forgetOwner(stateDir: string, prefix: string): Promise<void> {
  await rm(ownerFile(stateDir, prefix), { force: true });
}

/**
 * Which labs `sipha lab down [PREFIX]` removes: the named one whoever started it (naming it is the consent), or
 * without a name those recorded with this uid; `kept` lists the others, so the command can say they were left.
 */
export function labsToRemove(
  labs: ReadonlyArray<{ prefix: string; uid: number | undefined }>,
  prefix: string | undefined,
  uid: number,
): { remove: string[]; kept: string[] } {
  const remove: string[] = [];
  const kept: string[] = [];
  for (const l of labs) {
    const mine = prefix === undefined ? l.uid === uid : l.prefix === prefix;
    if (mine) remove.push(l.prefix);
    else if (prefix === undefined) kept.push(l.prefix);
  }
  return { remove, kept };
}
