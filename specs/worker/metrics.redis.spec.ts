import { randomUUID } from 'node:crypto';
import net from 'node:net';
import type { TaskReply } from '../../queue/task';
import type { WorkerHandle, WorkerOptionsInput } from '../../worker';
import { sample } from '../support/prometheus-text';
import { startRedis, type TestRedis } from '../support/redis-server';
import {
  enqueueTask,
  newTaskScene,
  popReply,
  startRedisAndClients,
  startRedisWorker,
  type RedisClient,
  type TaskScene,
} from '../support/redis-tasks';
import { until } from '../support/until';

/**
 * circles-worker's HTTP endpoint (issue 11): `/metrics` with its task counters, `/livez`,
 * and `/readyz` (ready once taking tasks with Redis answering; 503 once stop begins).
 */

const CIRCLE = '0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798';

let redis: TestRedis;
let client: RedisClient;
let replies: RedisClient;
let stopRedis: () => Promise<void>;
const workers: WorkerHandle[] = [];

beforeAll(async () => {
  ({ redis, client, replies, stop: stopRedis } = await startRedisAndClients());
});
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop()));
});
afterAll(() => stopRedis());

const scene = (): TaskScene => newTaskScene(redis);

async function worker(
  s: TaskScene,
  options: Partial<WorkerOptionsInput> = {},
  redisUrl = redis.url,
): Promise<WorkerHandle> {
  const handle = await startRedisWorker(redisUrl, s.ns, {
    circles: [CIRCLE],
    concurrency: 1,
    metricsPort: 0,
    ...options,
  });
  workers.push(handle);
  return handle;
}

const enqueue = (s: TaskScene, script: string): Promise<string> =>
  enqueueTask(client, s, { script, circle: CIRCLE, callerId: 'caller' });

const nextReply = (s: TaskScene): Promise<TaskReply> => popReply(replies, s.replyQueue);

async function get(
  w: WorkerHandle,
  path: string,
  method = 'GET',
): Promise<{ status: number; body: string; type: string }> {
  const res = await fetch(`${w.metricsUrl}${path}`, { method });
  return { status: res.status, body: await res.text(), type: res.headers.get('content-type') ?? '' };
}

/** The `/metrics` text once `name{labels}` reads `value` (the count lags the reply a little). */
async function settledMetrics(
  w: WorkerHandle,
  name: string,
  labels: Record<string, string>,
  value: number,
): Promise<string> {
  return until(
    async () => {
      const text = (await get(w, '/metrics')).body;
      return sample(text, name, labels) === value ? text : undefined;
    },
    `${name} = ${value}`,
    5000,
  );
}

