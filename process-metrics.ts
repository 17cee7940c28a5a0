import { collectDefaultMetrics, Registry } from 'prom-client';

let processRegistry: Registry | undefined;

/**
 * prom-client's default process and runtime metrics (`process_cpu_user_seconds_total`,
 * `nodejs_eventloop_lag_seconds`, heap, GC, handles...), created once per process: they
 * describe the process, not one server, and each `collectDefaultMetrics` call starts its own
 * event-loop monitor and GC observer, which several servers in one process (specs, embedding
 * apps) must not multiply. Every registry that wants them registers these same objects.
 */
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

/** Adds the process-wide default metrics to `registry`. */
export function addProcessMetrics(registry: Registry): void {
  includeRegistry(registry, processMetrics());
}

/**
 * Registers every metric of `source` in `target` too (the same objects, so a scrape of
 * `target` reads their current values). Metrics `target` already holds (the shared process
 * metrics) are skipped; another metric of the same name is a programming error.
 */
export function includeRegistry(target: Registry, source: Registry): void {
  for (const { name } of source.getMetricsAsArray()) {
    const metric = source.getSingleMetric(name);
    const existing = target.getSingleMetric(name);
    if (!metric || existing === metric) continue;
    if (existing) throw new Error(`metric ${name} is already registered with another definition`);
    target.registerMetric(metric);
  }
}
