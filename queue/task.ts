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
  /** Our additions (absent in rhailib's shape): see {@link ResultDetail}. */
  errorKind?: string;
  /** Decimal, 1-based. */
  errorLine?: string;
  /** Decimal, 1-based (characters). */
  errorPosition?: string;
  /** A JSON array of strings. */
  logs?: string;
}

/**
 * What a result carries beyond rhailib's `output` / `error`, every part optional (absent
 * when unknown, and in replies of older workers): the error's kind and 1-based position,
 * and what the script printed.
 */
export interface ResultDetail {
  errorKind?: string;
  errorLine?: number;
  errorPosition?: number;
  logs?: readonly string[];
}

/** What a worker LPUSHes (as JSON) onto the task's `replyToQueue`. */
export interface TaskReply extends ResultDetail {
  taskId: string;
  status: 'completed' | 'error';
  output?: string;
  error?: string;
}

/** The names of the detail fields, in the task hash and in the reply alike. */
export const DETAIL_FIELDS = ['errorKind', 'errorLine', 'errorPosition', 'logs'] as const;

/** The detail as task hash fields (strings; `logs` as JSON array text); absent parts left out. */
export function detailHashFields(detail: ResultDetail): Record<string, string> {
  const fields: Record<string, string> = {};
  if (detail.errorKind !== undefined) fields.errorKind = detail.errorKind;
  if (detail.errorLine !== undefined) fields.errorLine = String(detail.errorLine);
  if (detail.errorPosition !== undefined) fields.errorPosition = String(detail.errorPosition);
  if (detail.logs !== undefined && detail.logs.length > 0) fields.logs = JSON.stringify(detail.logs);
  return fields;
}

/** The detail as reply fields (`logs` as an array); absent parts left out. */
export function detailReplyFields(detail: ResultDetail): ResultDetail {
  const out: ResultDetail = {};
  if (detail.errorKind !== undefined) out.errorKind = detail.errorKind;
  if (detail.errorLine !== undefined) out.errorLine = detail.errorLine;
  if (detail.errorPosition !== undefined) out.errorPosition = detail.errorPosition;
  if (detail.logs !== undefined && detail.logs.length > 0) out.logs = detail.logs;
  return out;
}

/** Kinds are identifiers (`ErrorParsing`); anything else is not trusted as one. */
const KIND = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;
/** Most log lines trusted from a reply or hash (the worker's byte cap makes far fewer). */
const MAX_LOG_LINES = 100_000;

/**
 * Reads the detail of a reply object or a task hash, whichever wrote it: an old-shape one
 * (no detail fields), one from a newer worker, or a malformed one. Never throws: a part that
 * is not what it should be (a `logs` that is not an array of strings, in either its array or
 * its JSON text form; a line that is not a positive integer) is left out.
 */
export function readDetail(source: Readonly<Record<string, unknown>>): ResultDetail {
  const out: ResultDetail = {};
  const kind = source.errorKind;
  if (typeof kind === 'string' && KIND.test(kind)) out.errorKind = kind;
  const line = positiveInt(source.errorLine);
  if (line !== undefined) out.errorLine = line;
  const position = positiveInt(source.errorPosition);
  if (position !== undefined) out.errorPosition = position;
  const logs = readLogs(source.logs);
  if (logs !== undefined) out.logs = logs;
  return out;
}

/** `logs` as an array of strings or JSON text of one; `undefined` when absent, empty or malformed. */
export function readLogs(raw: unknown): string[] | undefined {
  let value = raw;
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw);
    } catch {
      return undefined;
    }
  }
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_LOG_LINES) return undefined;
  return value.every((line) => typeof line === 'string') ? (value as string[]) : undefined;
}

function positiveInt(raw: unknown): number | undefined {
  const n = typeof raw === 'string' && /^[0-9]{1,9}$/.test(raw) ? Number(raw) : raw;
  return typeof n === 'number' && Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

/** Default lifetime of a finished task hash (`--task-ttl`, seconds). */
export const DEFAULT_TASK_TTL_S = 24 * 60 * 60;
/** Worker liveness key expiry and refresh period (SPEC §4). */
export const WORKER_ALIVE_TTL_S = 10;
export const WORKER_ALIVE_REFRESH_MS = 2_000;
