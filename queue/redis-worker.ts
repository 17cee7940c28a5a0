import { createClient } from 'redis';
import { evalLua } from './lua';
import type { Logger } from '../log';
import { keyBuilder, type KeyBuilder } from './keys';
import { REPLY_QUEUE_TTL_S } from './dispatch-lua';
import { detailHashFields, detailReplyFields, type TaskReply } from './task';
import {
  STORE_LIMITS,
  type ClaimedTask,
  type CompleteResult,
  type HeldTask,
  type KeyListing,
  type StoreEntry,
  type StoredTask,
  type TaskOutcome,
  type WorkerBackend,
} from './worker-backend';
import {
  COMPLETE_TASKS,
  LIST_KEYS,
  READ_KEYS,
  REQUEUE_DEAD,
  REQUEUE_IDS,
  REQUEUE_LIST,
  TAKE_AND_CLAIM,
} from './worker-lua';

type RedisClient = ReturnType<typeof createClient>;

/** How to reach Redis and whose tasks to take. */
export interface RedisBackendConfig {
  readonly redisUrl: string;
  /** Key prefix (tests); empty in production. */
  readonly namespace: string;
  readonly workerId: string;
  /** Canonical circle keys. */
  readonly circles: readonly string[];
  readonly taskTtlS: number;
  readonly livenessTtlS: number;
  /** Most bytes (keys and values) one circle's store may hold; default 1 GiB. */
  readonly storeQuotaBytes?: number;
  readonly logger: Logger;
}

const COMPLETE_CODES: Record<number, CompleteResult> = {
  0: 'not-held',
  1: 'written',
  2: 'conflict',
  3: 'quota',
};

/** A blocking connection for one circle and its outstanding `BLMOVE`, if any. */
interface Blocker {
  readonly circlePk: string;
  readonly client: RedisClient;
  pending: Promise<void> | null;
}

const RECONNECT_MAX_DELAY_MS = 2_000;
/**
 * Reclaim passes between two SCANs for processing lists of workers that never registered
 * (an older worker, a registry lost with a Redis without persistence): a SCAN walks the
 * whole keyspace, the registry only the circle's workers.
 */
const SCAN_EVERY_PASSES = 12;
const SCAN_COUNT = '1000';
const CLOSE_TIMEOUT_MS = 2_000;

/**
 * Connects (failing fast if Redis cannot be reached now; reconnecting for ever once it
 * has been) and returns the backend.
 */
export async function connectRedisBackend(config: RedisBackendConfig): Promise<RedisWorkerBackend> {
  const connected = { once: false };
  const main: RedisClient = createClient({
    url: config.redisUrl,
    // node-redis 6 arms a 5 s timer (an AbortSignal) per command by default: a measurable
    // cost per task, and wrong for blocking takes. Dropped connections still fail commands,
    // and a take whose reply is lost that way is re-queued by the worker loop once Redis answers.
    commandOptions: { timeout: 0 },
    socket: {
      connectTimeout: 5_000,
      // Before the first connection, give up so a misconfigured start fails with one line;
      // afterwards, survive Redis restarts. (A fresh Error, not `cause`: node-redis checks
      // `instanceof Error`, which a socket error from another realm, e.g. under jest, fails.)
      reconnectStrategy: (retries, cause) =>
        connected.once ? Math.min(50 * 2 ** retries, RECONNECT_MAX_DELAY_MS) : new Error(describe(cause)),
    },
  });
  const clients: RedisClient[] = [main];
  const watch = (client: RedisClient, role: string): RedisClient => {
    client.on('error', (err: Error) => {
      if (connected.once) config.logger.warn({ err: err.message, role }, 'redis connection error');
    });
    return client;
  };
  try {
    await watch(main, 'main').connect();
    // Each circle blocks on its own connection. BLMOVE takes a single source list; BLMPOP
    // takes several but pops without moving, so a crash could lose the id; rotating short
    // blocking timeouts over the circles would add up to (circles × timeout) latency to an
    // idle circle. One blocked connection per circle is loss-free and wakes at once; the
    // non-blocking TAKE_AND_CLAIM sweep then shares the batch fairly across all circles.
    // (A blocked connection serves nothing else, hence duplicates: STYLE 6.)
    const blockers: Blocker[] = [];
    for (const circlePk of config.circles) {
      const client = watch(main.duplicate(), `take:${circlePk.slice(0, 10)}`);
      clients.push(client);
      await client.connect();
      blockers.push({ circlePk, client, pending: null });
    }
    connected.once = true;
    return new RedisWorkerBackend(config, main, blockers);
  } catch (err) {
    for (const client of clients) client.destroy();
    throw new Error(`cannot connect to Redis at ${config.redisUrl}: ${describe(err)}`);
  }
}

