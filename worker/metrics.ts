import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { addProcessMetrics } from '../process-metrics';

/** Why a task was answered with an error (`circles_worker_tasks_failed_total{reason}`). */
export const FAILURE_REASONS = ['script', 'malformed', 'store_conflict', 'store_quota', 'expired'] as const;
export type FailureReason = (typeof FAILURE_REASONS)[number];

/**
 * A worker's Prometheus metrics. Registered in `registry` (default: a new one holding the
 * process metrics too), which the worker serves on `/metrics` and an in-process gateway can
 * include in its own (`Metrics.include`). No label names a caller or a task.
 */
export function createWorkerMetrics(
  registry: Registry = new Registry(),
  threads: { size: number; busy: () => number },
) {
  addProcessMetrics(registry);
  const registers = [registry];
  const failed = new Counter({
    name: 'circles_worker_tasks_failed_total',
    help: 'Tasks answered with an error, by reason: the script failed (error or deadline), the task was malformed, its store reads kept going stale, its writes were over quota, or its caller had stopped waiting before it ran',
    labelNames: ['reason'] as const,
    registers,
  });
  for (const reason of FAILURE_REASONS) failed.inc({ reason }, 0);
  return {
    registry,
    taken: new Counter({
      name: 'circles_worker_tasks_taken_total',
      help: 'Task ids taken off the work queues',
      registers,
    }),
    completed: new Counter({
      name: 'circles_worker_tasks_completed_total',
      help: 'Tasks answered with a result',
      registers,
    }),
    failed,
    requeued: new Counter({
      name: 'circles_worker_tasks_requeued_total',
      help: 'Tasks this worker put back in their queue unfinished (stop, a lost take, a previous run of its id)',
      registers,
    }),
    reclaimed: new Counter({
      name: 'circles_worker_tasks_reclaimed_total',
      help: "Dead workers' tasks this worker re-queued",
      registers,
    }),
    scriptSeconds: new Histogram({
      name: 'circles_worker_script_duration_seconds',
      help: 'Time from handing a script to the engine (waiting for a free thread included) to its result',
      buckets: [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    conflictReruns: new Counter({
      name: 'circles_worker_store_conflict_reruns_total',
      help: 'Scripts run again because what they read from the circle store changed before they committed',
      registers,
    }),
    threadsBusy: new Gauge({
      name: 'circles_worker_threads_busy',
      help: 'Script threads running a script now',
      registers,
      collect() {
        this.set(threads.busy());
      },
    }),
    threads: new Gauge({
      name: 'circles_worker_threads',
      help: 'Script threads of this worker',
      registers,
      collect() {
        this.set(threads.size);
      },
    }),
  };
}

export type WorkerMetrics = ReturnType<typeof createWorkerMetrics>;
