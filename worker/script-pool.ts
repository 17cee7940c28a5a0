import type { ResourceLimits, Worker } from 'node:worker_threads';
import type { Logger } from '../log';
import type { WorkerBackend } from '../queue/worker-backend';
import { WorkerErrorKind } from './error-kinds';
import type {
  RunChunkMessage,
  ScriptFailure,
  ScriptJob,
  ScriptResult,
  ScriptThreadData,
  ThreadMessage,
} from './script-job';
import { spawnScriptThread } from './spawn-script-thread';
import {
  createChannelBuffer,
  StoreChannelServer,
  type StoreRequest,
  type StoreResponse,
} from './store-channel';

/** Where the threads' store requests are answered: the worker's backend. */
export type StoreService = Pick<WorkerBackend, 'readKeys' | 'listKeys'>;

/** What a pooled job ends with: a result, or `cancelled` when the pool stopped before running it. */
export type PoolResult = ScriptResult | { readonly ok: false; readonly cancelled: true };

/** Settings of a script pool. */
export interface ScriptPoolConfig {
  readonly size: number;
  /** Time past a job's deadline before its thread is terminated, ms. */
  readonly graceMs: number;
  /** Heap limit per thread, MiB (a runaway allocation kills one thread, not the worker). */
  readonly heapMb: number;
  readonly logger: Logger;
  /** Answers the scripts' store calls; without it every store call fails the script. */
  readonly store?: StoreService;
  /** Starts one thread; tests pass fakes. Defaults to the engine thread. */
  readonly spawnThread?: (data: ScriptThreadData, limits: ResourceLimits) => Worker;
}

/** The message a task gets when its thread had to be terminated. */
export const DEADLINE_EXCEEDED = 'Execution deadline exceeded';

interface QueuedJob {
  readonly job: ScriptJob;
  readonly resolve: (result: PoolResult) => void;
}

/** Jobs posted to a thread together; results come back in small groups as they finish. */
interface Chunk {
  readonly entries: readonly QueuedJob[];
  readonly finished: boolean[];
  unfinished: number;
  /** Value of the thread's progress counter when the chunk was posted. */
  readonly startSeq: number;
}

interface Slot {
  readonly thread: Worker;
  readonly progress: Int32Array;
  readonly store: StoreChannelServer;
  ready: boolean;
  chunk: Chunk | null;
  /** Watchdog: the last progress value seen, and when it changed. */
  seenSeq: number;
  seenAt: number;
}

/** Which job of `chunk` its thread is running, from the thread's progress counter `seq`. */
function runningIndex(chunk: Chunk, seq: number): number {
  return Math.max(0, seq - chunk.startSeq - 1);
}

/** Chunking amortises postMessage over small scripts; the cap keeps any one thread from hoarding. */
const MAX_CHUNK = 32;
const RESPAWN_DELAY_MS = 1_000;

function threadFailure(err: Error & { code?: string }): ScriptFailure {
  return err.code === 'ERR_WORKER_OUT_OF_MEMORY'
    ? { ok: false, error: 'Script exceeded the memory limit', errorKind: WorkerErrorKind.outOfMemory }
    : { ok: false, error: `Script thread crashed: ${err.message}`, errorKind: WorkerErrorKind.system };
}

/** A job whose thread was terminated at its deadline (what it printed went with the thread). */
const DEADLINE_FAILURE: ScriptFailure = {
  ok: false,
  error: DEADLINE_EXCEEDED,
  errorKind: WorkerErrorKind.terminated,
};

/**
 * Runs scripts on worker threads so the event loop (Redis I/O) never waits on a script.
 * A thread that overruns a job's deadline plus the grace, crashes, or runs out of heap is
 * terminated and replaced; only the job it was running fails, and the rest of its chunk
 * runs again elsewhere (scripts are side-effect free until their result is written).
 */
export class ScriptPool {
  private readonly slots: Slot[] = [];
  private readonly queue: QueuedJob[] = [];
  private dispatchScheduled = false;
  private watchdog: NodeJS.Timeout | null = null;
  private closing: Promise<void> | null = null;

  constructor(private readonly config: ScriptPoolConfig) {}

