import { randomUUID } from 'node:crypto';
import { createClient } from 'redis';
import { silentLogger } from '../../log';
import { keyBuilder } from '../../queue/keys';
import type { TaskReply } from '../../queue/task';
import { startWorker } from '../../worker';
import { startRedis, type TestRedis } from '../support/redis-server';

const CIRCLE = '0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798';

let redis: TestRedis;

beforeAll(async () => {
  redis = await startRedis();
});

afterAll(() => redis.stop());

async function roundTrip(url: string, ns: string, script: string): Promise<TaskReply> {
  const keys = keyBuilder(ns);
  const client = createClient({ url });
  await client.connect();
  try {
    const taskId = randomUUID();
    const replyToQueue = keys.replyQueue('restart');
    await client.hSet(keys.task(taskId), {
      taskId,
      script,
      callerId: 'x',
      contextId: CIRCLE,
      status: 'pending',
      replyToQueue,
    });
    await client.lPush(keys.workQueue(CIRCLE), taskId);
    const popped = await client.brPop(replyToQueue, 15);
    if (!popped) throw new Error('no reply');
    return JSON.parse(popped.element) as TaskReply;
  } finally {
    client.destroy();
  }
}

describe('worker and a Redis restart', () => {
  it('reconnects and keeps serving after Redis restarts', async () => {
    const ns = redis.namespace();
    const worker = await startWorker(
      { circles: [CIRCLE], redisUrl: redis.url, namespace: ns, concurrency: 1, blockTimeoutMs: 200 },
      { logger: silentLogger() },
    );
    try {
      expect(await roundTrip(redis.url, ns, '"before"')).toMatchObject({
        status: 'completed',
        output: 'before',
      });
      await redis.stop();
      await redis.start();
      // Scripts are gone from the restarted server too: the first calls must resend them.
      expect(await roundTrip(redis.url, ns, '"after"')).toMatchObject({
        status: 'completed',
        output: 'after',
      });
    } finally {
      await worker.stop();
    }
  });
});
