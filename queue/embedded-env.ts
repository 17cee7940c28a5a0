import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { open, type Database, type RootDatabase } from 'lmdb';

/** A task hash with what the embedded backend needs to expire and de-queue it. */
export interface TaskEntry {
  readonly fields: Record<string, string>;
  /** Epoch ms after which the record reads as absent (and the sweep deletes it). */
  readonly expiresAt: number;
  readonly circlePk: string;
  /** Its key in `queue` while it waits or runs; absent once completed. */
  readonly queueSeq?: number;
}

/** One circle-store key: its JSON text and the circle `seq` of the write that set it. */
export interface StoreValue {
  readonly v: string;
  readonly ver: number;
}

/** Per circle: last write seq, seq of the last key-set change, bytes held (quota). */
export interface StoreMeta {
  readonly seq: number;
  readonly kseq: number;
  readonly bytes: number;
}

export interface FormatMarker {
  readonly name: string;
  readonly version: number;
}

/** What the `expiry` index points at: a task record or a webhook marker. */
export type ExpiryKind = 't' | 'm';

/** The embedded database's directory when `--data-dir` is not given (relative to the working directory). */
export const DEFAULT_DATA_DIR = './circles-data';

export const FORMAT: FormatMarker = Object.freeze({ name: 'circles-embedded', version: 1 });

/** The environment's named databases (SPEC §4's keys, as LMDB tables). */
export interface EmbeddedTables {
  readonly tasks: Database<TaskEntry, string>;
  /** [circlePk, seq] → taskId: tasks not yet completed, in submission order. */
  readonly queue: Database<string, [string, number]>;
  /** [expiresAt, kind, id] → true, for the sweep (ordered by time). */
  readonly expiry: Database<true, [number, ExpiryKind, string]>;
  /** [circlePk, key] → value; ordered-binary sorts the key by its UTF-8 bytes. */
  readonly store: Database<StoreValue, [string, string]>;
  readonly storeMeta: Database<StoreMeta, string>;
  /** Webhook marker key → expiresAt. */
  readonly markers: Database<number, string>;
  readonly meta: Database<FormatMarker, string>;
}

/** A task record unless missing or expired (expired ones read as absent until swept). */
export function liveTask(tables: EmbeddedTables, taskId: string, now: number): TaskEntry | undefined {
  const entry = tables.tasks.get(taskId);
  return entry !== undefined && entry.expiresAt > now ? entry : undefined;
}

export function isFinished(status: string | undefined): boolean {
  return status === 'completed' || status === 'error';
}

const TABLE_NAMES = ['tasks', 'queue', 'expiry', 'store', 'storeMeta', 'markers', 'meta'] as const;

/** LMDB's data file; lmdb-js crashes the process (SIGSEGV/SIGBUS) on a malformed one. */
const DATA_FILE = 'data.mdb';
const LMDB_MAGIC = 0xbeefc0de;
/**
 * Where LMDB data format 2 (lmdb-js 3's LMDB, 64-bit) keeps the meta page's magic and data
 * version (after the 24-byte page header) and the page size (`mm_dbs[0].md_pad`).
 */
const MAGIC_OFFSET = 24;
const DATA_VERSION = 2;
const PAGE_SIZE_OFFSET = 48;

/**
 * An open environment. Every write goes through `write`, which resolves only once the
 * transaction is on disk, so callers can acknowledge after it.
 */
export class EmbeddedEnv {
  private readonly pending = new Set<Promise<unknown>>();

  private constructor(
    readonly root: RootDatabase,
    readonly tables: EmbeddedTables,
    private readonly waitForFlush: boolean,
  ) {}

  /**
   * Opens (creating if needed) the environment in `dir`, which must exist. Throws with the
   * reason only (the caller names the directory).
   */
  static async open(dir: string, temporary: boolean, waitForFlush = false): Promise<EmbeddedEnv> {
    checkDataFile(dir);
    const root = open({
      path: dir,
      // A temporary environment dies with its process anyway: skip the fsyncs.
      noSync: temporary,
      maxDbs: TABLE_NAMES.length + 2,
    });
    try {
      const existing = [...root.getKeys({})].map(String);
      const foreign = existing.filter((name) => !(TABLE_NAMES as readonly string[]).includes(name));
      if (foreign.length > 0) throw new FormatError(`unknown databases: ${foreign.join(', ')}`);
      const env = new EmbeddedEnv(
        root,
        {
          tasks: root.openDB('tasks', {}),
          queue: root.openDB('queue', {}),
          expiry: root.openDB('expiry', {}),
          store: root.openDB('store', {}),
          storeMeta: root.openDB('storeMeta', {}),
          markers: root.openDB('markers', {}),
          meta: root.openDB('meta', {}),
        },
        waitForFlush,
      );
      await env.checkFormat();
      return env;
    } catch (err) {
      await root.close().catch(() => undefined);
      throw err;
    }
  }

