import type { Logger } from '../log';
import { isFinished, liveTask, type EmbeddedEnv, type TaskEntry } from './embedded-env';
import type { QueuedId, WorkQueues } from './embedded-queue';
import { applyWrites, listKeys, readEntries, readsAreCurrent } from './embedded-store';
import { DETAIL_FIELDS, detailHashFields, detailReplyFields, type TaskReply } from './task';
import type {
  ClaimedTask,
  CompleteResult,
  HeldTask,
  KeyListing,
  StoreEntry,
  StoredTask,
  TaskOutcome,
  WorkerBackend,
} from './worker-backend';

/** What the workers of one embedded backend share. */
export interface WorkerContext {
  readonly env: EmbeddedEnv;
  readonly queues: WorkQueues;
  readonly clock: () => number;
  readonly storeQuotaBytes: number;
  readonly logger: Logger;
  /**
   * Claims whose `processing` mark is not written yet: a task re-taken meanwhile (re-queued
   * at once) reads as processing, as it would from Redis.
   */
  readonly unwrittenMarks: Set<string>;
  /**
   * Submitted tasks whose write is not committed yet. A task is queued as soon as its write is
   * issued (a play waits for one commit, not two); LMDB commits in order, so by the time the
   * result is written, the record is there.
   */
  readonly unwrittenTasks: Map<string, TaskEntry>;
  /**
   * Workers taking tasks now (from their first liveness refresh, which starts a worker loop,
   * until they stop taking): the embedded counterpart of Redis's liveness keys (readiness).
   */
  readonly liveWorkers: Set<EmbeddedWorkerConfig>;
  /** Throws once the backend is closing. */
  ensureOpen(): void;
  isClosing(): boolean;
  /** Hands a reply to its dispatcher; called only once the result is on disk. */
  reply(queue: string, reply: TaskReply): void;
}

export interface EmbeddedWorkerConfig {
  readonly workerId: string;
  readonly circles: readonly string[];
  readonly taskTtlS: number;
}

/** A held id `complete` or `release` took out of the held list (put back if the write fails). */
interface Unheld {
  readonly circlePk: string;
  readonly id: QueuedId;
}

/**
 * The worker side of the embedded backend (WorkerBackend, SPEC §4 semantics). Held ids live
 * in memory only: a worker cannot outlive the process, and after a restart every task still
 * in the `queue` table is pending again. Exactly-once completion holds because `complete`
 * writes only for a held task whose record is not finished, in the transaction that removes
 * it from the queue.
 */
export class EmbeddedWorker implements WorkerBackend {
  private takingStopped = false;
  /** Round-robin position over the circles, kept across takes. */
  private cursor = 0;
  private readonly waits = new Set<() => void>();

  constructor(
    private readonly ctx: WorkerContext,
    private readonly config: EmbeddedWorkerConfig,
  ) {}

  async take(max: number, blockMs: number): Promise<ClaimedTask[]> {
    const deadline = Date.now() + blockMs;
    for (;;) {
      if (this.takingStopped || this.ctx.isClosing() || max < 1) return [];
      const taken = this.takeNow(max);
      if (taken.length > 0) return this.claim(taken);
      const left = deadline - Date.now();
      if (left <= 0) return [];
      // woken by any enqueue: another worker may get there first, so look again
      const wait = this.ctx.queues.waitForWork(left);
      this.waits.add(wait.cancel);
      await wait.arrived;
      this.waits.delete(wait.cancel);
    }
  }

  async stopTaking(): Promise<void> {
    this.takingStopped = true;
    this.ctx.liveWorkers.delete(this.config);
    for (const cancel of this.waits) cancel();
  }

  async readKeys(circlePk: string, keys: readonly string[]): Promise<StoreEntry[]> {
    this.ctx.ensureOpen();
    return readEntries(this.ctx.env, circlePk, keys);
  }

  async listKeys(circlePk: string, prefix: string, limit: number): Promise<KeyListing> {
    this.ctx.ensureOpen();
    return listKeys(this.ctx.env, circlePk, prefix, limit);
  }

