import { randomUUID } from 'node:crypto';
import { silentLogger } from '../../log';
import type { DispatchBackend } from '../../queue/dispatch-backend';
import { keyBuilder } from '../../queue/keys';
import { createRedisDispatch } from '../../queue/redis-dispatch';
import type { TaskReply } from '../../queue/task';
import type { TestRedis } from '../support/redis-server';
import { startRedisAndClient, type RedisClient } from '../support/redis-tasks';
import { until } from '../support/until';

/**
 * The dispatcher's reply reader on Redis (SPEC §4): a reply that reached Redis reaches its
 * session even when the reader's connection drops mid-read, and is removed only once routed.
 */

const CIRCLE = '034f355bdcb7cc0af728ef3cceb9615d90684bb5b2ca5f859ab0f0b704075871aa';
let redis: TestRedis;
let client: RedisClient;
let stopRedis: () => Promise<void>;
beforeAll(async () => {
  ({ redis, client, stop: stopRedis } = await startRedisAndClient());
});
afterAll(() => stopRedis());

/** A started dispatcher, the replies it routed, and its reply queue's name. */
async function dispatcher(): Promise<{ d: DispatchBackend; got: TaskReply[]; replyQueue: string }> {
  const namespace = redis.namespace();
  const d = createRedisDispatch({ url: redis.url, namespace, logger: silentLogger() });
  const got: TaskReply[] = [];
  await d.start((replies) => got.push(...replies));
  const taskId = randomUUID();
  await d.submit({ taskId, script: 'x', callerId: 'c', contextId: CIRCLE }, 60);
  const replyQueue = await client.hGet(keyBuilder(namespace).task(taskId), 'replyToQueue');
  return { d, got, replyQueue: replyQueue! };
}

const reply = (taskId: string): string => JSON.stringify({ taskId, status: 'completed', output: taskId });

describe('reply reader (Redis)', () => {
  it('routes replies in order and leaves nothing behind once routed', async () => {
    const { d, got, replyQueue } = await dispatcher();
    const inflight = replyQueue.replace('rhailib:reply:', 'rhailib:reply-inflight:');
    const ids = Array.from({ length: 300 }, () => randomUUID());
    await client.lPush(replyQueue, ids.map(reply));
    await until(() => (got.length === ids.length ? true : undefined), 'all replies');
    expect(got.map((r) => r.taskId)).toEqual(ids);
    // the last batch is acknowledged by the reader's next step
    await client.lPush(replyQueue, reply('one more'));
    await until(() => (got.length === ids.length + 1 ? true : undefined), 'one more');
    await until(async () => ((await client.lLen(inflight)) <= 1 ? true : undefined), 'acknowledged');
    await d.close();
  });

  it('routes a reply it had taken but not routed when its connection dropped', async () => {
    const { d, got, replyQueue } = await dispatcher();
    const inflight = replyQueue.replace('rhailib:reply:', 'rhailib:reply-inflight:');
    // as if BLMOVE had moved it and the answer was lost with the connection
    await client.lPush(inflight, reply('taken-not-routed'));
    await client.sendCommand(['CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes']);
    const routed = await until(() => got.find((r) => r.taskId === 'taken-not-routed'), 'the recovered reply');
    expect(routed).toEqual({ taskId: 'taken-not-routed', status: 'completed', output: 'taken-not-routed' });
    // and it keeps reading afterwards
    await client.lPush(replyQueue, reply('after'));
    await until(() => got.find((r) => r.taskId === 'after'), 'a reply after the reconnect');
    await d.close();
  });
});
