/**
 * Runs load-generator threads (load-worker.ts) and merges what they measured. The process
 * running this is the generator: its own CPU use over the run is reported so a reader can
 * see whether the generator, not the server, was the limit.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { Histogram } from './histogram';
import type { FromWorker, LoadResult, LoadTask } from './load-protocol';

export interface LoadSummary {
  /** Operations per second inside the measurement window (summed over threads). */
  rate: number;
  count: number;
  errors: number;
  p50Us: number;
  p99Us: number;
  maxUs: number;
  notes: string[];
}

export interface LoadRun {
  results: LoadResult[];
  /** Generator CPU over the run, in % of one core (the generator is pinned to one core). */
  genCpuPct: number;
  /** Per-thread event-loop utilisation, 0..1. */
  elu: number[];
  /** What `onReady` returned (idle sessions use it to read server memory while they are held). */
  readyInfo: { opened?: number; failed?: number }[];
}

const WORKER_JS = path.join(__dirname, 'load-worker.js');

/** Threads the generator uses; one core runs them all when pinned, so more would only add switching. */
export const GENERATOR_THREADS = Math.max(2, Math.min(4, os.availableParallelism()));

/**
 * Starts one thread per task, waits until every thread has connected (`ready`), calls
 * `onReady`, then releases them together and collects their results.
 */
export async function runLoad(tasks: LoadTask[], onReady?: () => Promise<void>): Promise<LoadRun> {
  const workers = tasks.map((t) => new Worker(WORKER_JS, { workerData: t }));
  const readyInfo: LoadRun['readyInfo'] = [];
  const done = workers.map(
    (w, i) =>
      new Promise<LoadResult>((resolve, reject) => {
        w.on('message', (m: FromWorker) => {
          if (m.type === 'ready') readyInfo[i] = { opened: m.opened, failed: m.failed };
          else if (m.type === 'done') resolve(m.result);
          else reject(new Error(`load thread: ${m.message}`));
        });
        w.on('error', reject);
        w.on('exit', (code) => reject(new Error(`load thread exited ${code}`)));
      }),
  );
  try {
    await waitUntil(() => readyInfo.filter(Boolean).length === tasks.length, done, 600_000);
    if (onReady) await onReady();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    workers.forEach((w) => w.postMessage({ type: 'go' }));
    const results = await Promise.all(done);
    const wallMs = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    return {
      results,
      genCpuPct: ((cpu.user + cpu.system) / 1000 / wallMs) * 100,
      elu: results.map((r) => r.elu),
      readyInfo,
    };
  } finally {
    await Promise.allSettled(workers.map((w) => w.terminate()));
  }
}

async function waitUntil(
  cond: () => boolean,
  failFast: Promise<unknown>[],
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let failure: unknown;
  failFast.forEach((p) => p.catch((e: unknown) => (failure ??= e)));
  while (!cond()) {
    if (failure) throw failure instanceof Error ? failure : new Error(String(failure));
    if (Date.now() > deadline) throw new Error('load threads did not become ready');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Merges the results of some threads (e.g. only the bystanders of a storm). */
export function summarise(results: LoadResult[]): LoadSummary {
  const hist = new Histogram();
  let count = 0;
  let errors = 0;
  let rate = 0;
  const notes: string[] = [];
  for (const r of results) {
    hist.merge(new Histogram(r.hist));
    count += r.count;
    errors += r.errors;
    if (r.elapsedMs > 0) rate += r.count / (r.elapsedMs / 1000);
    if (r.note) notes.push(r.note);
  }
  return {
    rate,
    count,
    errors,
    p50Us: hist.percentile(50),
    p99Us: hist.percentile(99),
    maxUs: hist.max,
    notes,
  };
}

/** Splits `total` into `parts` near-equal positive shares (drops empty ones). */
export function split(total: number, parts: number): number[] {
  const n = Math.max(1, Math.min(parts, total));
  return Array.from({ length: n }, (_, i) => Math.floor(total / n) + (i < total % n ? 1 : 0));
}
