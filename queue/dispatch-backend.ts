import type { KeyBuilder } from './keys';
import type { TaskReply } from './task';

/** A task as the dispatcher hands it to the backend (SPEC §4 fields it chooses). */
export interface NewTask {
  readonly taskId: string;
  readonly script: string;
  readonly callerId: string;
  readonly contextId: string;
  /** JSON object text bound as `event` in the script (webhooks). */
  readonly input?: string;
}

/** The fields of a new task hash (SPEC §4), as both backends write them. */
export function pendingTaskFields(
  task: NewTask,
  replyToQueue: string,
  nowIso: string,
): Record<string, string> {
  const fields: Record<string, string> = {
    taskId: task.taskId,
    script: task.script,
    callerId: task.callerId,
    contextId: task.contextId,
    status: 'pending',
    createdAt: nowIso,
    updatedAt: nowIso,
    replyToQueue,
  };
  if (task.input !== undefined) fields.input = task.input;
  return fields;
}

export type BackendHealth = { ok: true } | { ok: false; reason: string };

/** What `task_status` (SPEC §3.9) reads of a task record: its state and whose it is. */
export interface TaskState {
  readonly status: string;
  readonly callerId: string;
  readonly contextId: string;
  readonly output?: string;
  readonly error?: string;
}

/** The task hash fields a TaskState is made of, in the order `taskStateOf` reads them. */
export const TASK_STATE_FIELDS = ['status', 'callerId', 'contextId', 'output', 'error'] as const;

/** A TaskState from the values of TASK_STATE_FIELDS (null: no such task, or it expired). */
export function taskStateOf(values: readonly (string | null | undefined)[]): TaskState | null {
  const [status, callerId, contextId, output, error] = values;
  if (typeof status !== 'string' || typeof callerId !== 'string' || typeof contextId !== 'string')
    return null;
  return {
    status,
    callerId,
    contextId,
    ...(typeof output === 'string' ? { output } : {}),
    ...(typeof error === 'string' ? { error } : {}),
  };
}

/** One circle's work queue as a scrape sees it. */
export interface QueueStats {
  /** Task ids waiting to be taken (those a worker holds are not counted). */
  readonly depth: number;
  /** Seconds since the oldest waiting task was created; 0 when none waits (or its record is gone). */
  readonly oldestAgeSeconds: number;
}

/** Raised when the backend cannot take a task right now (→ -32004 / HTTP 503). */
export class BackendUnavailableError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'BackendUnavailableError';
  }
}

/**
 * The dispatcher's side of the task protocol. The Redis implementation speaks SPEC §4;
 * the embedded one keeps the same semantics in process.
 */
export interface DispatchBackend {
  /** `redis://host:port` or `embedded`, for logs and the launcher's table. */
  readonly description: string;
  /** The key names in this backend's namespace (webhook markers are built with it). */
  readonly keys: KeyBuilder;
  /** Starts the reply reader; `onReplies` gets each batch of replies for this instance. */
  start(onReplies: (replies: TaskReply[]) => void): Promise<void>;
  /** Writes the task and queues it for its circle; rejects with BackendUnavailableError at once when down. */
  submit(task: NewTask, hashTtlSeconds: number): Promise<void>;
  /** The same for several tasks, in one round trip and atomically (all or none). */
  submitBatch(tasks: readonly NewTask[], hashTtlSeconds: number): Promise<void>;
  /**
   * One task's state (Redis: one HMGET of its hash); null when it does not exist or expired.
   * Rejects with BackendUnavailableError when the backend does not answer.
   */
  taskState(taskId: string): Promise<TaskState | null>;
  health(): Promise<BackendHealth>;
  /**
   * Depth and oldest task age of each circle's work queue, in one round trip; every circle
   * asked about is in the answer. Rejects when the backend does not answer.
   */
  queueStats(circles: readonly string[]): Promise<Map<string, QueueStats>>;
  /**
   * Whether tasks for `circles` would run now: the backend answers and every circle has at
   * least one live worker (on Redis: a registered worker whose liveness key exists).
   */
  readiness(circles: readonly string[]): Promise<BackendHealth>;
  /** True the first time `key` is marked within `ttlSeconds` (webhook redelivery). */
  markOnce(key: string, ttlSeconds: number): Promise<boolean>;
  /**
   * Deletes a `markOnce` marker, so that an event whose task could not be queued is taken
   * again when the provider redelivers it.
   */
  unmark(key: string): Promise<void>;
  /** Idempotent. */
  close(): Promise<void>;
}

/** Circles a readiness reason names before summing up the rest. */
const NAMED_CIRCLES = 5;

/** `readiness` from which circles have a live worker (both backends word it alike). */
export function workerReadiness(
  circles: readonly string[],
  hasLiveWorker: (circlePk: string) => boolean,
): BackendHealth {
  const missing = [...new Set(circles)].filter((pk) => !hasLiveWorker(pk));
  if (missing.length === 0) return { ok: true };
  const named = missing.slice(0, NAMED_CIRCLES).join(', ');
  const more = missing.length > NAMED_CIRCLES ? ` and ${missing.length - NAMED_CIRCLES} more` : '';
  return { ok: false, reason: `no live worker for circle${missing.length > 1 ? 's' : ''} ${named}${more}` };
}

/** Seconds since an RFC 3339 time, 0 when unknown (or in the future: clocks differ). */
export function ageSeconds(createdAt: string | undefined, nowMs: number): number {
  const at = createdAt ? Date.parse(createdAt) : NaN;
  return Number.isFinite(at) ? Math.max(0, (nowMs - at) / 1000) : 0;
}