  /** Starts every thread and waits until each has loaded the engine. */
  async start(): Promise<void> {
    const started = Array.from({ length: this.config.size }, () => this.spawn());
    this.slots.push(...started.map((s) => s.slot));
    await Promise.all(started.map((s) => s.ready));
    const tick = Math.max(10, Math.min(250, Math.floor(this.config.graceMs / 2)));
    this.watchdog = setInterval(() => this.checkDeadlines(), tick);
    this.watchdog.unref();
  }

  /** Threads running a chunk of jobs right now. */
  get busyThreads(): number {
    return this.slots.filter((s) => s.chunk !== null).length;
  }

  /** Runs one job on the next free thread. */
  run(job: ScriptJob): Promise<PoolResult> {
    if (this.closing) return Promise.resolve({ ok: false, cancelled: true });
    return new Promise((resolve) => {
      this.queue.push({ job, resolve });
      this.scheduleDispatch();
    });
  }

  /**
   * Withdraws the jobs that no thread can start now (they resolve `cancelled`); returns how
   * many. Idle threads first take their share, so a job submitted just before is not lost
   * to the timing of the dispatch.
   */
  cancelQueued(): number {
    this.dispatch();
    const withdrawn = this.queue.splice(0);
    for (const entry of withdrawn) entry.resolve({ ok: false, cancelled: true });
    return withdrawn.length;
  }

  /** Terminates every thread; unfinished jobs resolve `cancelled`. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.watchdog) clearInterval(this.watchdog);
      this.cancelQueued();
      const slots = this.slots.splice(0);
      for (const slot of slots) {
        slot.chunk?.entries.forEach((entry, i) => {
          if (!slot.chunk?.finished[i]) entry.resolve({ ok: false, cancelled: true });
        });
        slot.chunk = null;
        slot.thread.removeAllListeners();
      }
      await Promise.all(slots.map((slot) => slot.thread.terminate()));
    })();
    return this.closing;
  }

  private spawn(): { slot: Slot; ready: Promise<void> } {
    const progress = new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT);
    const storeChannel = createChannelBuffer();
    const spawnThread = this.config.spawnThread ?? spawnScriptThread;
    const thread = spawnThread({ progress, storeChannel }, { maxOldGenerationSizeMb: this.config.heapMb });
    const slot: Slot = {
      thread,
      progress: new Int32Array(progress),
      store: new StoreChannelServer(storeChannel),
      ready: false,
      chunk: null,
      seenSeq: 0,
      seenAt: 0,
    };
    const ready = new Promise<void>((resolve, reject) => {
      thread.on('message', (message: ThreadMessage) => {
        if (message.type === 'ready') {
          slot.ready = true;
          resolve();
          this.scheduleDispatch();
        } else if (message.type === 'results') {
          this.onResults(slot, message.results);
        } else if (message.type === 'store') {
          this.onStoreRequest(slot, message.seq, message.request);
        } else {
          slot.store.more(message.seq);
        }
      });
      thread.on('error', (err) => {
        if (!slot.ready) reject(new Error(`script thread failed to start: ${err.message}`));
        else this.replace(slot, threadFailure(err));
      });
      thread.on('exit', (code) => {
        if (!slot.ready) reject(new Error(`script thread exited during start (code ${code})`));
        else
          this.replace(slot, {
            ok: false,
            error: `Script thread exited (code ${code})`,
            errorKind: WorkerErrorKind.system,
          });
      });
    });
    return { slot, ready };
  }

  private scheduleDispatch(): void {
    if (this.dispatchScheduled) return;
    this.dispatchScheduled = true;
    // Deferred so that a batch queued in one synchronous run is split across threads in one
    // go; a microtask rather than a later turn, so the jobs leave with no added latency.
    queueMicrotask(() => {
      this.dispatchScheduled = false;
      this.dispatch();
    });
  }

  private dispatch(): void {
    const idle = this.slots.filter((slot) => slot.ready && slot.chunk === null);
    for (let i = 0; i < idle.length && this.queue.length > 0; i++) {
      const size = Math.min(MAX_CHUNK, Math.ceil(this.queue.length / (idle.length - i)));
      const entries = this.queue.splice(0, size);
      const slot = idle[i];
      const startSeq = Atomics.load(slot.progress, 0);
      slot.chunk = { entries, finished: entries.map(() => false), unfinished: entries.length, startSeq };
      slot.seenSeq = startSeq;
      slot.seenAt = Date.now();
      const message: RunChunkMessage = { type: 'run', jobs: entries.map((entry) => entry.job) };
      try {
        slot.thread.postMessage(message);
      } catch {
        // A job that cannot be copied to a thread (a 100,000-level `event` overflows the
        // structured clone) must fail alone, never take the process down.
        slot.chunk = null;
        this.postOneByOne(entries);
      }
    }
  }

  /** Posts the jobs of a chunk that failed to copy one at a time; the ones that fail again get an error. */
  private postOneByOne(entries: QueuedJob[]): void {
    const postable: QueuedJob[] = [];
    for (const entry of entries) {
      try {
        structuredClone(entry.job);
        postable.push(entry);
      } catch {
        entry.resolve({
          ok: false,
          error: 'Task input cannot be handed to a script thread (nested too deeply or too large)',
          errorKind: WorkerErrorKind.malformedTask,
        });
      }
    }
    this.queue.unshift(...postable);
    this.scheduleDispatch();
  }

