import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { silentLogger, type Logger } from '../log';
import {
  ageSeconds,
  BackendUnavailableError,
  pendingTaskFields,
  TASK_STATE_FIELDS,
  taskStateOf,
  workerReadiness,
  type BackendHealth,
  type DispatchBackend,
  type NewTask,
  type QueueStats,
} from './dispatch-backend';
import { EmbeddedEnv, FormatError, liveTask, type TaskEntry } from './embedded-env';
import { acquireLock, LockHeldError, type DirectoryLock } from './embedded-lock';
import { WorkQueues, type QueuedId } from './embedded-queue';
import { readAll } from './embedded-store';
import { EmbeddedWorker, type EmbeddedWorkerConfig, type WorkerContext } from './embedded-worker';
import { keyBuilder } from './keys';
import type { TaskReply } from './task';
import { STORE_LIMITS, type WorkerBackend } from './worker-backend';

export interface EmbeddedBackendOptions {
  /** Where the database lives; created if missing. */
  dataDir: string;
  logger: Logger;
  /** Bytes (keys + values) one circle store may hold. */
  storeQuotaBytes?: number;
  /** Epoch ms, for expiries and timestamps (specs move time). */
  clock?: () => number;
  /**
   * Acknowledge only once writes are flushed to the device (survives power loss), not at
   * commit (survives the process being killed); see `EmbeddedEnv.write`. Default false.
   */
  waitForFlush?: boolean;
}

const SWEEP_INTERVAL_MS = 60_000;
/** Expired entries deleted per transaction, so that a sweep never holds the writer long. */
const SWEEP_CHUNK = 1_000;
const MAX_PARKED_REPLIES = 10_000;
/** Replies nobody started reading within this long belong to a server that is gone. */
const PARKED_REPLY_TTL_MS = 10 * 60_000;

interface Parked {
  replies: TaskReply[];
  touchedAt: number;
}

/**
 * The launcher's durable no-Redis default: SPEC §4's queues, task records, circle stores and
 * webhook markers in an LMDB environment under `--data-dir`. Whatever it acknowledges (a
 * submitted task, a completed result with its store writes, a marker) is committed to the
 * file first (flushed too, with `waitForFlush`), and tasks still queued when the process
 * died run after a restart. Dispatchers and
 * workers get the same contracts as from Redis; the worker still runs scripts on its threads.
 */
export class EmbeddedTaskBackend {
  private readonly queues = new WorkQueues();
  private readonly replyHandlers = new Map<string, (replies: TaskReply[]) => void>();
  /** Replies for a reply queue nobody reads yet (or any more). */
  private readonly parkedReplies = new Map<string, Parked>();
  private readonly sweeper: NodeJS.Timeout;
  private sweeping: Promise<void> | null = null;
  private closing: Promise<void> | null = null;
  /** Next `queue` key; one counter for all circles, continued from the highest on disk. */
  private nextSeq = 1;
  private readonly clock: () => number;
  private readonly logger: Logger;
  private readonly context: WorkerContext;

  private constructor(
    private readonly env: EmbeddedEnv,
    private readonly lock: DirectoryLock,
    readonly dataDir: string,
    readonly temporary: boolean,
    options: Partial<EmbeddedBackendOptions>,
  ) {
    this.clock = options.clock ?? Date.now;
    this.logger = options.logger ?? silentLogger();
    this.context = {
      env,
      queues: this.queues,
      clock: this.clock,
      storeQuotaBytes: options.storeQuotaBytes ?? STORE_LIMITS.defaultQuotaBytes,
      unwrittenMarks: new Set(),
      unwrittenTasks: new Map(),
      liveWorkers: new Set(),
      logger: this.logger,
      ensureOpen: () => this.ensureOpen(),
      isClosing: () => this.closing !== null,
      reply: (queue, reply) => this.reply(queue, reply),
    };
    this.sweeper = setInterval(() => void this.sweep(), SWEEP_INTERVAL_MS).unref();
  }

  /** Opens `dataDir`; on failure, throws one line naming it. */
  static open(options: EmbeddedBackendOptions): Promise<EmbeddedTaskBackend> {
    return EmbeddedTaskBackend.openAt(path.resolve(options.dataDir), false, options);
  }

