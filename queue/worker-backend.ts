import type { ResultDetail, TaskRecord } from './task';

/** A task id this worker has moved from a circle's work queue into its processing list. */
export interface HeldTask {
  readonly circlePk: string;
  readonly taskId: string;
}

/**
 * A held task with its hash as read when it was claimed (`null` when missing); may hold only
 * the fields the worker reads (status, contextId, script, callerId, input, replyToQueue).
 */
export interface ClaimedTask {
  readonly task: HeldTask;
  readonly stored: StoredTask | null;
}

/** A task hash as stored: every field optional, since anyone can write a malformed one. */
export type StoredTask = Partial<Record<keyof TaskRecord, string>>;

/**
 * One circle-store key as read: its JSON text (`null` when absent) and its version. The
 * version is an opaque token that changes whenever the key is written or deleted; an absent
 * key has one too, so "it was absent when I read it" is checked like any other read.
 */
export interface StoreEntry {
  readonly value: string | null;
  readonly version: string;
}

/** Keys of one circle starting with a prefix, sorted by their UTF-8 bytes. */
export interface KeyListing {
  readonly keys: readonly string[];
  /** Version of the circle's key set (changes whenever a key is created or deleted). */
  readonly version: string;
}

/**
 * What one script did to its circle's store: the versions of what it read (to be checked at
 * commit) and what it wrote (applied with its result, or not at all).
 */
export interface StoreEffects {
  /** `[key, version]` for every key read from the backend. */
  readonly reads: readonly (readonly [string, string])[];
  /** The key-set version seen by a `store_keys` call, when the script listed keys. */
  readonly listed?: string;
  /** `[key, JSON text]`, final value per key. */
  readonly sets: readonly (readonly [string, string])[];
  readonly deletes: readonly string[];
}

/** The result of one held task, ready to be written. */
export interface TaskOutcome {
  readonly task: HeldTask;
  readonly status: 'completed' | 'error';
  /** `output` when completed, `error` otherwise. */
  readonly text: string;
  /** Error kind and position, and the logs of the run (written to the hash and the reply). */
  readonly detail?: ResultDetail;
  /** Where the reply goes; absent or empty means nobody is waiting. */
  readonly replyToQueue?: string;
  /**
   * The script's store effects. Its reads are checked whatever the status (an error can
   * depend on what was read); its writes are applied only when completed.
   */
  readonly store?: StoreEffects;
}

/**
 * How writing one outcome went:
 * - `written`: result, store writes and reply written, id removed from the processing list;
 * - `not-held`: this worker no longer held the task (re-queued elsewhere): nothing written;
 * - `conflict`: a key the script read changed since: nothing written, the task stays held
 *   (run it again);
 * - `quota`: the writes would take the circle store over its quota: nothing written, the
 *   task stays held (answer it with an error).
 */
export type CompleteResult = 'written' | 'not-held' | 'conflict' | 'quota';

/**
 * What the worker loop needs from a task backend (SPEC §4). Implementations:
 * `RedisWorkerBackend` (queue/redis-worker.ts) and the embedded database
 * (queue/embedded-backend.ts). Every method acts only on the circles and the worker id the
 * backend was created for. `specs/queue/conformance.redis.spec.ts` holds both to one contract.
 */
export interface WorkerBackend {
  /**
   * Moves up to `max` ids from the circles' work queues into this worker's processing
   * lists, oldest first and fair across circles, and claims them: returns each with its
   * hash as read before this call set `status = processing` and `updatedAt` (on those not
   * already completed or failed). Waits up to `blockMs` when all queues are empty; returns
   * `[]` on timeout or after `stopTaking()`.
   */
  take(max: number, blockMs: number): Promise<ClaimedTask[]>;
  /** Ends any waiting `take` now and makes later ones return `[]`. */
  stopTaking(): Promise<void>;
  /** Current value and version of each key of one circle's store, in order. */
  readKeys(circlePk: string, keys: readonly string[]): Promise<StoreEntry[]>;
  /**
   * The keys of one circle's store starting with `prefix`, sorted by UTF-8 bytes; at most
   * `limit + 1` of them, so that a caller can tell that there are more than `limit`.
   */
  listKeys(circlePk: string, prefix: string, limit: number): Promise<KeyListing>;
  /**
   * Writes each outcome, in this order and atomically per task: check that the task is
   * still held and that every version it read is current, then the hash status, result and
   * `updatedAt` with its expiry reset to the task TTL, the store writes, the reply, and
   * removal from the processing list. Outcomes of one call are applied in order, each seeing
   * the writes of those before it.
   */
  complete(outcomes: readonly TaskOutcome[], updatedAt: string): Promise<CompleteResult[]>;
  /** Removes held ids without writing anything (their task was already finished). */
  release(tasks: readonly HeldTask[]): Promise<void>;
  /** Sets this worker's liveness key with its expiry. */
  refreshLiveness(): Promise<void>;
  /** Re-queues the processing lists of workers whose liveness key is gone; returns the count. */
  reclaimDead(): Promise<number>;
  /** Every id in this worker's processing lists, but those a coming `take` will hand out. */
  listHeld(): Promise<HeldTask[]>;
  /** Moves the given held ids back to the front (next to run) of their work queues. */
  requeue(tasks: readonly HeldTask[]): Promise<number>;
  /** Moves every id in this worker's processing lists back to the front of its queue. */
  requeueAllHeld(): Promise<number>;
  /** Resolves once the backend answers (the worker's readiness); rejects when it cannot. */
  ping(): Promise<void>;
  /** Deletes the liveness key and closes connections; idempotent. */
  close(): Promise<void>;
}

/** Store limits (SPEC §4); the quota is a backend setting, checked when writes commit. */
export const STORE_LIMITS = Object.freeze({
  maxKeyBytes: 1024,
  maxValueBytes: 1024 * 1024,
  maxValueDepth: 128,
  defaultQuotaBytes: 1024 * 1024 * 1024,
});

/**
 * Bytes a key and its value count toward the quota: the UTF-8 bytes of both. Both
 * backends account the same way, so a quota means the same thing on each.
 */
export function entryBytes(key: string, value: string): number {
  return Buffer.byteLength(key, 'utf8') + Buffer.byteLength(value, 'utf8');
}
