import type { Logger } from '../log';
import { markPlay, markPlays } from '../play-trace';
import type {
  ClaimedTask,
  CompleteResult,
  HeldTask,
  TaskOutcome,
  WorkerBackend,
} from '../queue/worker-backend';
import type { WorkerOptions } from './options';
import type { ScriptJob } from './script-job';
import type { PoolResult, ScriptPool } from './script-pool';
import { WorkerErrorKind } from './error-kinds';
import { InlineRunner } from './inline-runner';
import type { FailureReason, WorkerMetrics } from './metrics';
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
export type TaskLoopPool = Pick<ScriptPool, 'run' | 'cancelQueued'>;

/**
 * A backstop on the runs of one task whose store reads keep going stale (with the pauses
 * between lost rounds, a play timeout of 30 s holds about 800). The bound that counts is time: a task re-runs while its caller still waits (its deadline, see
 * `deadlineOf`), then fails with `Circle store conflict`. Reruns of a circle go one at a time
 * in this worker, so only other workers can overtake them, and every lost round is another
 * play's commit: a worker slowed down (a busy CPU) can lose a round per play another worker
 * has queued — 50 in a row was seen with 2 workers × 200 increments — so a count alone
 * failed plays whose callers were still waiting.
 */
export const MAX_STORE_RUNS = 1_000;

/** Slack on a play's deadline for the submitting host's clock being ahead of ours. */
export const SUBMIT_CLOCK_GRACE_MS = 1_000;
/** The error of a play whose caller had already been told -32003 when a worker took it. */
export const PLAY_EXPIRED =
  'Play expired before it ran: its caller stopped waiting one play timeout after submitting it (-32003); nothing was run';
/**
 * Lost rounds before a conflicted task pauses between re-runs: more than contention
 * alone has needed (19 runs at most, seen under two CPU hogs), so pauses only meet starvation, where they cut the
 * spinning; pausing from 5 lost rounds cost bench (g) about a fifth of its contended rate.
 */
const CONFLICT_BACKOFF_AFTER = 20;
const CONFLICT_BACKOFF_MAX_MS = 50;
/** 1, 2, 4 … 50 ms after the `run`th lost round, each between half and all of it. */
const conflictBackoffMs = (run: number): number =>
  Math.min(CONFLICT_BACKOFF_MAX_MS, 2 ** (run - CONFLICT_BACKOFF_AFTER)) * (0.5 + Math.random() / 2);
const BACKOFF_START_MS = 100;
const BACKOFF_MAX_MS = 2_000;
/** Batches taken ahead of the threads, so they never wait on a Redis round trip. */
const BATCHES_AHEAD = 2;

const heldKey = (task: HeldTask): string => `${task.circlePk}/${task.taskId}`;

/**
 * The worker proper: takes batches of task ids, validates them, runs their scripts on the
 * pool and writes the results, through a `WorkerBackend` (no Redis in here).
 *
 * Every script runs in parallel, store-using or not: a script reads its circle's store on
 * demand and its result commits only if what it read is still current (SPEC §4). A run
 * whose reads went stale is run again on fresh data; such reruns of one circle queue in
 * that circle's lane, so this worker never races itself twice on the same data, and while
 * the lane is busy the circle's new store scripts queue there too (optimistic when a
 * circle is quiet, one at a time per worker when it is contended).
 */
export class TaskLoop {
  private readonly maxInFlight: number;
  /** Held tasks between take and their result being written. */
  private readonly inFlight = new Set<string>();
  private readonly batches = new Set<Promise<void>>();
  /** Per circle: the tail of its conflicted reruns, run one after another. */
  private readonly lanes = new Map<string, Promise<void>>();
  private readonly results: ResultWriter;
  private readonly inline = new InlineRunner();
  /** Sleepers woken when a task settles (room to take more) or stop begins. */
  private readonly roomWaiters = new Set<() => void>();
  /** Backoff sleepers, woken only when stop begins. */
  private readonly backoffWaiters = new Set<() => void>();
  private readonly timers: NodeJS.Timeout[] = [];
  /** Own held ids seen untracked at the last reclaim pass (requeued if still so at the next). */
  private orphanSuspects = new Set<string>();
  private takeLoopDone: Promise<void> = Promise.resolve();
  private stopping = false;
  private started = false;
  /** Set when the drain timeout has passed: retries give up, late results are dropped. */
  private abandoned = false;
  private stopped: Promise<void> | null = null;

