import { randomUUID } from 'node:crypto';
import { createClient } from 'redis';
import { silentLogger } from '../../log';
import { keyBuilder, type KeyBuilder } from '../../queue/keys';
import type { TaskReply } from '../../queue/task';
import { startWorker, type WorkerHandle, type WorkerOptionsInput } from '../../worker';
import { startRedis, type TestRedis } from './redis-server';

/*
 * Tasks on Redis as the dispatcher leaves them and the worker answers them (SPEC §4), for
 * specs that drive a real worker by hand: queue a task, pop its reply.
 */

export type RedisClient = ReturnType<typeof createClient>;

/** A spec file's redis-server and a client on it; `stop` closes the client, then the server. */
export interface RedisAndClient {
  readonly redis: TestRedis;
  readonly client: RedisClient;
  stop(): Promise<void>;
}

/** The same with a second client, `replies`, for blocking pops. */
export interface RedisAndClients extends RedisAndClient {
  readonly replies: RedisClient;
}

export async function startRedisAndClient(): Promise<RedisAndClient> {
  const redis = await startRedis();
  const client: RedisClient = createClient({ url: redis.url });
  await client.connect();
  return {
    redis,
    client,
    async stop() {
      client.destroy();
      await redis.stop();
    },
  };
}

/** Only where a spec pops replies: some specs kill every other connection to their Redis. */
export async function startRedisAndClients(): Promise<RedisAndClients> {
  const one = await startRedisAndClient();
  const replies: RedisClient = one.client.duplicate();
  await replies.connect();
  return {
    ...one,
    replies,
    async stop() {
      replies.destroy();
      await one.stop();
    },
  };
}

/** One test's view of Redis: its own namespace and reply queue. */
export interface TaskScene {
  readonly ns: string;
  readonly keys: KeyBuilder;
  readonly replyQueue: string;
}

export function newTaskScene(redis: TestRedis): TaskScene {
  const ns = redis.namespace();
  const keys = keyBuilder(ns);
  return { ns, keys, replyQueue: keys.replyQueue('spec') };
}

/** Queues a task the way the dispatcher does: hash first, then LPUSH of the id; the id. */
export async function enqueueTask(
  client: RedisClient,
  s: Pick<TaskScene, 'keys' | 'replyQueue'>,
  task: {
    script: string;
    circle: string;
    callerId: string;
    taskId?: string;
    /** Hash fields over the usual ones. */
    fields?: Record<string, string>;
  },
): Promise<string> {
  const { script, circle, callerId, taskId = randomUUID(), fields = {} } = task;
  const now = new Date().toISOString();
  await client.hSet(s.keys.task(taskId), {
    taskId,
    script,
    callerId,
    contextId: circle,
    status: 'pending',
    createdAt: now,
    updatedAt: now,
    replyToQueue: s.replyQueue,
    ...fields,
  });
  await client.lPush(s.keys.workQueue(circle), taskId);
  return taskId;
}

/** The next reply on `queue` (a blocking pop on `replies`); fails after `timeoutS`. */
export async function popReply(replies: RedisClient, queue: string, timeoutS = 10): Promise<TaskReply> {
  const popped = await replies.brPop(queue, timeoutS);
  if (!popped) throw new Error(`no reply within ${timeoutS} s`);
  return JSON.parse(popped.element) as TaskReply;
}

/** A real worker on `redisUrl` under `namespace`, with a fresh id and a silent logger. */
export function startRedisWorker(
  redisUrl: string,
  namespace: string,
  options: Partial<WorkerOptionsInput> & Pick<WorkerOptionsInput, 'circles'>,
): Promise<WorkerHandle> {
  return startWorker(
    { redisUrl, namespace, workerId: `w-${randomUUID()}`, ...options },
    { logger: silentLogger() },
  );
}
