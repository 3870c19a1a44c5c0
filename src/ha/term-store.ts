// The node's term, persisted in node.state_dir. A promotion's term must survive a crash or a power cut before
// the VIP is added, or a restarted node could reuse it: write a temp file, fsync it, rename it over the old one,
// fsync the folder (the rename itself is only durable once the directory entry is on disk).
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { errorCode } from '../net/errors.js';

export const TERM_FILE = 'term.json';

export interface TermRecord {
  term: number;
  node: string;
  /** Epoch ms of the write, for operators. */
  at: number;
}

/** Where the node keeps its term (a test keeps it in memory). */
export interface TermStorePort {
  load(): Promise<number>;
  save(term: number): Promise<void>;
}

export class TermStore implements TermStorePort {
  readonly file: string;

  constructor(
    readonly dir: string,
    private readonly nodeId: string,
  ) {
    this.file = join(dir, TERM_FILE);
  }

  /** The persisted term, 0 when there is none yet. A corrupt file is an error: guessing could reuse a term. */
  async load(): Promise<number> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      if (errorCode(err) === 'ENOENT') return 0;
      throw err;
    }
    const rec = JSON.parse(text) as Partial<TermRecord>;
    if (typeof rec.term !== 'number' || !Number.isSafeInteger(rec.term) || rec.term < 0)
      throw new Error(`${this.file}: no valid term in it`);
    return rec.term;
  }

  async save(term: number): Promise<void> {
    if (!Number.isSafeInteger(term) || term < 0) throw new Error(`invalid term ${term}`);
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const tmp = `${this.file}.${process.pid}.tmp`;
    const rec: TermRecord = { term, node: this.nodeId, at: Date.now() };
    const fh = await open(tmp, 'w', 0o600);
    try {
      await fh.writeFile(`${JSON.stringify(rec)}\n`);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, this.file);
    const dirFh = await open(this.dir, 'r');
    try {
      await dirFh.sync();
    } finally {
      await dirFh.close();
    }
  }
}
