import type { Registry } from 'prom-client';
import { createLogger, type Logger } from '../log';
import type { WorkerBackend } from '../queue/worker-backend';
import { parseWorkerOptions, type WorkerOptions, type WorkerOptionsInput } from './options';
import { connectRedisBackend } from '../queue/redis-worker';
import { startWorkerHttp, type WorkerHttp, type WorkerReadiness } from './http';
import { createWorkerMetrics } from './metrics';
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
export { createWorkerMetrics, type WorkerMetrics } from './metrics';

/** A running worker. */
export interface WorkerHandle {
  readonly workerId: string;
  /** Canonical keys of the circles served. */
  readonly circles: readonly string[];
  /** Script threads busy right now (observability, specs). */
  busyThreads(): number;
  /**
   * The worker's metrics (process metrics and `circles_worker_*`), as served on its
   * `/metrics`; an in-process gateway includes them in its own (`Metrics.include`).
   */
  readonly metrics: Registry;
  /** `http://host:port` of `/metrics`, `/livez`, `/readyz` when `metricsPort` is set. */
  readonly metricsUrl?: string;
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
  /** Registry for the worker's metrics (default: a new one, with the process metrics). */
  readonly registry?: Registry;
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
  const logger = (dependencies.logger ?? createLogger(options.logLevel, 'worker', options.logFormat)).child({
    workerId: options.workerId,
  });

  /** The parts started so far, as the metrics and `/readyz` see them. */
  const started: { pool?: ScriptPool; loop?: TaskLoop; backend?: WorkerBackend } = {};
  let stopping: Promise<void> | null = null;
  const metrics = createWorkerMetrics(dependencies.registry, {
    size: options.concurrency,
    busy: () => started.pool?.busyThreads ?? 0,
  });
  const readiness = async (): Promise<WorkerReadiness> => {
    if (stopping) return { ok: false, reason: 'worker is stopping' };
    if (!started.backend || !started.loop?.taking) return { ok: false, reason: 'worker is starting' };
    try {
      await started.backend.ping();
      return { ok: true };
    } catch (err) {
      return { ok: false, reason: err instanceof Error ? err.message : String(err) };
    }
  };
  // First, so that a port in use fails the start before anything connects.
  const httpServer: WorkerHttp | undefined =
    options.metricsPort === undefined
      ? undefined
      : await startWorkerHttp({
          host: options.metricsHost,
          port: options.metricsPort,
          registry: metrics.registry,
          readiness,
        });

  let backend: WorkerBackend;
  try {
    backend =
      dependencies.backend ??
      (await connectRedisBackend({
        redisUrl: options.redisUrl,
        namespace: options.namespace,
        workerId: options.workerId,
        circles: options.circles,
        taskTtlS: options.taskTtlSeconds,
        livenessTtlS: options.livenessTtlSeconds,
        storeQuotaBytes: options.storeQuotaBytes,
        logger,
      }));
  } catch (err) {
    await httpServer?.close();
    throw err;
  }
  const pool = new ScriptPool({
    size: options.concurrency,
    graceMs: options.deadlineGraceMs,
    heapMb: options.threadHeapMb,
    logger,
    store: backend,
  });
  const loop = new TaskLoop(backend, pool, options, logger, metrics);
  Object.assign(started, { backend, pool, loop });
  try {
    await pool.start();
    await loop.start();
  } catch (err) {
    await loop.stop();
    await pool.close();
    await backend.close();
    await httpServer?.close();
    throw err;
  }
  logger.info(
    {
      circles: options.circles,
      concurrency: options.concurrency,
      ...(httpServer ? { metricsUrl: httpServer.url } : {}),
    },
    'worker started',
  );

  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      await loop.stop();
      await pool.close();
      metrics.requeued.inc(await requeueLeftovers(backend, logger));
      await backend.close();
      await httpServer?.close();
      logger.info('worker stopped');
    })();
    return stopping;
  };
  return {
    workerId: options.workerId,
    circles: options.circles,
    busyThreads: () => pool.busyThreads,
    metrics: metrics.registry,
    metricsUrl: httpServer?.url,
    stop,
  };
}

/** Puts every id this worker still holds back in its queue; bounded, as Redis may be down. */
async function requeueLeftovers(backend: WorkerBackend, logger: Logger): Promise<number> {
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
    return moved;
  } catch (err) {
    logger.warn(
      { err: String(err) },
      'could not re-queue unfinished tasks; they return when the liveness key expires',
    );
    return 0;
  } finally {
    clearTimeout(timer);
  }
}