  constructor(
    private readonly backend: WorkerBackend,
    private readonly pool: TaskLoopPool,
    private readonly settings: TaskLoopSettings,
    private readonly logger: Logger,
    private readonly metrics?: WorkerMetrics,
  ) {
    this.maxInFlight = settings.batchSize * BATCHES_AHEAD;
    this.results = new ResultWriter((outcomes) =>
      this.retrying('write results', () => this.backend.complete(outcomes, new Date().toISOString())),
    );
  }

  /** Whether the take loop runs (started, and stop has not begun). */
  get taking(): boolean {
    return this.started && !this.stopping;
  }

  /** Announces liveness, recovers work left by a previous run or by dead workers, and starts taking. */
  async start(): Promise<void> {
    await this.backend.refreshLiveness();
    const own = await this.backend.requeueAllHeld();
    if (own > 0) this.logger.info({ count: own }, 're-queued tasks held by a previous run of this worker id');
    this.metrics?.requeued.inc(own);
    this.metrics?.reclaimed.inc(await this.backend.reclaimDead());
    this.every(this.settings.livenessRefreshMs, () => this.backend.refreshLiveness(), 'liveness refresh');
    this.every(this.settings.reclaimIntervalMs, () => this.reclaim(), 'reclaim');
    this.takeLoopDone = this.takeLoop();
    this.started = true;
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
    let takeFailed = false;
    while (!this.stopping) {
      if (takeFailed) {
        // A take whose answer was lost (Redis restarted mid-call) may have moved ids into our
        // processing lists that nothing here tracks: put them back now, not at the reclaim.
        try {
          await this.requeueHeld(
            await this.untrackedHeld(),
            're-queued tasks of a take whose answer was lost',
          );
          takeFailed = false;
        } catch {
          // still unreachable: try again before taking more
          if (this.stopping) break;
          await this.sleep(backoff, this.backoffWaiters);
          backoff = Math.min(backoff * 2, BACKOFF_MAX_MS);
          continue;
        }
      }
      if (this.inFlight.size >= this.maxInFlight) {
        await this.sleep(BACKOFF_MAX_MS, this.roomWaiters);
        continue;
      }
      let claimed: ClaimedTask[];
      try {
        const room = Math.min(this.settings.batchSize, this.maxInFlight - this.inFlight.size);
        claimed = await this.backend.take(room, this.settings.blockTimeoutMs);
        backoff = BACKOFF_START_MS;
      } catch (err) {
        if (this.stopping) break;
        this.logger.warn({ err: String(err) }, 'taking tasks failed; retrying');
        takeFailed = true;
        await this.sleep(backoff, this.backoffWaiters);
        backoff = Math.min(backoff * 2, BACKOFF_MAX_MS);
        continue;
      }
      const held = claimed.map((entry) => entry.task);
      markPlays(held, (task) => task.taskId, 'taken');
      this.metrics?.taken.inc(held.length);
      // Taken after stop began: left in the processing list, which stop re-queues.
      if (this.stopping || held.length === 0) continue;
      for (const task of held) this.inFlight.add(heldKey(task));
      const batch = this.handleBatch(claimed)
        .catch((err: unknown) => this.logger.error({ err: String(err) }, 'batch failed'))
        .finally(() => this.batches.delete(batch));
      this.batches.add(batch);
    }
  }

  /** Runs a claimed batch. */
  private async handleBatch(claimed: readonly ClaimedTask[]): Promise<void> {
    // Claimed as stop began: nothing has started, so leave them to be re-queued.
    if (this.stopping) return this.settle(claimed.map((entry) => entry.task));
    const work: Promise<void>[] = [];
    const finished: HeldTask[] = [];
    for (const { task, stored } of claimed) {
      const plan = planTask(task, stored, this.settings.maxScriptBytes);
      if (plan.kind === 'finished') {
        finished.push(task);
      } else if (plan.kind === 'foreign') {
        this.logger.warn({ taskId: task.taskId.slice(0, 80) }, 'not a task id; dropped without writing');
        finished.push(task);
      } else if (plan.kind === 'reject') {
        this.logger.warn({ taskId: task.taskId, error: plan.error }, 'malformed task');
        work.push(
          this.finish(
            {
              task,
              status: 'error',
              text: plan.error,
              replyToQueue: plan.replyToQueue,
              detail: { errorKind: WorkerErrorKind.malformedTask },
            },
            'malformed',
          ),
        );
      } else {
        work.push(this.runTask(task, plan));
      }
    }
    if (finished.length > 0) {
      work.push(
        this.retrying('release finished tasks', () => this.backend.release(finished)).then(() =>
          this.settle(finished),
        ),
      );
    }
    await Promise.all(work);
  }