  /** A backend in a fresh temporary directory, removed on close (specs, embedding). */
  static async temporary(options: Partial<EmbeddedBackendOptions> = {}): Promise<EmbeddedTaskBackend> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'circles-embedded-'));
    try {
      return await EmbeddedTaskBackend.openAt(dir, true, options);
    } catch (err) {
      fs.rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  }

  private static async openAt(
    dir: string,
    temporary: boolean,
    options: Partial<EmbeddedBackendOptions>,
  ): Promise<EmbeddedTaskBackend> {
    const logger = options.logger ?? silentLogger();
    const cannotOpen = (err: unknown): Error =>
      new Error(`cannot open data directory ${dir}: ${reason(err)}`);
    let lock: DirectoryLock;
    try {
      prepareDirectory(dir);
      lock = acquireLock(dir, logger);
    } catch (err) {
      throw err instanceof LockHeldError ? new Error(err.message) : cannotOpen(err);
    }
    let env: EmbeddedEnv;
    try {
      env = await EmbeddedEnv.open(dir, temporary, options.waitForFlush ?? false);
    } catch (err) {
      lock.release();
      if (err instanceof FormatError) {
        throw new Error(`data directory ${dir} holds an unsupported format (${err.message})`);
      }
      throw cannotOpen(err);
    }
    const backend = new EmbeddedTaskBackend(env, lock, dir, temporary, options);
    const pending = backend.restoreQueues();
    if (pending > 0) logger.info({ dataDir: dir, pending }, 'restored queued tasks');
    return backend;
  }

  /** A dispatcher's side (one per server instance), with its own reply queue. */
  dispatch(): DispatchBackend {
    const replyQueue = `embedded:reply:${randomUUID()}`;
    let closed = false;
    const ensureOpen = (): void => {
      if (closed) throw new BackendUnavailableError('embedded backend closed');
      this.ensureOpen();
    };
    const backend: DispatchBackend = {
      description: `embedded (${this.temporary ? 'temporary' : this.dataDir})`,
      keys: keyBuilder(),
      start: async (onReplies) => {
        this.replyHandlers.set(replyQueue, onReplies);
        const parked = this.parkedReplies.get(replyQueue);
        this.parkedReplies.delete(replyQueue);
        if (parked?.replies.length) this.deliver(onReplies, parked.replies);
      },
      submit: (task, hashTtlSeconds) => backend.submitBatch([task], hashTtlSeconds),
      submitBatch: async (tasks, hashTtlSeconds) => {
        ensureOpen();
        await this.submit(tasks, hashTtlSeconds, replyQueue);
      },
      taskState: async (taskId) => {
        ensureOpen();
        // a task being committed is already queued (and may run): it exists for its submitter
        const entry =
          this.context.unwrittenTasks.get(taskId) ?? liveTask(this.env.tables, taskId, this.clock());
        return entry ? taskStateOf(TASK_STATE_FIELDS.map((f) => entry.fields[f])) : null;
      },
      health: async (): Promise<BackendHealth> =>
        closed || this.closing ? { ok: false, reason: 'embedded backend closed' } : { ok: true },
      queueStats: async (circles) => {
        ensureOpen();
        return this.queueStats(circles);
      },
      readiness: async (circles): Promise<BackendHealth> => {
        if (closed || this.closing) return { ok: false, reason: 'embedded backend closed' };
        const live = [...this.context.liveWorkers];
        return workerReadiness(circles, (pk) => live.some((w) => w.circles.includes(pk)));
      },
      markOnce: async (key, ttlSeconds) => {
        ensureOpen();
        const { markers, expiry } = this.env.tables;
        return this.unavailableOnFailure(
          this.env.write(() => {
            const now = this.clock();
            const until = markers.get(key);
            if (until !== undefined && until > now) return false;
            if (until !== undefined) void expiry.remove([until, 'm', key]);
            const expiresAt = now + ttlSeconds * 1000;
            void markers.put(key, expiresAt);
            void expiry.put([expiresAt, 'm', key], true);
            return true;
          }),
        );
      },
      unmark: async (key) => {
        ensureOpen();
        const { markers, expiry } = this.env.tables;
        await this.unavailableOnFailure(
          this.env.write(() => {
            const until = markers.get(key);
            if (until === undefined) return;
            void markers.remove(key);
            void expiry.remove([until, 'm', key]);
          }),
        );
      },
      close: async () => {
        closed = true;
        this.replyHandlers.delete(replyQueue);
      },
    };
    return backend;
  }

  /** A worker's side, for its circles. */
  worker(config: EmbeddedWorkerConfig): WorkerBackend {
    return new EmbeddedWorker(this.context, config);
  }

  /** Stops the sweeper and takers, waits for pending writes, closes the database. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      clearInterval(this.sweeper);
      this.queues.wake();
      await this.sweeping;
      try {
        await this.env.close();
      } finally {
        this.lock.release();
        if (this.temporary) fs.rmSync(this.dataDir, { recursive: true, force: true });
      }
    })();
    return this.closing;
  }

  /** Depth and oldest waiting task age of each circle's work queue. */
  private queueStats(circles: readonly string[]): Map<string, QueueStats> {
    const now = this.clock();
    const stats = new Map<string, QueueStats>();
    for (const pk of circles) {
      const oldest = this.queues.oldest(pk);
      const entry =
        oldest &&
        (this.context.unwrittenTasks.get(oldest.taskId) ?? liveTask(this.env.tables, oldest.taskId, now));
      stats.set(pk, {
        depth: this.queues.depth(pk),
        oldestAgeSeconds: oldest ? ageSeconds(entry?.fields.createdAt, now) : 0,
      });
    }
    return stats;
  }

  /** Test and inspection access to one task record (undefined when missing or expired). */
  peekTask(taskId: string): Readonly<Record<string, string>> | undefined {
    return liveTask(this.env.tables, taskId, this.clock())?.fields;
  }

  /** Test and inspection access to one circle's store: key → JSON text. */
  peekStore(pk: string): Readonly<Record<string, string>> {
    return readAll(this.env, pk);
  }

  /** Writes records, queue and expiry entries in one transaction, queues the ids at once, and resolves once durable. */
  private async submit(tasks: readonly NewTask[], hashTtlSeconds: number, replyQueue: string): Promise<void> {
    if (tasks.length === 0) return;
    const { tasks: records, queue, expiry } = this.env.tables;
    const now = this.clock();
    const nowIso = new Date(now).toISOString();
    const expiresAt = now + hashTtlSeconds * 1000;
    const queued = tasks.map((task) => ({
      circlePk: task.contextId,
      id: { taskId: task.taskId, seq: this.nextSeq++ },
    }));
    const entries = tasks.map((task, i): TaskEntry => ({
      fields: pendingTaskFields(task, replyQueue, nowIso),
      expiresAt,
      circlePk: queued[i]!.circlePk,
      queueSeq: queued[i]!.id.seq,
    }));
    const written = this.env.write(() => {
      tasks.forEach((task, i) => {
        const { circlePk, id } = queued[i]!;
        const replaced = records.get(task.taskId);
        if (replaced !== undefined) void expiry.remove([replaced.expiresAt, 't', task.taskId]);
        void records.put(task.taskId, entries[i]!);
        void queue.put([circlePk, id.seq], task.taskId);
        void expiry.put([expiresAt, 't', task.taskId], true);
      });
    });
    // Queued at once (see WorkerContext.unwrittenTasks); the caller's answer still waits for
    // the commit, so what it acknowledges is on disk.
    const unwritten = this.context.unwrittenTasks;
    tasks.forEach((task, i) => unwritten.set(task.taskId, entries[i]!));
    const byCircle = new Map<string, QueuedId[]>();
    for (const { circlePk, id } of queued) byCircle.set(circlePk, [...(byCircle.get(circlePk) ?? []), id]);
    for (const [circlePk, ids] of byCircle) this.queues.enqueue(circlePk, ids);
    try {
      await this.unavailableOnFailure(written);
    } finally {
      for (const task of tasks) unwritten.delete(task.taskId);
    }
  }

  /** Rebuilds the in-memory queues from the `queue` table; returns how many are pending. */
  private restoreQueues(): number {
    const byCircle = new Map<string, QueuedId[]>();
    let count = 0;
    // ordered by circle, then seq: oldest first per circle
    for (const { key, value } of this.env.tables.queue.getRange({})) {
      const [circlePk, seq] = key;
      let ids = byCircle.get(circlePk);
      if (!ids) byCircle.set(circlePk, (ids = []));
      ids.push({ taskId: value, seq });
      this.nextSeq = Math.max(this.nextSeq, seq + 1);
      count++;
    }
    for (const [circlePk, ids] of byCircle) this.queues.enqueue(circlePk, ids);
    return count;
  }

  /** Deletes expired task records and markers, a chunk per transaction. */
  private sweep(): Promise<void> {
    if (this.closing || this.sweeping) return this.sweeping ?? Promise.resolve();
    this.sweeping = (async () => {
      try {
        const now = this.clock();
        let handled = SWEEP_CHUNK;
        while (handled === SWEEP_CHUNK && !this.closing) {
          handled = await this.env.write(() => this.sweepChunk(now));
        }
      } catch (err) {
        this.logger.warn({ err: String(err) }, 'sweeping expired entries failed');
      }
      const now = this.clock();
      for (const [queue, parked] of this.parkedReplies) {
        if (now - parked.touchedAt > PARKED_REPLY_TTL_MS) this.parkedReplies.delete(queue);
      }
    })().finally(() => {
      this.sweeping = null;
    });
    return this.sweeping;
  }

  /** Inside a write transaction; returns the number of expiry entries handled. */
  private sweepChunk(now: number): number {
    const { tasks, queue, expiry, markers } = this.env.tables;
    const due: [number, 't' | 'm', string][] = [];
    for (const key of expiry.getKeys({ limit: SWEEP_CHUNK })) {
      if (key[0] > now) break;
      due.push(key);
    }
    for (const key of due) {
      const [at, kind, id] = key;
      void expiry.remove(key);
      if (kind === 't') {
        const entry = tasks.get(id);
        if (entry === undefined || entry.expiresAt !== at) continue;
        void tasks.remove(id);
        // a task that expired before it ran: do not bring it back on the next start
        if (entry.queueSeq !== undefined && queue.get([entry.circlePk, entry.queueSeq]) === id) {
          void queue.remove([entry.circlePk, entry.queueSeq]);
        }
      } else if (markers.get(id) === at) {
        void markers.remove(id);
      }
    }
    return due.length;
  }

  /** Replies leave in batches, like the Redis reader's pops. */
  private reply(queue: string, reply: TaskReply): void {
    let parked = this.parkedReplies.get(queue);
    if (!parked) {
      this.parkedReplies.set(queue, (parked = { replies: [], touchedAt: this.clock() }));
      queueMicrotask(() => {
        const handler = this.replyHandlers.get(queue);
        if (!handler) return; // kept parked until a reader starts (bounded; dropped by the sweep)
        const batch = this.parkedReplies.get(queue)?.replies ?? [];
        this.parkedReplies.delete(queue);
        if (batch.length) this.deliver(handler, batch);
      });
    }
    parked.replies.push(reply);
    parked.touchedAt = this.clock();
    // nobody reads this queue (its server stopped): keep a bounded tail, as Redis would keep a list
    if (parked.replies.length > MAX_PARKED_REPLIES) {
      parked.replies.splice(0, parked.replies.length - MAX_PARKED_REPLIES);
    }
  }

  private deliver(handler: (replies: TaskReply[]) => void, replies: TaskReply[]): void {
    try {
      handler(replies);
    } catch (err) {
      this.logger.error({ err: String(err) }, 'reply handler failed');
    }
  }

  private ensureOpen(): void {
    if (this.closing) throw new BackendUnavailableError('embedded backend closed');
  }

  /** A failed write means the database cannot take work now (→ -32004 / HTTP 503). */
  private async unavailableOnFailure<T>(write: Promise<T>): Promise<T> {
    try {
      return await write;
    } catch (err) {
      throw new BackendUnavailableError(`embedded database write failed: ${reason(err)}`);
    }
  }
}

/** Creates the directory if missing; refuses a non-directory or one this process cannot write. */
function prepareDirectory(dir: string): void {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    fs.mkdirSync(dir, { recursive: true });
    stat = fs.statSync(dir);
  }
  if (!stat.isDirectory()) throw new Error('not a directory');
  fs.accessSync(dir, fs.constants.R_OK | fs.constants.W_OK | fs.constants.X_OK);
}

const ERRNO_TEXT: Readonly<Record<string, string>> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOTDIR: 'a path component is not a directory',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on device',
  EEXIST: 'a file is in the way',
  ENOENT: 'no such file or directory',
};

/** One line, without the path again (the caller names the directory). */
function reason(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code === 'string' && ERRNO_TEXT[code]) return ERRNO_TEXT[code];
  const message = err instanceof Error ? err.message : String(err);
  return message.split('\n')[0]!.trim() || 'unknown error';
}
