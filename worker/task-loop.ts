import type { Logger } from '../log';
import type {
  ClaimedTask,
  HeldTask,
  StoredCircleStore,
  StoredTask,
  TaskOutcome,
  WorkerBackend,
} from './backend';
import type { WorkerOptions } from './options';
import type { ScriptJob } from './script-job';
import type { PoolResult, ScriptPool } from './script-pool';
import { ResultWriter } from './result-writer';
import { planTask, type TaskPlan } from './task-plan';

type RunPlan = Extract<TaskPlan, { kind: 'run' }>;

/** The settings the loop reads. */
export type TaskLoopSettings = Pick<
  WorkerOptions,
  | 'batchSize'
  | 'blockTimeoutMs'
  | 'playTimeoutMs'
  | 'maxScriptBytes'
  | 'drainTimeoutMs'
  | 'reclaimIntervalMs'
  | 'livenessRefreshMs'
>;

/** What the loop needs from a script pool. */
export type ScriptRunner = Pick<ScriptPool, 'run' | 'cancelQueued'>;

const BACKOFF_START_MS = 100;
const BACKOFF_MAX_MS = 2_000;
/** Batches taken ahead of the threads, so they never wait on a Redis round trip. */
const BATCHES_AHEAD = 2;

const heldKey = (task: HeldTask): string => `${task.circlePk}/${task.taskId}`;

/**
 * The worker proper: takes batches of task ids, validates them, runs their scripts on the
 * pool and writes the results, through a `WorkerBackend` (no Redis in here).
 *
 * Scripts that use the circle store run one after another per circle, each seeing the
 * writes of the one before (as a single-threaded rhailib worker would); all other scripts
 * run in parallel.
 */
export class TaskLoop {
  private readonly maxInFlight: number;
  /** Held tasks between take and their result being written. */
  private readonly inFlight = new Set<string>();
  private readonly batches = new Set<Promise<void>>();
  private readonly storeTails = new Map<string, Promise<void>>();
  private readonly results: ResultWriter;
  /** Sleepers woken when a task settles (room to take more) or stop begins. */
  private readonly roomWaiters = new Set<() => void>();
  /** Backoff sleepers, woken only when stop begins. */
  private readonly backoffWaiters = new Set<() => void>();
  private readonly timers: NodeJS.Timeout[] = [];
  /** Own held ids seen untracked at the last reclaim pass (requeued if still so at the next). */
  private orphanSuspects = new Set<string>();
  private takeLoopDone: Promise<void> = Promise.resolve();
  private stopping = false;
  /** Set when the drain timeout has passed: retries give up, late results are dropped. */
  private abandoned = false;
  private stopped: Promise<void> | null = null;

  constructor(
    private readonly backend: WorkerBackend,
    private readonly pool: ScriptRunner,
    private readonly settings: TaskLoopSettings,
    private readonly logger: Logger,
  ) {
    this.maxInFlight = settings.batchSize * BATCHES_AHEAD;
    this.results = new ResultWriter((outcomes) =>
      this.retrying('write results', () => this.backend.complete(outcomes, new Date().toISOString())),
    );
  }

  /** Announces liveness, recovers work left by a previous run or by dead workers, and starts taking. */
  async start(): Promise<void> {
    await this.backend.refreshLiveness();
    const own = await this.backend.requeueAllHeld();
    if (own > 0) this.logger.info({ count: own }, 're-queued tasks held by a previous run of this worker id');
    await this.backend.reclaimDead();
    this.every(this.settings.livenessRefreshMs, () => this.backend.refreshLiveness(), 'liveness refresh');
    this.every(this.settings.reclaimIntervalMs, () => this.reclaim(), 'reclaim');
    this.takeLoopDone = this.takeLoop();
  }

  /**
   * Stops taking, withdraws unstarted scripts, and waits up to the drain timeout for the
   * rest. Ids not finished by then stay in the processing list for the caller to re-queue.
   */
  stop(): Promise<void> {
    this.stopped ??= (async () => {
      this.stopping = true;
      for (const timer of this.timers) clearInterval(timer);
      this.wakeAll();
      await this.backend.stopTaking();
      const withdrawn = this.pool.cancelQueued();
      if (withdrawn > 0) this.logger.info({ count: withdrawn }, 'withdrew unstarted tasks');
      await this.takeLoopDone;
      let timer: NodeJS.Timeout | undefined;
      const drained = await Promise.race([
        Promise.allSettled([...this.batches]).then(() => true),
        new Promise<false>((resolve) => {
          timer = setTimeout(() => resolve(false), this.settings.drainTimeoutMs);
        }),
      ]);
      clearTimeout(timer);
      if (!drained)
        this.logger.warn(
          { inFlight: this.inFlight.size },
          'drain timeout: leaving unfinished tasks to be re-queued',
        );
      this.abandoned = true;
      this.wakeAll();
    })();
    return this.stopped;
  }

