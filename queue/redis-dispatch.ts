import { randomUUID } from 'node:crypto';
import { createClient } from 'redis';
import type { Logger } from '../log';
import {
  ageSeconds,
  BackendUnavailableError,
  TASK_STATE_FIELDS,
  taskStateOf,
  workerReadiness,
  type BackendHealth,
  type DispatchBackend,
  type NewTask,
  type QueueStats,
} from './dispatch-backend';
import { keyBuilder } from './keys';
import { evalLua } from './lua';
import {
  ACK_AND_TAKE_REPLIES,
  LIVE_WORKERS,
  QUEUE_STATS,
  REPLY_QUEUE_TTL_S,
  SUBMIT_TASKS,
} from './dispatch-lua';
import type { TaskReply } from './task';

type Client = ReturnType<typeof createClient>;

export interface RedisDispatchOptions {
  url: string;
  /** Key namespace in front of `rhailib:` / `circles:` (tests isolate with it). */
  namespace?: string;
  logger: Logger;
  /** Replies popped per round trip. */
  replyBatch?: number;
}

const HEALTH_TIMEOUT_MS = 1000;
const START_WAIT_MS = 1500;

function reconnectDelay(retries: number): number {
  return Math.min(50 * 2 ** retries, 2000);
}

/** `work`, or a rejection naming `what` once `ms` have passed. */
async function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`redis did not answer ${what} in time`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * SPEC §4 over node-redis. Commands fail at once while disconnected (no offline queue:
 * a play must get -32004, not hang); the client reconnects by itself. Replies come through
 * one queue per instance, read by one blocking loop on its own connection.
 */