/** A hash as HGETALL returns it, flat; `null` when empty (missing). */
function toStoredTask(flat: readonly string[]): StoredTask | null {
  if (flat.length === 0) return null;
  const hash: Record<string, string> = {};
  for (let i = 0; i < flat.length; i += 2) hash[String(flat[i])] = String(flat[i + 1]);
  return hash as StoredTask;
}

function describe(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) return describe(err.errors[0]);
  if (err instanceof Error) {
    const cause = (err as Error & { cause?: unknown }).cause;
    return cause instanceof Error ? describe(cause) : err.message || err.name;
  }
  return String(err);
}

/** The Redis implementation of the worker backend (SPEC §4). */
export class RedisWorkerBackend implements WorkerBackend {
  private readonly keys: KeyBuilder;
  /** Ids that a blocking BLMOVE delivered and no `take` has returned yet. */
  private readonly arrived: HeldTask[] = [];
  private wakeTaker: (() => void) | null = null;
  private rotation = 0;
  /** Whether the last take-and-claim sweep left every work queue empty. */
  private drained = false;
  private takingStopped = false;
  private closing: Promise<void> | null = null;
  private reclaimPasses = 0;

  constructor(
    private readonly config: RedisBackendConfig,
    private readonly main: RedisClient,
    private readonly blockers: readonly Blocker[],
  ) {
    this.keys = keyBuilder(config.namespace);
  }

  async take(max: number, blockMs: number): Promise<ClaimedTask[]> {
    if (this.takingStopped) return [];
    // When the last sweep emptied every queue, a sweep now would most likely come back empty:
    // wait on the BLMOVEs right away (a call fewer per task when idle-ish).
    if (!this.drained || this.arrived.length > 0) {
      const taken = await this.claimArrivedAndSweep(max);
      if (taken.length > 0 || this.takingStopped) return taken;
    }
    // After a timeout or a failed BLMOVE, the next take sweeps first again.
    this.drained = false;
    await this.waitForArrival(blockMs);
    if (this.takingStopped || this.arrived.length === 0) return [];
    return this.claimArrivedAndSweep(max);
  }

  async stopTaking(): Promise<void> {
    this.takingStopped = true;
    this.wakeTaker?.();
    // Disconnecting is the only way to end a BLMOVE now; an id it had already moved stays in
    // the processing list, where requeueAllHeld finds it.
    for (const blocker of this.blockers) blocker.client.destroy();
  }

  async readKeys(circlePk: string, keys: readonly string[]): Promise<StoreEntry[]> {
    const flat = await evalLua<(string | null)[]>(
      this.main,
      READ_KEYS,
      [this.keys.store(circlePk), this.keys.storeVersions(circlePk)],
      [...keys],
    );
    return keys.map((_, i) => ({ value: flat[2 * i] ?? null, version: String(flat[2 * i + 1]) }));
  }

  async listKeys(circlePk: string, prefix: string, limit: number): Promise<KeyListing> {
    const [version, ...keys] = await evalLua<string[]>(
      this.main,
      LIST_KEYS,
      [this.keys.store(circlePk), this.keys.storeIndex(circlePk), this.keys.storeMeta(circlePk)],
      [prefix, String(limit + 1)],
    );
    return { keys: keys.map(String), version: String(version) };
  }

  async complete(outcomes: readonly TaskOutcome[], updatedAt: string): Promise<CompleteResult[]> {
    const keys: string[] = [];
    const quota = this.config.storeQuotaBytes ?? STORE_LIMITS.defaultQuotaBytes;
    const args = [updatedAt, String(this.config.taskTtlS), String(quota), String(REPLY_QUEUE_TTL_S)];
    for (const { task, status, text, replyToQueue, store, detail = {} } of outcomes) {
      const pk = task.circlePk;
      keys.push(
        this.keys.task(task.taskId),
        this.keys.processing(pk, this.config.workerId),
        this.keys.store(pk),
        this.keys.storeVersions(pk),
        this.keys.storeIndex(pk),
        this.keys.storeMeta(pk),
      );
      const field = status === 'completed' ? 'output' : 'error';
      let reply = '';
      if (replyToQueue) {
        keys.push(replyToQueue);
        const message: TaskReply = {
          taskId: task.taskId,
          status,
          [field]: text,
          ...detailReplyFields(detail),
        };
        reply = JSON.stringify(message);
      }
      const reads = store?.reads ?? [];
      // An error's writes are not applied; its reads are still checked.
      const sets = status === 'completed' ? (store?.sets ?? []) : [];
      const deletes = status === 'completed' ? (store?.deletes ?? []) : [];
      args.push(task.taskId, status, field, text, reply);
      const details = Object.entries(detailHashFields(detail));
      args.push(String(reads.length), store?.listed ?? '', String(sets.length), String(deletes.length));
      args.push(String(details.length));
      for (const [key, version] of reads) args.push(key, version);
      for (const [key, value] of sets) args.push(key, value);
      args.push(...deletes);
      for (const [name, value] of details) args.push(name, value);
    }
    const codes = await evalLua<number[]>(this.main, COMPLETE_TASKS, keys, args);
    return codes.map((code) => COMPLETE_CODES[Number(code)] ?? 'not-held');
  }

