import os from 'node:os';
import { z } from 'zod';
import { normalizePubkey } from '../auth/keys';
import { SHARED_DEFAULTS } from '../shared-defaults';
import { LOG_FORMATS, LOG_LEVELS } from '../log';
import { WORKER_ALIVE_REFRESH_MS, WORKER_ALIVE_TTL_S } from '../queue/task';
import { STORE_LIMITS } from '../queue/worker-backend';
import { describeIssues, issueLine } from '../rpc/zod-issues';

const circlePk = z.string().transform((text, ctx) => {
  const pk = normalizePubkey(text);
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
 * Every setting of a script worker, with its validation; the defaults it shares with the
 * gateway (names, units and values) come from `SHARED_DEFAULTS`. Command-line flags only feed
 * this schema; `startWorker` parses through it too, so both agree.
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
    .default(SHARED_DEFAULTS.redisUrl),
  workerId: z
    .string()
    .regex(/^[^\s*?[\]]+$/, 'must be non-empty, without spaces or glob characters')
    .default(() => `${os.hostname()}-${process.pid}`),
  /** Script threads. */
  concurrency: int(1, 256).default(() => os.availableParallelism()),
  /** Lifetime of a finished task hash. */
  taskTtlSeconds: int(1).default(SHARED_DEFAULTS.taskTtlSeconds),
  /** Wall-clock budget of one script (the engine's deadline). */
  playTimeoutMs: int(1).default(SHARED_DEFAULTS.playTimeoutMs),
  /** How long `stop()` lets in-flight scripts finish. */
  drainTimeoutMs: int(0).default(SHARED_DEFAULTS.drainTimeoutMs),
  logLevel: z.enum(LOG_LEVELS).default(SHARED_DEFAULTS.logLevel),
  logFormat: z.enum(LOG_FORMATS).default(SHARED_DEFAULTS.logFormat),
  /** Port of the worker's HTTP server (`/metrics`, `/livez`, `/readyz`); absent = none, 0 = any free port. */
  metricsPort: int(0, 65535).optional(),
  /** Address that HTTP server listens on. */
  metricsHost: z.string().min(1, 'must not be empty').default(SHARED_DEFAULTS.host),
  /** Prefix of every Redis key (tests and embedding; empty in production). */
  namespace: z.string().default(''),
  /** Most task ids taken in one batch. */
  batchSize: int(1, 1000).default(64),
  /** How long one blocking take waits before looping. */
  blockTimeoutMs: int(10, 60_000).default(2_000),
  maxScriptBytes: int(1).default(1024 * 1024),
  /** Most bytes (keys and values, UTF-8) one circle's store may hold (Redis backend). */
  storeQuotaBytes: int(0).default(STORE_LIMITS.defaultQuotaBytes),
  /** Extra time past the deadline before a script thread is terminated. */
  deadlineGraceMs: int(0).default(1_000),
  /** Heap limit of one script thread, MiB. */
  threadHeapMb: int(16).default(256),
  /** How often dead workers' tasks are looked for (SPEC §4: at least every 5 s). */
  reclaimIntervalMs: int(100).default(2_000),
  livenessTtlSeconds: int(1).default(WORKER_ALIVE_TTL_S),
  livenessRefreshMs: int(100).default(WORKER_ALIVE_REFRESH_MS),
});

/** What callers may pass (everything but `circles` has a default). */
export type WorkerOptionsInput = z.input<typeof workerOptionsSchema>;
/** Validated options with defaults applied. */
export type WorkerOptions = z.output<typeof workerOptionsSchema>;

/** Validates options; on failure, one line naming each bad field (`circles.0: …; redisUrl: …`). */
export function parseWorkerOptions(
  input: WorkerOptionsInput,
): { ok: true; options: WorkerOptions } | { ok: false; error: string } {
  const parsed = workerOptionsSchema.safeParse(input);
  if (parsed.success) return { ok: true, options: parsed.data };
  return { ok: false, error: describeIssues(parsed.error).map(issueLine).join('; ') };
}