export function createRedisDispatch(options: RedisDispatchOptions): DispatchBackend {
  const keys = keyBuilder(options.namespace);
  const instanceId = randomUUID();
  const replyKey = keys.replyQueue(instanceId);
  const inflightKey = keys.replyInflight(instanceId);
  const batch = options.replyBatch ?? 256;
  const log = options.logger;
  const client: Client = createClient({
    url: options.url,
    disableOfflineQueue: true,
    // node-redis 6 arms a 5 s AbortSignal timer per command by default: a measurable cost per
    // submit and wrong for the blocking reply read; a dropped connection still fails commands.
    commandOptions: { timeout: 0 },
    socket: { reconnectStrategy: reconnectDelay, connectTimeout: 2000 },
  });
  const reader: Client = client.duplicate();
  let connectedOnce = false;
  for (const c of [client, reader]) {
    c.on('error', (err: Error) => log.debug({ err: err.message }, 'redis connection error'));
  }
  client.on('ready', () => {
    if (connectedOnce) log.info('redis connection restored');
    connectedOnce = true;
  });
  client.on('end', () => undefined);
  let stopping = false;
  let closed: Promise<void> | undefined;
  let loop: Promise<void> | undefined;

  const route = (raws: readonly string[], onReplies: (replies: TaskReply[]) => void): void => {
    const replies: TaskReply[] = [];
    for (const raw of raws) {
      try {
        replies.push(JSON.parse(raw) as TaskReply);
      } catch {
        log.warn('discarding a reply that is not JSON');
      }
    }
    if (replies.length) onReplies(replies);
  };

  /**
   * One loop on its own connection. Replies move from the reply queue into this dispatcher's
   * in-flight list (BLMOVE when idle, a Lua step for the rest of a batch) and leave it only
   * once routed, acknowledged by the next step. After an error, everything still in flight is
   * routed again first (a reply routed twice is dropped by the dispatcher: nobody waits for it).
   */
  const readReplies = async (onReplies: (replies: TaskReply[]) => void): Promise<void> => {
    let routed = 0;
    let recovering = true;
    while (!stopping) {
      if (!reader.isReady) {
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      try {
        if (recovering) {
          const inflight = await reader.lRange(inflightKey, 0, -1);
          route([...inflight].reverse(), onReplies);
          routed = inflight.length;
          recovering = false;
        }
        const taken = await evalLua<string[]>(
          reader,
          ACK_AND_TAKE_REPLIES,
          [replyKey, inflightKey],
          [String(routed), String(batch), String(REPLY_QUEUE_TTL_S)],
        );
        routed = 0;
        if (taken.length > 0) {
          route(taken, onReplies);
          routed = taken.length;
          continue;
        }
        const first = await reader.sendCommand<string | null>([
          'BLMOVE',
          replyKey,
          inflightKey,
          'RIGHT',
          'LEFT',
          '1',
        ]);
        if (first !== null) {
          // routed at once (latency); acknowledged with the next step, which takes the rest
          route([first], onReplies);
          routed = 1;
        }
      } catch (err) {
        if (stopping) break;
        recovering = true;
        log.debug({ err: (err as Error).message }, 'reply reader interrupted');
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  };

  const submitBatch = async (tasks: readonly NewTask[], hashTtlSeconds: number): Promise<void> => {
    if (!client.isReady) throw new BackendUnavailableError('redis is not connected');
    if (tasks.length === 0) return;
    const keyList: string[] = [];
    const args: string[] = [String(hashTtlSeconds), replyKey, new Date().toISOString()];
    for (const t of tasks) {
      keyList.push(keys.task(t.taskId), keys.workQueue(t.contextId));
      args.push(t.taskId, t.script, t.callerId, t.contextId, t.input ?? '');
    }
    try {
      await evalLua(client, SUBMIT_TASKS, keyList, args);
    } catch (err) {
      throw new BackendUnavailableError((err as Error).message);
    }
  };

  return {
    description: options.url,
    keys,
    async start(onReplies) {
      // connect() only settles once Redis answers; the server starts anyway (plays get
      // -32004 and /health says 503 until then) and the client keeps reconnecting.
      const ready = Promise.all([client.connect(), reader.connect()]);
      ready.catch((err: Error) => log.error({ err: err.message }, 'redis connection failed'));
      const waited = await Promise.race([
        ready.then(() => true),
        new Promise<boolean>((r) => setTimeout(() => r(false), START_WAIT_MS).unref()),
      ]).catch(() => false);
      if (!waited)
        log.warn({ url: options.url }, 'redis is not reachable yet; plays are refused until it is');
      loop = readReplies(onReplies);
    },
    submit: (task: NewTask, hashTtlSeconds: number) => submitBatch([task], hashTtlSeconds),
    submitBatch,
    async taskState(taskId) {
      if (!client.isReady) throw new BackendUnavailableError('redis is not connected');
      try {
        return taskStateOf(await client.hmGet(keys.task(taskId), [...TASK_STATE_FIELDS]));
      } catch (err) {
        throw new BackendUnavailableError((err as Error).message);
      }
    },
    async health(): Promise<BackendHealth> {
      if (!client.isReady) return { ok: false, reason: 'redis is not connected' };
      try {
        await withTimeout(client.ping(), HEALTH_TIMEOUT_MS, 'PING');
        return { ok: true };
      } catch (err) {
        return { ok: false, reason: (err as Error).message };
      }
    },
    async queueStats(circles) {
      if (!client.isReady) throw new BackendUnavailableError('redis is not connected');
      const list = [...new Set(circles)];
      const stats = new Map<string, QueueStats>();
      if (list.length === 0) return stats;
      const flat = await evalLua<(number | string)[]>(
        client,
        QUEUE_STATS,
        list.map((pk) => keys.workQueue(pk)),
        [keys.task('')],
      );
      const now = Date.now();
      list.forEach((pk, i) => {
        const depth = Number(flat[2 * i]);
        stats.set(pk, { depth, oldestAgeSeconds: depth > 0 ? ageSeconds(String(flat[2 * i + 1]), now) : 0 });
      });
      return stats;
    },
    async readiness(circles): Promise<BackendHealth> {
      if (!client.isReady) return { ok: false, reason: 'redis is not connected' };
      const list = [...new Set(circles)];
      try {
        if (list.length === 0) {
          await withTimeout(client.ping(), HEALTH_TIMEOUT_MS, 'PING');
          return { ok: true };
        }
        const live = await withTimeout(
          evalLua<number[]>(
            client,
            LIVE_WORKERS,
            list.map((pk) => keys.circleWorkers(pk)),
            [keys.workerAlive('')],
          ),
          HEALTH_TIMEOUT_MS,
          'the worker check',
        );
        const served = new Set(list.filter((_, i) => Number(live[i]) > 0));
        return workerReadiness(list, (pk) => served.has(pk));
      } catch (err) {
        return { ok: false, reason: (err as Error).message };
      }
    },
    async markOnce(key, ttlSeconds) {
      if (!client.isReady) throw new BackendUnavailableError('redis is not connected');
      try {
        return (
          (await client.set(key, '1', { condition: 'NX', expiration: { type: 'EX', value: ttlSeconds } })) ===
          'OK'
        );
      } catch (err) {
        throw new BackendUnavailableError((err as Error).message);
      }
    },
    async unmark(key) {
      if (!client.isReady) throw new BackendUnavailableError('redis is not connected');
      try {
        await client.del(key);
      } catch (err) {
        throw new BackendUnavailableError((err as Error).message);
      }
    },
    close() {
      closed ??= (async () => {
        stopping = true;
        // destroy() interrupts the blocking BLMPOP instead of waiting out its timeout.
        if (reader.isOpen) reader.destroy();
        await loop?.catch(() => undefined);
        if (client.isReady) await client.close().catch(() => client.destroy());
        else if (client.isOpen) client.destroy();
      })();
      return closed;
    },
  };
}
