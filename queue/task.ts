/** The task record and reply shapes of the Redis task protocol (SPEC §4). */

export type TaskStatus = 'pending' | 'processing' | 'completed' | 'error';

/** Fields of the task hash `rhailib:<task_id>` (all strings in Redis). */
export interface TaskRecord {
  taskId: string;
  script: string;
  callerId: string;
  contextId: string;
  status: TaskStatus;
  createdAt: string;
  updatedAt: string;
  replyToQueue: string;
  /** JSON object bound as the constant `event` in the script (webhooks). */
  input?: string;
  output?: string;
  error?: string;
}

/** What a worker LPUSHes (as JSON) onto the task's `replyToQueue`. */
export interface TaskReply {
  taskId: string;
  status: 'completed' | 'error';
  output?: string;
  error?: string;
}

/** Default lifetime of a finished task hash (`--task-ttl`, seconds). */
export const DEFAULT_TASK_TTL_S = 24 * 60 * 60;
/** Worker liveness key expiry and refresh period (SPEC §4). */
export const WORKER_ALIVE_TTL_S = 10;
export const WORKER_ALIVE_REFRESH_MS = 2_000;