describe('circles-worker HTTP endpoint', () => {
  it('counts a completed and a failed task on /metrics', async () => {
    const s = scene();
    const w = await worker(s);
    expect(w.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    const good = await enqueue(s, '40 + 2');
    expect(await nextReply(s)).toEqual({ taskId: good, status: 'completed', output: '42' });
    const bad = await enqueue(s, '1 + true');
    expect(await nextReply(s)).toMatchObject({ taskId: bad, status: 'error' });

    // A reply is in Redis when the result's script runs; the worker counts it when that
    // script's answer reaches it, a moment later.
    await settledMetrics(w, 'circles_worker_tasks_failed_total', { reason: 'script' }, 1);
    const res = await get(w, '/metrics');
    expect(res.status).toBe(200);
    expect(res.type).toMatch(/^text\/plain/);
    const text = res.body;
    expect(sample(text, 'circles_worker_tasks_taken_total')).toBe(2);
    expect(sample(text, 'circles_worker_tasks_completed_total')).toBe(1);
    expect(sample(text, 'circles_worker_tasks_failed_total', { reason: 'script' })).toBe(1);
    expect(sample(text, 'circles_worker_tasks_failed_total', { reason: 'malformed' })).toBe(0);
    expect(sample(text, 'circles_worker_script_duration_seconds_count')).toBe(2);
    expect(sample(text, 'circles_worker_threads')).toBe(1);
    expect(sample(text, 'circles_worker_threads_busy')).toBe(0);
    expect(sample(text, 'circles_worker_tasks_requeued_total')).toBe(0);
    expect(sample(text, 'circles_worker_store_conflict_reruns_total')).toBe(0);
    expect(sample(text, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
    // the same series the handle exposes for a launcher to merge
    expect(sample(await w.metrics.metrics(), 'circles_worker_tasks_completed_total')).toBe(1);
  });

  it('counts a malformed task as failed for that reason', async () => {
    const s = scene();
    const w = await worker(s);
    const taskId = randomUUID();
    await client.hSet(s.keys.task(taskId), { taskId, contextId: CIRCLE, replyToQueue: s.replyQueue });
    await client.lPush(s.keys.workQueue(CIRCLE), taskId);
    expect(await nextReply(s)).toMatchObject({ taskId, status: 'error' });
    const text = await settledMetrics(w, 'circles_worker_tasks_failed_total', { reason: 'malformed' }, 1);
    expect(sample(text, 'circles_worker_tasks_failed_total', { reason: 'malformed' })).toBe(1);
    expect(sample(text, 'circles_worker_tasks_failed_total', { reason: 'script' })).toBe(0);
  });

  it("counts a dead worker's tasks it re-queued", async () => {
    const s = scene();
    const id = await enqueue(s, '"recovered"');
    // a worker that died holding the task: registered, no liveness key
    await client.lMove(s.keys.workQueue(CIRCLE), s.keys.processing(CIRCLE, 'dead'), 'RIGHT', 'LEFT');
    await client.sAdd(s.keys.circleWorkers(CIRCLE), 'dead');
    const w = await worker(s);
    expect(await nextReply(s)).toEqual({ taskId: id, status: 'completed', output: 'recovered' });
    const text = await settledMetrics(w, 'circles_worker_tasks_completed_total', {}, 1);
    expect(sample(text, 'circles_worker_tasks_reclaimed_total')).toBe(1);
    expect(sample(text, 'circles_worker_tasks_completed_total')).toBe(1);
  });

  it('answers /livez, /readyz and HEAD; 404 elsewhere', async () => {
    const w = await worker(scene());
    expect(await get(w, '/livez')).toMatchObject({ status: 200 });
    expect(await get(w, '/readyz')).toEqual({
      status: 200,
      body: JSON.stringify({ status: 'ready' }),
      type: 'application/json',
    });
    for (const path of ['/livez', '/readyz', '/metrics']) {
      expect(await get(w, path, 'HEAD')).toMatchObject({ status: 200, body: '' });
    }
    expect((await get(w, '/nope')).status).toBe(404);
    expect((await get(w, '/metrics', 'POST')).status).toBe(405);
  });

  it('says not ready (503) as soon as stop begins, while it drains', async () => {
    const s = scene();
    const w = await worker(s, { playTimeoutMs: 10_000 });
    expect((await get(w, '/readyz')).status).toBe(200);
    // about a second, well within the operation budget (as in worker/tasks.redis.spec.ts)
    const slow = await enqueue(
      s,
      'let s = ""; s.pad(500000, "y"); for i in 0..60 { s.replace("y", "z"); s.replace("z", "y"); } "done"',
    );
    await until(
      async () =>
        sample((await get(w, '/metrics')).body, 'circles_worker_threads_busy') === 1 ? true : undefined,
      'the long script running on a thread',
    );

    const stopped = w.stop();
    const ready = await get(w, '/readyz');
    expect(ready.status).toBe(503);
    expect(JSON.parse(ready.body)).toEqual({ status: 'unavailable', reason: 'worker is stopping' });
    expect((await get(w, '/livez')).status).toBe(200);
    await stopped;
    // drained: the running script finished and was answered before the endpoint closed
    expect(await nextReply(s)).toEqual({ taskId: slow, status: 'completed', output: 'done' });
    await expect(fetch(`${w.metricsUrl}/livez`)).rejects.toThrow();
  });

  it('says not ready while Redis does not answer, ready again once it does', async () => {
    const own = await startRedis();
    try {
      const w = await worker(scene(), {}, own.url);
      expect((await get(w, '/readyz')).status).toBe(200);
      await own.stop();
      const down = await get(w, '/readyz');
      expect(down.status).toBe(503);
      expect(JSON.parse(down.body)).toMatchObject({ status: 'unavailable', reason: expect.any(String) });
      await own.start();
      await until(async () => ((await get(w, '/readyz')).status === 200 ? true : undefined), 'ready again');
    } finally {
      await Promise.all(workers.splice(0).map((w) => w.stop()));
      await own.stop();
    }
  });

  it('fails the start with one line when the metrics port is taken', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const { port } = blocker.address() as net.AddressInfo;
    try {
      await expect(worker(scene(), { metricsPort: port })).rejects.toThrow(
        `cannot serve metrics on 127.0.0.1:${port}: EADDRINUSE`,
      );
    } finally {
      blocker.close();
    }
  });

  it('serves nothing without metricsPort', async () => {
    const w = await worker(scene(), { metricsPort: undefined });
    expect(w.metricsUrl).toBeUndefined();
    expect(sample(await w.metrics.metrics(), 'circles_worker_threads')).toBe(1);
  });
});
