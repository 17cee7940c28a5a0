import { createLogger, type Logger } from '../log';
import type { WorkerBackend } from '../queue/worker-backend';
import { parseWorkerOptions, type WorkerOptions, type WorkerOptionsInput } from './options';
import { connectRedisBackend } from '../queue/redis-worker';
import { ScriptPool } from './script-pool';
import { TaskLoop } from './task-loop';

export type {
  WorkerBackend,
  HeldTask,
  StoredTask,
  StoreEffects,
  StoreEntry,
  KeyListing,
  CompleteResult,
  TaskOutcome,
} from '../queue/worker-backend';
export {
  workerOptionsSchema,
  parseWorkerOptions,
  type WorkerOptions,
  type WorkerOptionsInput,
} from './options';
export { canonicalCirclePk } from './circle-key';

/** A running worker. */
export interface WorkerHandle {
  readonly workerId: string;
  /** Canonical keys of the circles served. */
  readonly circles: readonly string[];
  /** Script threads busy right now (observability, specs). */
  busyThreads(): number;
  /**
   * Graceful stop: stops taking, lets running scripts finish within the drain timeout,
   * re-queues every id not finished, removes the liveness key and disconnects. Idempotent.
   */
  stop(): Promise<void>;
}

/** Optional collaborators of `startWorker`. */
export interface WorkerDependencies {
  readonly logger?: Logger;
  /** A task backend to use instead of connecting to `redisUrl` (embedded mode). */
  readonly backend?: WorkerBackend;
}

const REQUEUE_AT_STOP_TIMEOUT_MS = 5_000;

/**
 * Starts a script worker for the given circles (SPEC §4, §6). Rejects with a one-line
 * message when the options are invalid or Redis cannot be reached.
 */
export async function startWorker(
  input: WorkerOptionsInput,
  dependencies: WorkerDependencies = {},
): Promise<WorkerHandle> {
  const parsed = parseWorkerOptions(input);
  if (!parsed.ok) throw new Error(`invalid worker options: ${parsed.error}`);
  const options: WorkerOptions = parsed.options;
  const logger = (dependencies.logger ?? createLogger(options.logLevel, 'worker')).child({
    workerId: options.workerId,
  });

  const backend =
    dependencies.backend ??
    (await connectRedisBackend({
      redisUrl: options.redisUrl,
      namespace: options.namespace,
      workerId: options.workerId,
      circles: options.circles,
      taskTtlS: options.taskTtlS,
      livenessTtlS: options.livenessTtlS,
      storeQuotaBytes: options.storeQuotaBytes,
      logger,
    }));
  const pool = new ScriptPool({
    size: options.concurrency,
    graceMs: options.deadlineGraceMs,
    heapMb: options.threadHeapMb,
    logger,
    store: backend,
  });
  const loop = new TaskLoop(backend, pool, options, logger);
  try {
    await pool.start();
    await loop.start();
  } catch (err) {
    await loop.stop();
    await pool.close();
    await backend.close();
    throw err;
  }
  logger.info({ circles: options.circles, concurrency: options.concurrency }, 'worker started');

  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      await loop.stop();
      await pool.close();
      await requeueLeftovers(backend, logger);
      await backend.close();
      logger.info('worker stopped');
    })();
    return stopping;
  };
  return { workerId: options.workerId, circles: options.circles, busyThreads: () => pool.busyThreads, stop };
}

/** Puts every id this worker still holds back in its queue; bounded, as Redis may be down. */
async function requeueLeftovers(backend: WorkerBackend, logger: Logger): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const requeue = backend.requeueAllHeld();
  requeue.catch(() => undefined); // settled by the race below; this only marks it handled
  try {
    const moved = await Promise.race([
      requeue,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('timed out')), REQUEUE_AT_STOP_TIMEOUT_MS);
      }),
    ]);
    if (moved > 0) logger.info({ count: moved }, 're-queued unfinished tasks');
  } catch (err) {
    logger.warn(
      { err: String(err) },
      'could not re-queue unfinished tasks; they return when the liveness key expires',
    );
  } finally {
    clearTimeout(timer);
  }
}