  /**
   * Runs `body` in a write transaction and resolves with its result once it is on disk. A
   * child transaction, so that a throw rolls back everything `body` wrote (a plain
   * `transaction` callback would commit its writes up to the throw).
   *
   * "On disk" is the commit by default: the data is in the file, so it survives the process
   * (kill -9, a crash), and with lmdb's overlappingSync the flush to the device follows at once
   * in the background (LMDB restores the last committed transaction after a process crash,
   * the last flushed one after a machine crash). `waitForFlush` also waits for that flush
   * (power-loss durable), which costs an fdatasync per batch: 0.2–3 ms on this VM.
   */
  write<T>(body: () => T): Promise<T> {
    const committed = this.root.childTransaction(body);
    if (!this.waitForFlush) return this.track(committed);
    // Captured now: `flushed` read later could wait on a newer batch instead of this one.
    const flushed = new Promise<void>((resolve, reject) => {
      this.root.flushed.then(() => resolve(), reject);
    });
    flushed.catch(() => undefined); // awaited below unless the commit fails first
    return this.track(
      committed.then(async (result) => {
        await flushed;
        return result;
      }),
    );
  }

  /** A write nobody waits for (claims); still finished before the environment closes. */
  writeLater(body: () => void, onError: (err: unknown) => void, onSettled?: () => void): void {
    void this.track(this.root.childTransaction(body)).catch(onError).finally(onSettled);
  }

  /** Waits for every write issued so far, then closes the environment. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.pending]);
    await this.root.close();
  }

  private track<T>(promise: Promise<T>): Promise<T> {
    this.pending.add(promise);
    const untrack = (): void => {
      this.pending.delete(promise);
    };
    promise.then(untrack, untrack);
    return promise;
  }

  /** A fresh environment gets the marker; one with another marker, or data and none, is refused. */
  private async checkFormat(): Promise<void> {
    const { meta } = this.tables;
    const format = meta.get('format');
    if (format !== undefined) {
      if (format?.name !== FORMAT.name || format.version !== FORMAT.version) {
        const what =
          typeof format === 'object' && format !== null
            ? `${String(format.name)} version ${String(format.version)}`
            : JSON.stringify(format);
        throw new FormatError(what);
      }
      return;
    }
    const holdsData = TABLE_NAMES.some(
      (name) => name !== 'meta' && this.tables[name].getKeysCount({ limit: 1 }),
    );
    if (holdsData) throw new FormatError('data without a format marker');
    await this.write(() => meta.put('format', FORMAT));
  }
}

/** The directory holds something other than this format. */
export class FormatError extends Error {
  constructor(what: string) {
    super(what);
    this.name = 'FormatError';
  }
}

/**
 * Refuses data and lock files that lmdb-js would crash the whole process on (a directory
 * in their place, a truncated or foreign data file) instead of reporting an error.
 */
function checkDataFile(dir: string): void {
  for (const name of [DATA_FILE, 'lock.mdb']) {
    const file = path.join(dir, name);
    let stat: fs.Stats;
    try {
      stat = fs.statSync(file);
    } catch {
      continue; // absent: LMDB creates it
    }
    if (!stat.isFile()) throw new Error(`${name} is not a regular file`);
    if (name !== DATA_FILE || stat.size === 0) continue; // LMDB initialises empty/garbage lock files
    const header = Buffer.alloc(PAGE_SIZE_OFFSET + 4);
    const fd = fs.openSync(file, 'r');
    try {
      fs.readSync(fd, header, 0, header.length, 0);
    } finally {
      fs.closeSync(fd);
    }
    const u32 = (at: number): number =>
      os.endianness() === 'LE' ? header.readUInt32LE(at) : header.readUInt32BE(at);
    const pageSize = u32(PAGE_SIZE_OFFSET);
    if (
      u32(MAGIC_OFFSET) !== LMDB_MAGIC ||
      u32(MAGIC_OFFSET + 4) !== DATA_VERSION ||
      pageSize < 512 ||
      pageSize > 65536 ||
      stat.size < 2 * pageSize
    ) {
      throw new Error(`${DATA_FILE} is not an LMDB data file this version can read`);
    }
  }
}