  async release(tasks: readonly HeldTask[]): Promise<void> {
    await Promise.all(
      tasks.map((task) =>
        this.main.lRem(this.keys.processing(task.circlePk, this.config.workerId), 1, task.taskId),
      ),
    );
  }

  async refreshLiveness(): Promise<void> {
    const value = JSON.stringify({ pid: process.pid, at: new Date().toISOString() });
    await this.main.set(this.keys.workerAlive(this.config.workerId), value, {
      expiration: { type: 'EX', value: this.config.livenessTtlS },
    });
    // (re-)registers with every refresh: a registry lost with a Redis restart comes back
    await Promise.all(
      this.config.circles.map((pk) => this.main.sAdd(this.keys.circleWorkers(pk), this.config.workerId)),
    );
  }

  async reclaimDead(): Promise<number> {
    const scan = this.reclaimPasses++ % SCAN_EVERY_PASSES === 0;
    let moved = 0;
    for (const circlePk of this.config.circles) {
      const flat = await evalLua<(string | number)[]>(
        this.main,
        REQUEUE_DEAD,
        [this.keys.circleWorkers(circlePk), this.keys.workQueue(circlePk)],
        [this.keys.processing(circlePk, ''), this.keys.workerAlive(''), this.config.workerId],
      );
      for (let i = 0; i < flat.length; i += 2) {
        const count = Number(flat[i + 1]);
        this.config.logger.info(
          { circlePk, owner: String(flat[i]), count },
          're-queued tasks of a dead worker',
        );
        moved += count;
      }
    }
    if (scan) moved += await this.reclaimUnregistered();
    return moved;
  }

  /**
   * Re-queues the processing lists of dead workers found by one SCAN over every circle's
   * lists (those of workers not in the registry); one walk of the keyspace for all circles.
   */
  private async reclaimUnregistered(): Promise<number> {
    let moved = 0;
    const listPrefix = this.keys.processing('', '').slice(0, -1); // `…processing:`
    const served = new Set(this.config.circles);
    for (const list of await this.scan(`${listPrefix}*`)) {
      // `…processing:<pk>:<owner>`; keys are 66 hex characters, owners may contain ':'
      const rest = list.slice(listPrefix.length);
      const circlePk = rest.slice(0, rest.indexOf(':'));
      const owner = rest.slice(circlePk.length + 1);
      if (!served.has(circlePk) || owner === this.config.workerId) continue;
      const count = await evalLua<number>(this.main, REQUEUE_LIST, [
        list,
        this.keys.workQueue(circlePk),
        this.keys.workerAlive(owner),
      ]);
      if (count > 0) this.config.logger.info({ circlePk, owner, count }, 're-queued tasks of a dead worker');
      moved += count;
    }
    return moved;
  }

  async listHeld(): Promise<HeldTask[]> {
    const lists = await Promise.all(
      this.config.circles.map(async (circlePk) => {
        const ids = await this.main.lRange(this.keys.processing(circlePk, this.config.workerId), 0, -1);
        return ids.map((taskId) => ({ circlePk, taskId }));
      }),
    );
    // Ids a blocking take delivered that the next take will hand out are not orphans.
    const waiting = new Set(this.arrived.map((task) => `${task.circlePk}/${task.taskId}`));
    return lists.flat().filter((task) => !waiting.has(`${task.circlePk}/${task.taskId}`));
  }

  async requeue(tasks: readonly HeldTask[]): Promise<number> {
    let moved = 0;
    for (const circlePk of this.config.circles) {
      const ids = tasks.filter((task) => task.circlePk === circlePk).map((task) => task.taskId);
      if (ids.length === 0) continue;
      moved += await evalLua<number>(
        this.main,
        REQUEUE_IDS,
        [this.keys.processing(circlePk, this.config.workerId), this.keys.workQueue(circlePk)],
        ids,
      );
    }
    return moved;
  }