  private async takeLoop(): Promise<void> {
    let backoff = BACKOFF_START_MS;
    while (!this.stopping) {
      if (this.inFlight.size >= this.maxInFlight) {
        await this.sleep(BACKOFF_MAX_MS, this.roomWaiters);
        continue;
      }
      let held: HeldTask[];
      let claimed: ClaimedTask[] | null = null;
      try {
        const room = Math.min(this.settings.batchSize, this.maxInFlight - this.inFlight.size);
        if (this.backend.takeClaimed) {
          claimed = await this.backend.takeClaimed(room, this.settings.blockTimeoutMs);
          held = claimed.map((entry) => entry.task);
        } else {
          held = await this.backend.take(room, this.settings.blockTimeoutMs);
        }
        backoff = BACKOFF_START_MS;
      } catch (err) {
        if (this.stopping) break;
        this.logger.warn({ err: String(err) }, 'taking tasks failed; retrying');
        await this.sleep(backoff, this.backoffWaiters);
        backoff = Math.min(backoff * 2, BACKOFF_MAX_MS);
        continue;
      }
      // Taken after stop began: left in the processing list, which stop re-queues.
      if (this.stopping || held.length === 0) continue;
      for (const task of held) this.inFlight.add(heldKey(task));
      const batch = this.handleBatch(
        held,
        claimed?.map((entry) => entry.stored),
      )
        .catch((err: unknown) => this.logger.error({ err: String(err) }, 'batch failed'))
        .finally(() => this.batches.delete(batch));
      this.batches.add(batch);
    }
  }

  /** Runs a batch; `claimed` holds its hashes when the take already claimed it. */
  private async handleBatch(held: HeldTask[], claimed?: (StoredTask | null)[]): Promise<void> {
    const stored =
      claimed ??
      (await this.retrying('claim tasks', () => this.backend.claimTasks(held, new Date().toISOString())));
    // Claimed as stop began: nothing has started, so leave them to be re-queued.
    if (!stored || this.stopping) return this.settle(held);
    const work: Promise<void>[] = [];
    const finished: HeldTask[] = [];
    const byCircle = new Map<string, { task: HeldTask; plan: RunPlan }[]>();
    held.forEach((task, i) => {
      const plan = planTask(task, stored[i], this.settings.maxScriptBytes);
      if (plan.kind === 'finished') {
        finished.push(task);
      } else if (plan.kind === 'reject') {
        this.logger.warn({ taskId: task.taskId, error: plan.error }, 'malformed task');
        work.push(this.finish({ task, status: 'error', text: plan.error, replyToQueue: plan.replyToQueue }));
      } else if (!plan.usesStore) {
        work.push(this.runAlone(task, plan));
      } else {
        const group = byCircle.get(task.circlePk) ?? [];
        group.push({ task, plan });
        byCircle.set(task.circlePk, group);
      }
    });
    for (const [circlePk, group] of byCircle) work.push(this.withStore(circlePk, group));
    if (finished.length > 0) {
      work.push(
        this.retrying('release finished tasks', () => this.backend.release(finished)).then(() =>
          this.settle(finished),
        ),
      );
    }
    await Promise.all(work);
  }

  /** A script that does not use the store: runs in parallel with anything. */
  private async runAlone(task: HeldTask, plan: RunPlan): Promise<void> {
    const result = await this.pool.run(this.job(plan));
    if ('needsStore' in result) return this.withStore(task.circlePk, [{ task, plan }]);
    await this.finishWith(task, plan, result);
  }

