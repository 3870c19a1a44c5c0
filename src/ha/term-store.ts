// The node's term, persisted in node.state_dir. A promotion's term must survive a crash of the process before the
// VIP is added, or a restarted node could reuse it (write() resolves then), and reach the disk soon after (a power
// cut takes the VIP with it). The write is on the takeover's critical path, so it is
// one in-place write and one fdatasync (well under a millisecond on a quiet disk) instead of temp file, fsync,
// rename and directory fsync (3–12 ms here): the file has two fixed-size slots, each a checksummed JSON line, and
// a save always overwrites the slot that does not hold the newest term. A write torn by a crash leaves that slot
// with a bad checksum and the other slot intact, so load() never returns less than the last completed save.
// (The same double-buffering as a file system superblock or etcd's WAL CRCs.) A file of the older one-record
// format is read, and replaced whole by the first save.
import { createHash } from 'node:crypto';
import { writeSync } from 'node:fs';
import { type FileHandle, mkdir, open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { errorCode } from '../net/errors.js';

export const TERM_FILE = 'term.json';
/** Bytes per slot: one JSON line padded with spaces, so `cat term.json` shows both records. */
export const TERM_SLOT_BYTES = 128;

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
  /**
   * Resolves once the term is written where a crash of this process cannot lose it (the page cache); `durable`
   * resolves once it is on disk. A takeover adds the VIP after the first and does not wait for the second: only a
   * power cut or a kernel crash can lose a written term, and that takes the VIP with it.
   */
  write?(term: number): Promise<{ durable: Promise<void> }>;
  /** Lets go of what the store keeps open. */
  close?(): Promise<void>;
}

function checksum(r: TermRecord): string {
  return createHash('sha256').update(`${r.term}:${r.node}:${r.at}`).digest('hex').slice(0, 16);
}

function validTerm(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
}

/** One slot's text as a record, or undefined when it is empty, torn or corrupt. */
export function parseSlot(text: string): TermRecord | undefined {
  let rec: Partial<TermRecord> & { sum?: unknown };
  try {
    rec = JSON.parse(text) as typeof rec;
  } catch {
    return undefined;
  }
  if (!validTerm(rec.term) || typeof rec.node !== 'string' || typeof rec.at !== 'number') return undefined;
  const r: TermRecord = { term: rec.term, node: rec.node, at: rec.at };
  return rec.sum === checksum(r) ? r : undefined;
}

/** A slot's bytes for a record. */
export function formatSlot(r: TermRecord): Buffer {
  const line = JSON.stringify({ ...r, sum: checksum(r) });
  if (line.length > TERM_SLOT_BYTES - 1) throw new Error(`term record too long (node id ${r.node})`);
  return Buffer.from(`${line.padEnd(TERM_SLOT_BYTES - 1)}\n`);
}

export class TermStore implements TermStorePort {
  readonly file: string;
  private fh: FileHandle | undefined;
  /** The slot holding the newest term (the next save writes the other one); undefined: not a slotted file yet. */
  private newestSlot: 0 | 1 | undefined;
  /** The last save's fdatasync (never rejects: its caller hears the error). */
  private syncing: Promise<void> = Promise.resolve();

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
      text = await readFile(this.file, 'latin1');
    } catch (err) {
      if (errorCode(err) === 'ENOENT') return 0;
      throw err;
    }
    if (text.length === 2 * TERM_SLOT_BYTES) {
      const slots = [0, 1].map((i) => parseSlot(text.slice(i * TERM_SLOT_BYTES, (i + 1) * TERM_SLOT_BYTES)));
      const [a, b] = slots;
      if (a !== undefined || b !== undefined) {
        this.newestSlot = (b?.term ?? -1) > (a?.term ?? -1) ? 1 : 0;
        return Math.max(a?.term ?? 0, b?.term ?? 0);
      }
    }
    // The older format: one plain record.
    let rec: Partial<TermRecord>;
    try {
      rec = JSON.parse(text) as Partial<TermRecord>;
    } catch {
      throw new Error(`${this.file}: no valid term in it`);
    }
    if (!validTerm(rec.term)) throw new Error(`${this.file}: no valid term in it`);
    this.newestSlot = undefined;
    return rec.term;
  }

  async save(term: number): Promise<void> {
    const { durable } = await this.write(term);
    await durable;
  }

  async write(term: number): Promise<{ durable: Promise<void> }> {
    if (!validTerm(term)) throw new Error(`invalid term ${term}`);
    // The previous save is on disk before the other slot is overwritten: the two slots must never both be in
    // flight, or a power cut could leave neither the last completed term nor the new one.
    await this.syncing;
    const rec: TermRecord = { term, node: this.nodeId, at: Date.now() };
    if (this.fh === undefined) {
      if (this.newestSlot === undefined) await this.load().catch(() => 0);
      if (this.newestSlot === undefined) {
        await this.create(rec);
        return { durable: Promise.resolve() };
      }
      this.fh = await open(this.file, 'r+');
    }
    const slot = this.newestSlot === 0 ? 1 : 0;
    // A synchronous write to the page cache takes microseconds; through the thread pool it would be a round trip.
    writeSync(this.fh.fd, formatSlot(rec), 0, TERM_SLOT_BYTES, slot * TERM_SLOT_BYTES);
    this.newestSlot = slot;
    // fdatasync: the file's size never changes, so its data is all that must reach the disk.
    const durable = this.fh.datasync();
    this.syncing = durable.catch(() => undefined);
    return { durable };
  }

  async close(): Promise<void> {
    await this.syncing;
    await this.fh?.close();
    this.fh = undefined;
  }

  /**
   * No slotted file yet (none at all, or the older format): the whole two-slot file through a temp file and a
   * rename, then the folder synced, so that it is complete or absent; it then stays open for in-place saves.
   */
  private async create(rec: TermRecord): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const tmp = `${this.file}.${process.pid}.tmp`;
    const fh = await open(tmp, 'w', 0o600);
    try {
      await fh.writeFile(Buffer.concat([formatSlot(rec), formatSlot({ ...rec, term: 0, at: 0 })]));
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
    this.fh = await open(this.file, 'r+');
    this.newestSlot = 0;
  }
}