  private onResults(slot: Slot, results: readonly { index: number; result: ScriptResult }[]): void {
    const chunk = slot.chunk;
    if (!chunk) return;
    for (const { index, result } of results) {
      if (chunk.finished[index]) continue;
      chunk.finished[index] = true;
      chunk.unfinished--;
      chunk.entries[index].resolve(result);
    }
    if (chunk.unfinished === 0) {
      slot.chunk = null;
      this.scheduleDispatch();
    }
  }

  /** Answers a thread's store call for the circle of the job it is running (never another). */
  private onStoreRequest(slot: Slot, seq: number, request: StoreRequest): void {
    const chunk = slot.chunk;
    const job = chunk?.entries[runningIndex(chunk, Atomics.load(slot.progress, 0))]?.job;
    const service = this.config.store;
    if (!job || !service) {
      slot.store.answer(seq, { ok: false, error: 'no circle store is attached to this worker' });
      return;
    }
    const answer: Promise<StoreResponse> =
      request.op === 'read'
        ? service.readKeys(job.circlePk, request.keys).then((entries) => ({ ok: true, entries }))
        : service
            .listKeys(job.circlePk, request.prefix, request.limit)
            .then((listing) => ({ ok: true, listing }));
    answer.then(
      (response) => slot.store.answer(seq, response),
      (err: unknown) =>
        slot.store.answer(seq, { ok: false, error: err instanceof Error ? err.message : String(err) }),
    );
  }

  private checkDeadlines(): void {
    const now = Date.now();
    for (const slot of [...this.slots]) {
      const chunk = slot.chunk;
      if (!chunk) continue;
      const seq = Atomics.load(slot.progress, 0);
      if (seq !== slot.seenSeq) {
        slot.seenSeq = seq;
        slot.seenAt = now;
        continue;
      }
      const running = runningIndex(chunk, seq);
      const job = chunk.entries[running]?.job;
      if (job && now - slot.seenAt > job.deadlineMs + this.config.graceMs) {
        this.config.logger.warn(
          { deadlineMs: job.deadlineMs },
          'script overran its deadline; terminating its thread',
        );
        this.replace(slot, DEADLINE_FAILURE);
      }
    }
  }

  /** Fails the job `slot` was running with `failure`, re-queues the rest of its chunk, and replaces the thread. */
  private replace(slot: Slot, failure: ScriptFailure): void {
    const index = this.slots.indexOf(slot);
    if (index < 0) return;
    slot.thread.removeAllListeners();
    slot.thread.terminate().catch(() => undefined);
    const chunk = slot.chunk;
    if (chunk) {
      const running = runningIndex(chunk, Atomics.load(slot.progress, 0));
      const rest: QueuedJob[] = [];
      chunk.entries.forEach((entry, i) => {
        if (chunk.finished[i]) return;
        if (i === running) entry.resolve(failure);
        else rest.push(entry);
      });
      this.queue.unshift(...rest);
    }
    const fresh = this.spawn();
    this.slots[index] = fresh.slot;
    fresh.ready.catch((err: unknown) => {
      this.config.logger.error({ err: String(err) }, 'replacement script thread failed; retrying');
      setTimeout(() => {
        if (!this.closing && this.slots[index] === fresh.slot) this.replace(fresh.slot, failure);
      }, RESPAWN_DELAY_MS).unref();
    });
    this.scheduleDispatch();
  }
}
