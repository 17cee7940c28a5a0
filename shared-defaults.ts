import { DEFAULT_TASK_TTL_S } from './queue/task';

/**
 * Defaults of the settings the gateway and the script worker both take, under the same
 * name and unit (`…Ms`, `…Seconds`): both schemas (`server/options.ts` and `worker/options.ts`)
 * read them here, so each is written once. Flags carry none (cmd/options.ts).
 */
export const SHARED_DEFAULTS = {
  /** Listening address of the gateway and of the worker's metrics server: loopback only. */
  host: '127.0.0.1',
  redisUrl: 'redis://127.0.0.1:6379',
  playTimeoutMs: 30_000,
  drainTimeoutMs: 10_000,
  taskTtlSeconds: DEFAULT_TASK_TTL_S,
  logLevel: 'info',
  logFormat: 'auto',
} as const;