  async complete(outcomes: readonly TaskOutcome[], updatedAt: string): Promise<CompleteResult[]> {
    this.ctx.ensureOpen();
    const unheld: Unheld[] = [];
    const replies: [string, TaskReply][] = [];
    let results: CompleteResult[];
    try {
      // One transaction: each outcome is checked against the latest state, earlier
      // outcomes of this call included, and a throw rolls all of them back.
      results = await this.ctx.env.write(() => {
        const now = this.ctx.clock();
        return outcomes.map((outcome) => this.completeOne(outcome, updatedAt, now, unheld, replies));
      });
    } catch (err) {
      this.rehold(unheld);
      throw err;
    }
    for (const [queue, reply] of replies) this.ctx.reply(queue, reply);
    return results;
  }

  async release(tasks: readonly HeldTask[]): Promise<void> {
    this.ctx.ensureOpen();
    const unheld = this.unhold(tasks);
    if (unheld.length === 0) return;
    const { env, clock } = this.ctx;
    const now = clock();
    try {
      // A finished or vanished task must not come back from the queue table after a restart.
      await env.write(() => {
        for (const { circlePk, id } of unheld) {
          const entry = liveTask(env.tables, id.taskId, now);
          if (entry !== undefined && !isFinished(entry.fields.status)) continue;
          if (env.tables.queue.get([circlePk, id.seq]) === id.taskId) {
            void env.tables.queue.remove([circlePk, id.seq]);
          }
        }
      });
    } catch (err) {
      this.rehold(unheld);
      throw err;
    }
  }

  // In one process a worker cannot die without its backend: nothing to expire or reclaim;
  // liveness only tells readiness that this worker takes tasks.
  async refreshLiveness(): Promise<void> {
    if (!this.takingStopped && !this.ctx.isClosing()) this.ctx.liveWorkers.add(this.config);
  }

  async ping(): Promise<void> {
    this.ctx.ensureOpen();
  }

  async reclaimDead(): Promise<number> {
    return 0;
  }

  async listHeld(): Promise<HeldTask[]> {
    const { workerId, circles } = this.config;
    return circles.flatMap((circlePk) =>
      this.ctx.queues.heldBy(workerId, circlePk).map((id) => ({ circlePk, taskId: id.taskId })),
    );
  }

  async requeue(tasks: readonly HeldTask[]): Promise<number> {
    const byCircle = new Map<string, QueuedId[]>();
    const unheld = this.unhold(tasks);
    for (const { circlePk, id } of unheld) byCircle.set(circlePk, [...(byCircle.get(circlePk) ?? []), id]);
    for (const [circlePk, ids] of byCircle) this.ctx.queues.enqueueFront(circlePk, ids);
    return unheld.length;
  }

  async requeueAllHeld(): Promise<number> {
    return this.requeue(await this.listHeld());
  }

  async close(): Promise<void> {
    await this.stopTaking();
  }

  /** Up to `max` ids, one circle at a time in turn, so a busy circle cannot starve another. */
  private takeNow(max: number): HeldTask[] {
    const { workerId, circles } = this.config;
    const taken: HeldTask[] = [];
    let idle = 0;
    while (taken.length < max && idle < circles.length) {
      const circlePk = circles[this.cursor++ % circles.length]!;
      const id = this.ctx.queues.takeOne(workerId, circlePk);
      if (id === undefined) {
        idle++;
        continue;
      }
      idle = 0;
      taken.push({ circlePk, taskId: id.taskId });
    }
    return taken;
  }

  /**
   * Returns each record as read now and marks the unfinished ones `processing`. The mark is
   * informational (nobody waits for it, and a restart makes the task pending anyway), so it
   * is written without waiting; it is re-checked inside its transaction so that it can never
   * overwrite a newer state.
   */
  private claim(taken: HeldTask[]): ClaimedTask[] {
    const { env, clock, logger } = this.ctx;
    const now = clock();
    const updatedAt = new Date(now).toISOString();
    const toMark: string[] = [];
    const claimed = taken.map((task): ClaimedTask => {
      const entry = this.ctx.unwrittenTasks.get(task.taskId) ?? liveTask(env.tables, task.taskId, now);
      if (entry === undefined) return { task, stored: null };
      const stored = { ...entry.fields } as StoredTask;
      if (!isFinished(entry.fields.status)) {
        if (this.ctx.unwrittenMarks.has(task.taskId)) stored.status = 'processing';
        toMark.push(task.taskId);
      }
      return { task, stored };
    });
    if (toMark.length > 0) {
      for (const taskId of toMark) this.ctx.unwrittenMarks.add(taskId);
      const written = (): void => {
        for (const taskId of toMark) this.ctx.unwrittenMarks.delete(taskId);
      };
      env.writeLater(
        () => {
          for (const taskId of toMark) {
            const entry = liveTask(env.tables, taskId, now);
            if (entry === undefined || isFinished(entry.fields.status)) continue;
            const fields = { ...entry.fields, status: 'processing', updatedAt };
            void env.tables.tasks.put(taskId, { ...entry, fields });
          }
        },
        (err) => logger.warn({ err: String(err) }, 'marking claimed tasks processing failed'),
        written,
      );
    }
    return claimed;
  }