  async requeueAllHeld(): Promise<number> {
    let moved = 0;
    for (const circlePk of this.config.circles) {
      moved += await evalLua<number>(this.main, REQUEUE_LIST, [
        this.keys.processing(circlePk, this.config.workerId),
        this.keys.workQueue(circlePk),
      ]);
    }
    return moved;
  }

  async ping(): Promise<void> {
    if (this.closing) throw new Error('worker backend closed');
    if (!this.main.isReady) throw new Error('redis is not connected');
    await this.main.ping();
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.stopTaking();
      const graceful = (async () => {
        await this.main.del(this.keys.workerAlive(this.config.workerId));
        for (const pk of this.config.circles)
          await this.main.sRem(this.keys.circleWorkers(pk), this.config.workerId);
        await this.main.close();
      })();
      graceful.catch(() => undefined); // settled by the race below; this only marks it handled
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('timed out')), CLOSE_TIMEOUT_MS);
      });
      try {
        await Promise.race([graceful, timedOut]);
      } catch (err) {
        // Redis is unreachable: the liveness key will expire by itself.
        this.config.logger.warn({ err: describe(err) }, 'redis close failed; disconnecting');
        this.main.destroy();
      } finally {
        clearTimeout(timer);
      }
    })();
    return this.closing;
  }

  /**
   * Claims the ids BLMOVE delivered and takes and claims the rest of a batch, in one call;
   * on failure the delivered ids wait for the next take.
   */
  private async claimArrivedAndSweep(max: number): Promise<ClaimedTask[]> {
    const arrived = this.arrived.splice(0, max);
    const circles = this.config.circles;
    const start = this.rotation++ % circles.length;
    const order = circles.map((_, i) => circles[(start + i) % circles.length]);
    const keys: string[] = [];
    for (const pk of order)
      keys.push(this.keys.workQueue(pk), this.keys.processing(pk, this.config.workerId));
    const args = [String(max - arrived.length), new Date().toISOString(), this.keys.task('')];
    for (const task of arrived) args.push(String(order.indexOf(task.circlePk) + 1), task.taskId);
    let flat: (number | string | string[])[];
    try {
      flat = await evalLua<(number | string | string[])[]>(this.main, TAKE_AND_CLAIM, keys, args);
    } catch (err) {
      this.arrived.unshift(...arrived);
      throw err;
    }
    this.drained = flat.length / 3 - arrived.length < max - arrived.length;
    const claimed: ClaimedTask[] = [];
    for (let i = 0; i < flat.length; i += 3) {
      claimed.push({
        task: { circlePk: order[Number(flat[i]) - 1], taskId: String(flat[i + 1]) },
        stored: toStoredTask(flat[i + 2] as string[]),
      });
    }
    return claimed;
  }

  /**
   * Makes sure every circle has a BLMOVE outstanding and waits until one delivers an id, all
   * time out, or taking stops. A BLMOVE still outstanding when this returns stays so: its id,
   * if any, is kept in `arrived` for the next take, so nothing is lost.
   */
  private async waitForArrival(blockMs: number): Promise<void> {
    const failures: unknown[] = [];
    const woken = new Promise<void>((resolve) => {
      this.wakeTaker = resolve;
    });
    for (const blocker of this.blockers) {
      blocker.pending ??= this.blockOn(blocker, blockMs)
        .catch((err: unknown) => {
          if (!this.takingStopped) failures.push(err);
        })
        .finally(() => {
          blocker.pending = null;
        });
    }
    const allSettled = Promise.all(this.blockers.map((blocker) => blocker.pending));
    await Promise.race([woken, allSettled]);
    this.wakeTaker = null;
    if (this.arrived.length === 0 && failures.length > 0) throw failures[0];
  }

  private async blockOn(blocker: Blocker, blockMs: number): Promise<void> {
    const { circlePk } = blocker;
    const taskId = await blocker.client.sendCommand<string | null>([
      'BLMOVE',
      this.keys.workQueue(circlePk),
      this.keys.processing(circlePk, this.config.workerId),
      'RIGHT',
      'LEFT',
      (blockMs / 1000).toFixed(3),
    ]);
    if (taskId !== null) {
      this.arrived.push({ circlePk, taskId: String(taskId) });
      this.wakeTaker?.();
    }
  }

  private async scan(pattern: string): Promise<string[]> {
    const found: string[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await this.main.sendCommand<[string, string[]]>([
        'SCAN',
        cursor,
        'MATCH',
        pattern,
        'COUNT',
        SCAN_COUNT,
      ]);
      cursor = String(next);
      found.push(...keys.map(String));
    } while (cursor !== '0');
    return found;
  }
}
