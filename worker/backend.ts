import type { TaskRecord } from '../queue/task';

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

/** A circle store as stored: store key → JSON text. */
export type StoredCircleStore = Record<string, string>;

/** Store changes one script made (values are JSON text). */
export interface StoreWrites {
  readonly sets: Readonly<Record<string, string>>;
  readonly deletes: readonly string[];
}

/** The result of one held task, ready to be written. */
export interface TaskOutcome {
  readonly task: HeldTask;
  readonly status: 'completed' | 'error';
  /** `output` when completed, `error` otherwise. */
  readonly text: string;
  /** Where the reply goes; absent or empty means nobody is waiting. */
  readonly replyToQueue?: string;
  readonly storeWrites?: StoreWrites;
}

/**
 * What the worker loop needs from a task backend (SPEC §4). The Redis implementation is
 * `RedisWorkerBackend`; an embedded mode can implement the same contract in process.
 * Every method acts only on the circles and the worker id the backend was created for.
 */
export interface WorkerBackend {
  /**
   * Moves up to `max` ids from the circles' work queues into this worker's processing
   * lists, oldest first and fair across circles, waiting up to `blockMs` when all queues
   * are empty. Returns `[]` on timeout or after `stopTaking()`.
   */
  take(max: number, blockMs: number): Promise<HeldTask[]>;
  /**
   * Optional: `take` and `claimTasks` of what it took in one step (one round trip per batch
   * instead of two), with `updatedAt` the time of the claim. The loop uses it when present.
   */
  takeClaimed?(max: number, blockMs: number): Promise<ClaimedTask[]>;
  /** Ends any waiting `take` now and makes later ones return `[]`. */
  stopTaking(): Promise<void>;
  /**
   * The task hashes of `tasks`, in order (`null` where missing), as read before this call
   * set `status = processing` and `updatedAt` on those not already completed or failed.
   */
  claimTasks(tasks: readonly HeldTask[], updatedAt: string): Promise<(StoredTask | null)[]>;
  /** The whole store of one circle. */
  loadStore(circlePk: string): Promise<StoredCircleStore>;
  /**
   * Writes each outcome, in this order and atomically per task: hash status, result and
   * `updatedAt` with its expiry reset to the task TTL, the store writes, the reply, then
   * removal from the processing list. Returns, per outcome, `false` when this worker no
   * longer held the task (it was reclaimed by another worker) and nothing was written.
   */
  complete(outcomes: readonly TaskOutcome[], updatedAt: string): Promise<boolean[]>;
  /** Removes held ids without writing anything (their task was already finished). */
  release(tasks: readonly HeldTask[]): Promise<void>;
  /** Sets this worker's liveness key with its expiry. */
  refreshLiveness(): Promise<void>;
  /** Re-queues the processing lists of workers whose liveness key is gone; returns the count. */
  reclaimDead(): Promise<number>;
  /** Every id in this worker's processing lists. */
  listHeld(): Promise<HeldTask[]>;
  /** Moves the given held ids back to the front (next to run) of their work queues. */
  requeue(tasks: readonly HeldTask[]): Promise<number>;
  /** Moves every id in this worker's processing lists back to the front of its queue. */
  requeueAllHeld(): Promise<number>;
  /** Deletes the liveness key and closes connections; idempotent. */
  close(): Promise<void>;
}