  /**
   * Runs store-using scripts of one circle in order, after any earlier group of that
   * circle has written its results, each on the store as the previous one left it.
   */
  private withStore(circlePk: string, group: { task: HeldTask; plan: RunPlan }[]): Promise<void> {
    const previous = this.storeTails.get(circlePk) ?? Promise.resolve();
    const run = previous.then(async () => {
      if (this.stopping) return this.settle(group.map((item) => item.task));
      const loaded = await this.retrying('load store', () => this.backend.loadStore(circlePk));
      if (!loaded) return this.settle(group.map((item) => item.task));
      const store: StoredCircleStore = { ...loaded };
      const writes: Promise<void>[] = [];
      for (const { task, plan } of group) {
        if (this.stopping) {
          this.settle([task]);
          continue;
        }
        const result = await this.pool.run({ ...this.job(plan), store: { ...store } });
        if (result.ok && result.storeWrites) {
          Object.assign(store, result.storeWrites.sets);
          for (const key of result.storeWrites.deletes) delete store[key];
        }
        writes.push(this.finishWith(task, plan, result));
      }
      await Promise.all(writes);
    });
    const tail = run.catch(() => undefined);
    this.storeTails.set(circlePk, tail);
    void tail.then(() => {
      if (this.storeTails.get(circlePk) === tail) this.storeTails.delete(circlePk);
    });
    return run;
  }

  private job(plan: RunPlan): ScriptJob {
    return { script: plan.script, constants: plan.constants, deadlineMs: this.settings.playTimeoutMs };
  }

  private finishWith(task: HeldTask, plan: RunPlan, result: PoolResult): Promise<void> {
    if ('cancelled' in result) {
      this.settle([task]);
      return Promise.resolve();
    }
    const { replyToQueue } = plan;
    if (result.ok) {
      return this.finish({
        task,
        status: 'completed',
        text: result.output,
        replyToQueue,
        storeWrites: result.storeWrites,
      });
    }
    // A script can only ask for the store twice if something is badly wrong; fail it plainly.
    const text = 'error' in result ? result.error : 'Circle store unavailable';
    return this.finish({ task, status: 'error', text, replyToQueue });
  }

  private async finish(outcome: TaskOutcome): Promise<void> {
    const written = await this.results.write(outcome);
    if (written === false) {
      this.logger.warn(
        { taskId: outcome.task.taskId },
        'task was re-queued while running here; result dropped',
      );
    }
    this.settle([outcome.task]);
  }

  /** The tasks leave this worker's hands (finished, or left for re-queueing). */
  private settle(tasks: readonly HeldTask[]): void {
    for (const task of tasks) this.inFlight.delete(heldKey(task));
    this.wake(this.roomWaiters);
  }

  /**
   * Re-queues dead workers' tasks, and this worker's own held ids that no batch is tracking
   * at two passes in a row (a take whose reply was lost to a dropped connection).
   */
  private async reclaim(): Promise<void> {
    await this.backend.reclaimDead();
    const suspects = this.orphanSuspects;
    this.orphanSuspects = new Set();
    if (this.inFlight.size >= this.maxInFlight) return;
    const untracked = (await this.backend.listHeld()).filter((task) => !this.inFlight.has(heldKey(task)));
    const orphans = untracked.filter((task) => suspects.has(heldKey(task)));
    for (const task of untracked) if (!suspects.has(heldKey(task))) this.orphanSuspects.add(heldKey(task));
    if (orphans.length > 0) {
      const moved = await this.backend.requeue(orphans);
      this.logger.warn({ count: moved }, 're-queued orphaned tasks of this worker');
    }
  }

  /** Runs `step` until it succeeds; `undefined` once the drain timeout has passed. */
  private async retrying<T>(what: string, step: () => Promise<T>): Promise<T | undefined> {
    let backoff = BACKOFF_START_MS;
    for (;;) {
      try {
        return await step();
      } catch (err) {
        if (this.abandoned) return undefined;
        this.logger.warn({ err: String(err), what }, 'backend call failed; retrying');
        await this.sleep(backoff, this.backoffWaiters);
        if (this.abandoned) return undefined;
        backoff = Math.min(backoff * 2, BACKOFF_MAX_MS);
      }
    }
  }

  private every(ms: number, task: () => Promise<unknown>, what: string): void {
    let running = false;
    const timer = setInterval(() => {
      if (running || this.stopping) return;
      running = true;
      task()
        .catch((err: unknown) => this.logger.warn({ err: String(err), what }, 'periodic task failed'))
        .finally(() => {
          running = false;
        });
    }, ms);
    timer.unref();
    this.timers.push(timer);
  }

  /** Waits `ms`, or less if woken through `waiters`. */
  private sleep(ms: number, waiters: Set<() => void>): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      waiters.add(done);
    });
  }

  private wake(waiters: Set<() => void>): void {
    for (const wake of [...waiters]) wake();
  }

  private wakeAll(): void {
    this.wake(this.roomWaiters);
    this.wake(this.backoffWaiters);
  }
}