  /**
   * Runs a task's script and commits its outcome. If its reads went stale before the commit,
   * runs it again on fresh data, in its circle's lane, until its deadline.
   */
  private async runTask(task: HeldTask, plan: RunPlan): Promise<void> {
    const deadline = this.deadlineOf(plan);
    const rerunInLane = (first: number): Promise<void> =>
      this.inLane(task.circlePk, async () => {
        for (let run = first; ; run++) {
          if ((await this.runOnce(task, plan, run, deadline)) !== 'conflict') return;
          this.metrics?.conflictReruns.inc();
          // past that many lost rounds another worker is winning them: give its commits room
          // (jittered, growing) instead of spinning until the deadline
          if (run >= CONFLICT_BACKOFF_AFTER) await this.sleep(conflictBackoffMs(run), this.backoffWaiters);
        }
      });
    // While a circle is contended here, its store scripts join the lane at once: running them
    // in parallel would only produce more conflicts (and starve the lane's reruns).
    if (plan.mentionsStore && this.lanes.has(task.circlePk)) return rerunInLane(1);
    if ((await this.runOnce(task, plan, 1, deadline)) !== 'conflict') return;
    this.metrics?.conflictReruns.inc();
    await rerunInLane(2);
  }

  /** One run and its commit; `conflict` when it must run again. */
  private async runOnce(
    task: HeldTask,
    plan: RunPlan,
    run: number,
    deadline: number,
  ): Promise<'conflict' | 'done'> {
    let backoff = BACKOFF_START_MS;
    let result: PoolResult;
    for (;;) {
      if (this.stopping && run > 1) {
        this.settle([task]);
        return 'done';
      }
      const budget = deadline - Date.now();
      if (budget <= 0) {
        // before its first run: the caller had already been told -32003; after: it lost
        // every round to other workers' commits for as long as its caller waited
        await (run === 1
          ? this.finish(
              {
                task,
                status: 'error',
                text: PLAY_EXPIRED,
                replyToQueue: plan.replyToQueue,
                detail: { errorKind: WorkerErrorKind.playExpired },
              },
              'expired',
            )
          : this.failConflicted(task, plan, run - 1));
        return 'done';
      }
      const timer = this.metrics?.scriptSeconds.startTimer();
      const inline = plan.mentionsStore ? undefined : this.inline.tryRun(this.job(task, plan, budget));
      result = inline ?? (await this.pool.run(this.job(task, plan, budget, await this.prefetch(task, plan))));
      if (!('retry' in result)) {
        if (!('cancelled' in result)) timer?.();
        markPlay(task.taskId, 'ran');
        break;
      }
      // The store could not be reached: nothing the run did counts; try again after a pause.
      this.logger.warn(
        { taskId: task.taskId, reason: result.retry },
        'circle store unavailable; running again',
      );
      if (this.abandoned) break;
      await this.sleep(backoff, this.backoffWaiters);
      backoff = Math.min(backoff * 2, BACKOFF_MAX_MS);
    }
    if ('cancelled' in result || 'retry' in result) {
      this.settle([task]);
      return 'done';
    }
    const { replyToQueue } = plan;
    // Each run carries its own logs: only those of the run whose result commits are written.
    const outcome: TaskOutcome = result.ok
      ? {
          task,
          status: 'completed',
          text: result.output,
          replyToQueue,
          store: result.store,
          detail: result.logs ? { logs: result.logs } : undefined,
        }
      : {
          task,
          status: 'error',
          text: result.error,
          replyToQueue,
          store: result.store,
          detail: {
            errorKind: result.errorKind,
            errorLine: result.errorLine,
            errorPosition: result.errorPosition,
            logs: result.logs,
          },
        };
    const written = await this.results.write(outcome);
    if (written === 'conflict') {
      if (run < MAX_STORE_RUNS) return 'conflict';
      await this.failConflicted(task, plan, run);
      return 'done';
    }
    if (written === 'quota') {
      const text =
        "Circle store quota exceeded: the script's writes would take the store over its limit; nothing was written";
      const detail = { errorKind: WorkerErrorKind.storeQuota, logs: result.logs };
      await this.finish({ task, status: 'error', text, replyToQueue, detail }, 'store_quota');
      return 'done';
    }
    this.settleWritten(outcome, written, 'script');
    return 'done';
  }

  /** Runs `step` after the circle's earlier conflicted reruns. */
  private inLane(circlePk: string, step: () => Promise<void>): Promise<void> {
    const run = (this.lanes.get(circlePk) ?? Promise.resolve()).then(step);
    const tail = run.catch(() => undefined);
    this.lanes.set(circlePk, tail);
    void tail.then(() => {
      if (this.lanes.get(circlePk) === tail) this.lanes.delete(circlePk);
    });
    return run;
  }

