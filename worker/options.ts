import os from 'node:os';
import { z } from 'zod';
import { LOG_FORMATS, LOG_LEVELS } from '../log';
import { DEFAULT_TASK_TTL_S, WORKER_ALIVE_REFRESH_MS, WORKER_ALIVE_TTL_S } from '../queue/task';
import { STORE_LIMITS } from '../queue/worker-backend';
import { canonicalCirclePk } from './circle-key';

const circlePk = z.string().transform((text, ctx) => {
  const pk = canonicalCirclePk(text);
  if (pk === null) {
    ctx.addIssue({ code: 'custom', message: `not a valid secp256k1 public key: ${text}` });
    return z.NEVER;
  }
  return pk;
});

const int = (min: number, max = Number.MAX_SAFE_INTEGER): z.ZodCoercedNumber =>
  z.coerce
    .number({ error: 'must be a whole number' })
    .int('must be a whole number')
    .min(min, `must be at least ${min}`)
    .max(max, `must be at most ${max}`);

/**
 * Every setting of a script worker, with its default and its validation. Command-line flags
 * only feed this schema; `startWorker` parses through it too, so both agree.
 */
export const workerOptionsSchema = z.object({
  /** Circles served (canonical keys, deduplicated). */
  circles: z
    .array(circlePk)
    .min(1, 'at least one --circle is required')
    .transform((pks) => [...new Set(pks)]),
  redisUrl: z
    .string()
    .regex(/^rediss?:\/\/\S+$/, 'must be a redis:// or rediss:// URL')
    .default('redis://127.0.0.1:6379'),
  workerId: z
    .string()
    .regex(/^[^\s*?[\]]+$/, 'must be non-empty, without spaces or glob characters')
    .default(() => `${os.hostname()}-${process.pid}`),
  /** Script threads. */
  concurrency: int(1, 256).default(() => os.availableParallelism()),
  /** Lifetime of a finished task hash, seconds. */
  taskTtlS: int(1).default(DEFAULT_TASK_TTL_S),
  /** Wall-clock budget of one script, ms (the engine's deadline). */
  playTimeoutMs: int(1).default(30_000),
  /** How long `stop()` lets in-flight scripts finish, ms. */
  drainTimeoutMs: int(0).default(10_000),
  logLevel: z.enum(LOG_LEVELS).default('info'),
  logFormat: z.enum(LOG_FORMATS).default('auto'),
  /** Port of the worker's HTTP server (`/metrics`, `/health`); absent = none, 0 = any free port. */
  metricsPort: int(0, 65535).optional(),
  /** Address that HTTP server listens on. */
  metricsHost: z.string().min(1, 'must not be empty').default('127.0.0.1'),
  /** Prefix of every Redis key (tests and embedding; empty in production). */
  namespace: z.string().default(''),
  /** Most task ids taken in one batch. */
  batchSize: int(1, 1000).default(64),
  /** How long one blocking take waits before looping, ms. */
  blockTimeoutMs: int(10, 60_000).default(2_000),
  maxScriptBytes: int(1).default(1024 * 1024),
  /** Most bytes (keys and values, UTF-8) one circle's store may hold (Redis backend). */
  storeQuotaBytes: int(0).default(STORE_LIMITS.defaultQuotaBytes),
  /** Extra time past the deadline before a script thread is terminated, ms. */
  deadlineGraceMs: int(0).default(1_000),
  /** Heap limit of one script thread, MiB. */
  threadHeapMb: int(16).default(256),
  /** How often dead workers' tasks are looked for (SPEC §4: at least every 5 s). */
  reclaimIntervalMs: int(100).default(2_000),
  livenessTtlS: int(1).default(WORKER_ALIVE_TTL_S),
  livenessRefreshMs: int(100).default(WORKER_ALIVE_REFRESH_MS),
});

/** What callers may pass (everything but `circles` has a default). */
export type WorkerOptionsInput = z.input<typeof workerOptionsSchema>;
/** Validated options with defaults applied. */
export type WorkerOptions = z.output<typeof workerOptionsSchema>;

/**
 * Validates options; on failure returns one line naming each bad field, as `nameOf`
 * spells it (field names by default; `circles-worker` validates through `cmd/options.ts`,
 * which names flags, variables and config keys itself).
 */
export function parseWorkerOptions(
  input: WorkerOptionsInput,
  nameOf: (field: string) => string = (field) => field,
): { ok: true; options: WorkerOptions } | { ok: false; error: string } {
  const parsed = workerOptionsSchema.safeParse(input);
  if (parsed.success) return { ok: true, options: parsed.data };
  const issues = parsed.error.issues.map((issue) => {
    const field = issue.path.filter((part) => typeof part === 'string').join('.');
    return field ? `${nameOf(field)}: ${issue.message}` : issue.message;
  });
  return { ok: false, error: issues.join('; ') };
}