  /** One outcome, inside the write transaction of `complete`. */
  private completeOne(
    outcome: TaskOutcome,
    updatedAt: string,
    now: number,
    unheld: Unheld[],
    replies: [string, TaskReply][],
  ): CompleteResult {
    const { env, queues, storeQuotaBytes } = this.ctx;
    const { tasks, queue, expiry } = env.tables;
    const { task, status, text } = outcome;
    const { circlePk, taskId } = task;
    const { workerId, taskTtlS } = this.config;
    if (!queues.isHeld(workerId, circlePk, taskId)) return 'not-held';
    const stored = tasks.get(taskId);
    const live = stored !== undefined && stored.expiresAt > now ? stored : undefined;
    if (live !== undefined && isFinished(live.fields.status)) {
      // finished by an earlier run: drop the id, keep the first result
      this.unholdInto(unheld, circlePk, taskId, true);
      return 'not-held';
    }
    if (outcome.store) {
      if (!readsAreCurrent(env, circlePk, outcome.store)) return 'conflict';
      // an error's writes are dropped; its reads still had to be current
      if (status === 'completed' && applyWrites(env, circlePk, outcome.store, storeQuotaBytes) === 'quota') {
        return 'quota';
      }
    }
    const id = this.unholdInto(unheld, circlePk, taskId, false);

    // Only the status and the result matter once answered: the script and input go.
    const fields: Record<string, string> = { ...(live?.fields ?? {}) };
    delete fields.script;
    delete fields.input;
    for (const name of DETAIL_FIELDS) delete fields[name];
    const field = status === 'completed' ? 'output' : 'error';
    const detail = outcome.detail ?? {};
    Object.assign(fields, { taskId, status, [field]: text, updatedAt }, detailHashFields(detail));
    const expiresAt = now + taskTtlS * 1000;
    if (stored !== undefined) void expiry.remove([stored.expiresAt, 't', taskId]);
    const entry: TaskEntry = { fields, expiresAt, circlePk: stored?.circlePk ?? circlePk };
    void tasks.put(taskId, entry);
    void expiry.put([expiresAt, 't', taskId], true);
    if (queue.get([circlePk, id.seq]) === taskId) void queue.remove([circlePk, id.seq]);
    if (outcome.replyToQueue) {
      replies.push([outcome.replyToQueue, { taskId, status, [field]: text, ...detailReplyFields(detail) }]);
    }
    return 'written';
  }

  /** Removes a held id inside a write; with `dequeue`, also its (stale) queue entry. */
  private unholdInto(unheld: Unheld[], circlePk: string, taskId: string, dequeue: boolean): QueuedId {
    const id = this.ctx.queues.unhold(this.config.workerId, circlePk, taskId)!;
    unheld.push({ circlePk, id });
    const { queue } = this.ctx.env.tables;
    if (dequeue && queue.get([circlePk, id.seq]) === taskId) void queue.remove([circlePk, id.seq]);
    return id;
  }

  private unhold(tasks: readonly HeldTask[]): Unheld[] {
    const unheld: Unheld[] = [];
    for (const { circlePk, taskId } of tasks) {
      const id = this.ctx.queues.unhold(this.config.workerId, circlePk, taskId);
      if (id !== undefined) unheld.push({ circlePk, id });
    }
    return unheld;
  }

  private rehold(unheld: readonly Unheld[]): void {
    for (const { circlePk, id } of unheld) this.ctx.queues.rehold(this.config.workerId, circlePk, id);
  }
}
