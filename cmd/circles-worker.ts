#!/usr/bin/env node
/**
 * circles-worker: runs Rhai scripts queued in Redis for the given circles (SPEC §4, §6).
 * Prints `worker ready` on stdout once taking tasks; logs go to stderr.
 */
import { createLogger } from '../log';
import { startWorker } from '../worker';
import { WORKER_FLAGS, workerSchema } from './flags';
import { onShutdownSignals, runCommand } from './run-command';

void runCommand(
  {
    name: 'circles-worker',
    description: 'Run Rhai scripts queued in Redis for the given circles',
    flags: WORKER_FLAGS,
    schema: workerSchema,
  },
  async (v) => {
    const logger = createLogger(v.logLevel, 'worker', v.logFormat);
    const worker = await startWorker(
      {
        circles: v.circles.map((c) => c.pk),
        redisUrl: v.redisUrl,
        workerId: v.workerId,
        concurrency: v.concurrency,
        taskTtlSeconds: v.taskTtl,
        playTimeoutMs: v.playTimeout,
        drainTimeoutMs: v.drainTimeout,
        storeQuotaBytes: v.storeQuota,
        metricsPort: v.metricsPort,
        metricsHost: v.metricsHost,
        logLevel: v.logLevel,
        logFormat: v.logFormat,
        namespace: v.namespace,
      },
      { logger },
    );
    onShutdownSignals(() => worker.stop());
    process.stdout.write('worker ready\n');
  },
);