  private job(
    task: HeldTask,
    plan: RunPlan,
    deadlineMs: number,
    prefetched?: ScriptJob['prefetched'],
  ): ScriptJob {
    return {
      script: plan.script,
      circlePk: task.circlePk,
      constants: plan.constants,
      deadlineMs,
      prefetched,
    };
  }

  /**
   * When a task's time is up (epoch ms), its conflicted re-runs included: a play's caller is
   * told -32003 one play timeout after submitting it, so nothing runs past that (plus a grace
   * for clocks of different hosts); a webhook event has nobody waiting and gets one play
   * timeout from when it starts here. A run never gets more than one play timeout.
   */
  private deadlineOf(plan: RunPlan): number {
    const full = this.settings.playTimeoutMs;
    const now = Date.now();
    if (plan.submittedAt === undefined) return now + full;
    return Math.min(now + full, plan.submittedAt + full + SUBMIT_CLOCK_GRACE_MS);
  }

  /** Answers a task whose reads kept going stale for `runs` runs (nothing was written). */
  private failConflicted(task: HeldTask, plan: RunPlan, runs: number): Promise<void> {
    const text = `Circle store conflict: other plays changed what the script read before it could commit, ${runs} runs in a row; nothing was written`;
    return this.finish(
      {
        task,
        status: 'error',
        text,
        replyToQueue: plan.replyToQueue,
        // no run committed, so no run's logs either
        detail: { errorKind: WorkerErrorKind.storeConflict },
      },
      'store_conflict',
    );
  }

  /**
   * Reads the keys a script names literally before it runs: here the read waits on the event
   * loop (concurrent ones share a write to Redis), where the script thread would block on
   * each. If it fails, the script reads on demand (and fails or retries as usual).
   */
  private async prefetch(task: HeldTask, plan: RunPlan): Promise<ScriptJob['prefetched']> {
    if (plan.literalKeys.length === 0) return undefined;
    try {
      const entries = await this.backend.readKeys(task.circlePk, plan.literalKeys);
      return plan.literalKeys.map((key, i) => [key, entries[i]!] as const);
    } catch {
      return undefined;
    }
  }

  /** Writes an outcome that has no store reads to check; `reason` says why it is an error. */
  private async finish(outcome: TaskOutcome, reason: FailureReason): Promise<void> {
    this.settleWritten(outcome, await this.results.write(outcome), reason);
  }

  /** Counts a written outcome (`reason`: why, if it is an error) and lets its task go. */
  private settleWritten(
    outcome: TaskOutcome,
    written: CompleteResult | undefined,
    reason: FailureReason,
  ): void {
    const { task } = outcome;
    if (written === 'not-held') {
      this.logger.warn({ taskId: task.taskId }, 'task was re-queued while running here; result dropped');
    } else if (written === 'written' && this.metrics) {
      if (outcome.status === 'completed') this.metrics.completed.inc();
      else this.metrics.failed.inc({ reason });
    }
    this.settle([task]);
  }

  /** The tasks leave this worker's hands (finished, or left for re-queueing). */
  private settle(tasks: readonly HeldTask[]): void {
    for (const task of tasks) this.inFlight.delete(heldKey(task));
    this.wake(this.roomWaiters);
  }

  /** This worker's held ids that no batch is tracking. */
  private async untrackedHeld(): Promise<HeldTask[]> {
    return (await this.backend.listHeld()).filter((task) => !this.inFlight.has(heldKey(task)));
  }

  /** Moves held ids back to the front of their queues, saying why. */
  private async requeueHeld(tasks: readonly HeldTask[], why: string): Promise<void> {
    if (tasks.length === 0) return;
    const moved = await this.backend.requeue(tasks);
    this.metrics?.requeued.inc(moved);
    this.logger.warn({ count: moved }, why);
  }

  /**
   * Re-queues dead workers' tasks, and this worker's own held ids that no batch is tracking
   * at two passes in a row (a take whose reply was lost to a dropped connection).
   */
  private async reclaim(): Promise<void> {
    this.metrics?.reclaimed.inc(await this.backend.reclaimDead());
    const suspects = this.orphanSuspects;
    this.orphanSuspects = new Set();
    if (this.inFlight.size >= this.maxInFlight) return;
    const untracked = await this.untrackedHeld();
    const orphans = untracked.filter((task) => suspects.has(heldKey(task)));
    for (const task of untracked) if (!suspects.has(heldKey(task))) this.orphanSuspects.add(heldKey(task));
    await this.requeueHeld(orphans, 're-queued orphaned tasks of this worker');
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
