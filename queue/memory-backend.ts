import { randomUUID } from 'node:crypto';
import type { HeldTask, StoredCircleStore, StoredTask, TaskOutcome, WorkerBackend } from '../worker/backend';
import {
  pendingTaskFields,
  type BackendHealth,
  type DispatchBackend,
  type NewTask,
} from './dispatch-backend';
import { keyBuilder } from './keys';
import type { TaskReply } from './task';

const MAX_PARKED_REPLIES = 10_000;

interface Expiring<T> {
  value: T;
  expiresAt: number;
}

/**
 * The embedded task backend: SPEC §4's queues, hashes, stores and markers kept in this
 * process, for the launcher's no-Redis default. Dispatchers and workers get the same
 * contracts as from Redis (the conformance spec runs both), so nothing above it knows the
 * difference; the worker still runs scripts on its threads.
 */
export class MemoryTaskBackend {
  private readonly hashes = new Map<string, Expiring<Record<string, string>>>();
  /** Work queues: index 0 is the newest (LPUSH side); workers take from the end. */
  private readonly queues = new Map<string, string[]>();
  /** Held ids per `${circle}\0${workerId}`. */
  private readonly processing = new Map<string, string[]>();
  private readonly stores = new Map<string, Map<string, string>>();
  private readonly markers = new Map<string, number>();
  private readonly replyHandlers = new Map<string, (replies: TaskReply[]) => void>();
  /** Replies for a reply queue nobody reads yet (or any more). */
  private readonly parkedReplies = new Map<string, TaskReply[]>();
  /** Wakes workers blocked in `take` when any queue gets work. */
  private wakers = new Set<() => void>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly clock: () => number = Date.now) {
    // Expired hashes and markers are dropped lazily on access and swept once a minute.
    this.sweeper = setInterval(() => this.sweep(), 60_000).unref();
  }

  /** A dispatcher's side (one per server instance). */
  dispatch(): DispatchBackend {
    const replyQueue = `embedded:reply:${randomUUID()}`;
    let closed = false;
    const backend: DispatchBackend = {
      description: 'embedded',
      keys: keyBuilder(),
      start: async (onReplies) => {
        this.replyHandlers.set(replyQueue, onReplies);
        const parked = this.parkedReplies.get(replyQueue);
        this.parkedReplies.delete(replyQueue);
        if (parked?.length) onReplies(parked);
      },
      submit: async (task: NewTask, hashTtlSeconds: number) => {
        const fields = pendingTaskFields(task, replyQueue, new Date(this.clock()).toISOString());
        this.hashes.set(task.taskId, { value: fields, expiresAt: this.clock() + hashTtlSeconds * 1000 });
        this.queue(task.contextId).unshift(task.taskId);
        this.wake();
      },
      submitBatch: async (tasks, hashTtlSeconds) => {
        for (const t of tasks) await backend.submit(t, hashTtlSeconds);
      },
      health: async (): Promise<BackendHealth> =>
        closed ? { ok: false, reason: 'backend closed' } : { ok: true },
      markOnce: async (key, ttlSeconds) => {
        const until = this.markers.get(key);
        if (until !== undefined && until > this.clock()) return false;
        this.markers.set(key, this.clock() + ttlSeconds * 1000);
        return true;
      },
      unmark: async (key) => {
        this.markers.delete(key);
      },
      close: async () => {
        closed = true;
        this.replyHandlers.delete(replyQueue);
      },
    };
    return backend;
  }

  /** A worker's side, for its circles. */
  worker(config: { workerId: string; circles: readonly string[]; taskTtlS: number }): WorkerBackend {
    const { workerId, circles, taskTtlS } = config;
    const heldKey = (pk: string): string => `${pk}\0${workerId}`;
    const held = (pk: string): string[] => {
      let list = this.processing.get(heldKey(pk));
      if (!list) this.processing.set(heldKey(pk), (list = []));
      return list;
    };
    let stopped = false;
    let cursor = 0;
    let wakeTaker: (() => void) | undefined;

    const takeNow = (max: number): HeldTask[] => {
      const out: HeldTask[] = [];
      // round-robin over circles, one id at a time, so one busy circle cannot starve another
      let idle = 0;
      while (out.length < max && idle < circles.length) {
        const pk = circles[cursor++ % circles.length]!;
        const id = this.queues.get(pk)?.pop();
        if (id === undefined) {
          idle++;
          continue;
        }
        idle = 0;
        held(pk).unshift(id);
        out.push({ circlePk: pk, taskId: id });
      }
      return out;
    };

    const backend: WorkerBackend = {
      take: async (max, blockMs) => {
        if (stopped) return [];
        const now = takeNow(max);
        if (now.length > 0) return now;
        await new Promise<void>((resolve) => {
          const done = (): void => {
            clearTimeout(timer);
            this.wakers.delete(done);
            wakeTaker = undefined;
            resolve();
          };
          const timer = setTimeout(done, blockMs);
          wakeTaker = done;
          this.wakers.add(done);
        });
        return stopped ? [] : takeNow(max);
      },
      stopTaking: async () => {
        stopped = true;
        wakeTaker?.();
      },
      claimTasks: async (tasks, updatedAt) =>
        tasks.map((t) => {
          const h = this.hash(t.taskId);
          if (!h) return null;
          const before: StoredTask = { ...h };
          if (h.status !== 'completed' && h.status !== 'error') {
            h.status = 'processing';
            h.updatedAt = updatedAt;
          }
          return before;
        }),
      loadStore: async (pk) => Object.fromEntries(this.stores.get(pk) ?? []) as StoredCircleStore,
      complete: async (outcomes: readonly TaskOutcome[], updatedAt) =>
        outcomes.map((o) => {
          const list = held(o.task.circlePk);
          const at = list.indexOf(o.task.taskId);
          if (at < 0) return false;
          const entry = this.hashes.get(o.task.taskId);
          if (entry) {
            entry.value.status = o.status;
            entry.value[o.status === 'completed' ? 'output' : 'error'] = o.text;
            entry.value.updatedAt = updatedAt;
            entry.expiresAt = this.clock() + taskTtlS * 1000;
          }
          if (o.storeWrites) {
            let store = this.stores.get(o.task.circlePk);
            if (!store) this.stores.set(o.task.circlePk, (store = new Map()));
            for (const [k, v] of Object.entries(o.storeWrites.sets)) store.set(k, v);
            for (const k of o.storeWrites.deletes) store.delete(k);
          }
          if (o.replyToQueue) {
            this.reply(o.replyToQueue, {
              taskId: o.task.taskId,
              status: o.status,
              ...(o.status === 'completed' ? { output: o.text } : { error: o.text }),
            });
          }
          list.splice(at, 1);
          return true;
        }),
      release: async (tasks) => {
        for (const t of tasks) {
          const list = held(t.circlePk);
          const at = list.indexOf(t.taskId);
          if (at >= 0) list.splice(at, 1);
        }
      },
      // In one process a worker cannot die without its backend: nothing to expire or reclaim.
      refreshLiveness: async () => undefined,
      reclaimDead: async () => 0,
      listHeld: async () => circles.flatMap((pk) => held(pk).map((taskId) => ({ circlePk: pk, taskId }))),
      requeue: async (tasks) => {
        let moved = 0;
        for (const t of tasks) {
          const list = held(t.circlePk);
          const at = list.indexOf(t.taskId);
          if (at < 0) continue;
          list.splice(at, 1);
          this.queue(t.circlePk).push(t.taskId); // the end: next to run
          moved++;
        }
        if (moved) this.wake();
        return moved;
      },
      requeueAllHeld: async () => backend.requeue(await backend.listHeld()),
      close: async () => {
        stopped = true;
        wakeTaker?.();
      },
    };
    return backend;
  }

  /** Stops the sweeper (the data stays readable). */
  close(): void {
    clearInterval(this.sweeper);
  }

  private queue(pk: string): string[] {
    let q = this.queues.get(pk);
    if (!q) this.queues.set(pk, (q = []));
    return q;
  }

  private hash(taskId: string): Record<string, string> | undefined {
    const e = this.hashes.get(taskId);
    if (!e) return undefined;
    if (e.expiresAt <= this.clock()) {
      this.hashes.delete(taskId);
      return undefined;
    }
    return e.value;
  }

  /** Replies leave in batches, like the Redis reader's pops. */
  private reply(queue: string, reply: TaskReply): void {
    let parked = this.parkedReplies.get(queue);
    if (!parked) {
      this.parkedReplies.set(queue, (parked = []));
      queueMicrotask(() => {
        const handler = this.replyHandlers.get(queue);
        if (!handler) return; // kept parked until a reader starts (bounded by the hash TTL sweep)
        const batch = this.parkedReplies.get(queue) ?? [];
        this.parkedReplies.delete(queue);
        if (batch.length) handler(batch);
      });
    }
    parked.push(reply);
    // nobody reads this queue (its server stopped): keep a bounded tail, as Redis would keep a list
    if (parked.length > MAX_PARKED_REPLIES) parked.splice(0, parked.length - MAX_PARKED_REPLIES);
  }

  private wake(): void {
    const wakers = this.wakers;
    this.wakers = new Set();
    for (const w of wakers) w();
  }

  private sweep(): void {
    const now = this.clock();
    for (const [id, e] of this.hashes) if (e.expiresAt <= now) this.hashes.delete(id);
    for (const [k, until] of this.markers) if (until <= now) this.markers.delete(k);
    for (const [q, replies] of this.parkedReplies)
      if (!this.replyHandlers.has(q) && replies.length === 0) this.parkedReplies.delete(q);
  }

  /** Test and inspection access to one task hash. */
  peekTask(taskId: string): Readonly<Record<string, string>> | undefined {
    return this.hash(taskId);
  }

  /** Test and inspection access to one circle's store. */
  peekStore(pk: string): Readonly<Record<string, string>> {
    return Object.fromEntries(this.stores.get(pk) ?? []);
  }
}
