import { silentLogger } from '../../log';
import { keyBuilder, type KeyBuilder } from '../../queue/keys';
import { connectRedisBackend, type RedisWorkerBackend } from '../../queue/redis-worker';
import { freePort, type TestRedis } from '../support/redis-server';
import { startRedisAndClient, type RedisClient } from '../support/redis-tasks';

const CIRCLE_A = '02' + 'a'.repeat(64);
const CIRCLE_B = '03' + 'b'.repeat(64);

let redis: TestRedis;
let client: RedisClient;
let stopRedis: () => Promise<void>;
const opened: RedisWorkerBackend[] = [];

beforeAll(async () => {
  ({ redis, client, stop: stopRedis } = await startRedisAndClient());
});

afterEach(async () => {
  await Promise.all(opened.splice(0).map((backend) => backend.close()));
});

afterAll(() => stopRedis());

async function backendFor(
  namespace: string,
  workerId: string,
  circles: string[] = [CIRCLE_A],
): Promise<RedisWorkerBackend> {
  const backend = await connectRedisBackend({
    redisUrl: redis.url,
    namespace,
    workerId,
    circles,
    taskTtlS: 600,
    livenessTtlS: 30,
    logger: silentLogger(),
  });
  opened.push(backend);
  return backend;
}

/** Queues ids the way the dispatcher does (LPUSH, so the first pushed is taken first). */
async function push(keys: KeyBuilder, circle: string, ids: string[]): Promise<void> {
  for (const id of ids) await client.lPush(keys.workQueue(circle), id);
}

describe('RedisWorkerBackend', () => {
  it('takes a batch oldest first and holds it in the processing list', async () => {
    const ns = redis.namespace();
    const keys = keyBuilder(ns);
    const backend = await backendFor(ns, 'w1');
    await push(keys, CIRCLE_A, ['t1', 't2', 't3', 't4', 't5']);

    const taken = await backend.take(3, 1000);

    expect(taken.map((t) => t.task.taskId)).toEqual(['t1', 't2', 't3']);
    expect(await client.lRange(keys.workQueue(CIRCLE_A), 0, -1)).toEqual(['t5', 't4']);
    expect((await client.lRange(keys.processing(CIRCLE_A, 'w1'), 0, -1)).sort()).toEqual(['t1', 't2', 't3']);
  });

  it('blocks until a task arrives, then takes it', async () => {
    const ns = redis.namespace();
    const keys = keyBuilder(ns);
    const backend = await backendFor(ns, 'w1');

    const taking = backend.take(10, 5000);
    setTimeout(() => void push(keys, CIRCLE_A, ['late']), 50);

    expect((await taking).map((t) => t.task.taskId)).toEqual(['late']);
  });

  it('returns nothing when the block times out', async () => {
    const ns = redis.namespace();
    const backend = await backendFor(ns, 'w1');
    expect(await backend.take(10, 50)).toEqual([]);
  });

  it('shares a batch fairly between circles', async () => {
    const ns = redis.namespace();
    const keys = keyBuilder(ns);
    const backend = await backendFor(ns, 'w1', [CIRCLE_A, CIRCLE_B]);
    await push(
      keys,
      CIRCLE_A,
      Array.from({ length: 20 }, (_, i) => `a${i}`),
    );
    await push(keys, CIRCLE_B, ['b0', 'b1']);

    const taken = await backend.take(6, 1000);

    const fromB = taken.filter((t) => t.task.circlePk === CIRCLE_B).map((t) => t.task.taskId);
    const fromA = taken.filter((t) => t.task.circlePk === CIRCLE_A).map((t) => t.task.taskId);
    expect(fromB).toEqual(['b0', 'b1']);
    expect(fromA).toEqual(['a0', 'a1', 'a2', 'a3']);
  });

  it('stopTaking ends a blocked take at once', async () => {
    const ns = redis.namespace();
    const backend = await backendFor(ns, 'w1');
    const started = Date.now();
    const taking = backend.take(10, 20_000);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await backend.stopTaking();
    expect(await taking).toEqual([]);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('completes a task: hash and expiry, store writes, reply, then releases the id', async () => {
    const ns = redis.namespace();
    const keys = keyBuilder(ns);
    const backend = await backendFor(ns, 'w1');
    await client.hSet(keys.task('t1'), { taskId: 't1', status: 'processing', contextId: CIRCLE_A });
    await client.hSet(keys.store(CIRCLE_A), { gone: '1' });
    await push(keys, CIRCLE_A, ['t1']);
    const [claimed] = await backend.take(1, 1000);
    const [gone] = await backend.readKeys(CIRCLE_A, ['gone']);

    const written = await backend.complete(
      [
        {
          task: claimed!.task,
          status: 'completed',
          text: '42',
          replyToQueue: keys.replyQueue('d1'),
          store: { reads: [['gone', gone!.version]], sets: [['k', '"v"']], deletes: ['gone'] },
        },
      ],
      '2024-01-01T00:00:00.000Z',
    );

    expect(written).toEqual(['written']);
    expect(await client.hGetAll(keys.task('t1'))).toMatchObject({
      status: 'completed',
      output: '42',
      updatedAt: '2024-01-01T00:00:00.000Z',
    });
    const ttl = await client.ttl(keys.task('t1'));
    expect(ttl).toBeGreaterThan(590);
    expect(ttl).toBeLessThanOrEqual(600);
    expect({ ...(await client.hGetAll(keys.store(CIRCLE_A))) }).toEqual({ k: '"v"' });
    // a dead dispatcher's reply queue does not stay for ever
    expect(await client.ttl(keys.replyQueue('d1'))).toBeGreaterThan(0);
    expect(JSON.parse((await client.rPop(keys.replyQueue('d1'))) ?? 'null')).toEqual({
      taskId: 't1',
      status: 'completed',
      output: '42',
    });
    expect(await client.lLen(keys.processing(CIRCLE_A, 'w1'))).toBe(0);
  });

  it('takes and claims in one step, after a blocking wait too', async () => {
    const ns = redis.namespace();
    const keys = keyBuilder(ns);
    const backend = await backendFor(ns, 'w1');
    await client.hSet(keys.task('p'), { taskId: 'p', status: 'pending', script: '1', contextId: CIRCLE_A });
    await client.hSet(keys.task('c'), { taskId: 'c', status: 'completed', output: '1' });
    await push(keys, CIRCLE_A, ['p', 'missing', 'c']);

    const claimed = await backend.take(10, 100);

    expect(claimed).toEqual([
      {
        task: { circlePk: CIRCLE_A, taskId: 'p' },
        stored: { status: 'pending', script: '1', contextId: CIRCLE_A },
      },
      { task: { circlePk: CIRCLE_A, taskId: 'missing' }, stored: null },
      { task: { circlePk: CIRCLE_A, taskId: 'c' }, stored: { status: 'completed' } },
    ]);
    expect(await client.hGetAll(keys.task('p'))).toMatchObject({ status: 'processing' });
    expect(await client.hGet(keys.task('c'), 'status')).toBe('completed');
    expect(await client.lRange(keys.processing(CIRCLE_A, 'w1'), 0, -1)).toEqual(['c', 'missing', 'p']);

    // The queue is empty now: the next take blocks, and claims what the BLMOVE delivers.
    const next = backend.take(10, 2_000);
    await client.hSet(keys.task('q'), { status: 'pending', script: '2' });
    await push(keys, CIRCLE_A, ['q']);
    expect(await next).toEqual([
      { task: { circlePk: CIRCLE_A, taskId: 'q' }, stored: { status: 'pending', script: '2' } },
    ]);
    expect(await client.hGet(keys.task('q'), 'status')).toBe('processing');
  });

  it('completes a batch in order, skipping tasks it does not hold', async () => {
    const ns = redis.namespace();
    const keys = keyBuilder(ns);
    const backend = await backendFor(ns, 'w1');
    await push(keys, CIRCLE_A, ['t1', 't3']);
    const [t1, t3] = (await backend.take(2, 100)).map((claimed) => claimed.task);
    const t2 = { circlePk: CIRCLE_A, taskId: 't2' };
    const replyQueue = keys.replyQueue('d1');

    const written = await backend.complete(
      [
        { task: t1!, status: 'completed', text: 'one', replyToQueue: replyQueue },
        {
          task: t2,
          status: 'completed',
          text: 'two',
          replyToQueue: replyQueue,
          store: { reads: [], sets: [['a', '1']], deletes: [] },
        },
        {
          task: t3!,
          status: 'completed',
          text: 'three',
          store: { reads: [], sets: [['b', '2']], deletes: [] },
        },
      ],
      'T',
    );

    expect(written).toEqual(['written', 'not-held', 'written']);
    expect((await client.lRange(replyQueue, 0, -1)).map((r) => JSON.parse(r) as unknown)).toEqual([
      { taskId: 't1', status: 'completed', output: 'one' },
    ]);
    expect(await client.hGetAll(keys.task('t3'))).toMatchObject({ status: 'completed', output: 'three' });
    expect({ ...(await client.hGetAll(keys.store(CIRCLE_A))) }).toEqual({ b: '2' });
    expect(await client.exists(keys.task('t2'))).toBe(0);
    expect(await client.lLen(keys.processing(CIRCLE_A, 'w1'))).toBe(0);
  });

  it('writes nothing for a task it no longer holds', async () => {
    const ns = redis.namespace();
    const keys = keyBuilder(ns);
    const backend = await backendFor(ns, 'w1');
    await client.hSet(keys.task('t1'), { status: 'processing' });

    const written = await backend.complete(
      [
        {
          task: { circlePk: CIRCLE_A, taskId: 't1' },
          status: 'error',
          text: 'x',
          replyToQueue: keys.replyQueue('d1'),
        },
      ],
      new Date().toISOString(),
    );

    expect(written).toEqual(['not-held']);
    expect(await client.hGet(keys.task('t1'), 'status')).toBe('processing');
    expect(await client.lLen(keys.replyQueue('d1'))).toBe(0);
  });

  it('reclaims the lists of dead workers only, to the front of the queue', async () => {
    const ns = redis.namespace();
    const keys = keyBuilder(ns);
    const backend = await backendFor(ns, 'w1');
    await client.lPush(keys.workQueue(CIRCLE_A), 'newer');
    // Held the way BLMOVE leaves them: most recently taken on the left.
    await client.lPush(keys.processing(CIRCLE_A, 'dead'), ['d-old', 'd-new']);
    await client.lPush(keys.processing(CIRCLE_A, 'alive'), ['x']);
    await client.set(keys.workerAlive('alive'), '1', { expiration: { type: 'EX', value: 30 } });

    expect(await backend.reclaimDead()).toBe(2);

    expect(await client.lRange(keys.workQueue(CIRCLE_A), 0, -1)).toEqual(['newer', 'd-new', 'd-old']);
    expect(await client.exists(keys.processing(CIRCLE_A, 'dead'))).toBe(0);
    expect(await client.lRange(keys.processing(CIRCLE_A, 'alive'), 0, -1)).toEqual(['x']);
    expect((await backend.take(3, 100)).map((t) => t.task.taskId)).toEqual(['d-old', 'd-new', 'newer']);
  });

  it('finds dead workers through the circle registry between SCANs, and forgets them', async () => {
    const ns = redis.namespace();
    const keys = keyBuilder(ns);
    const backend = await backendFor(ns, 'w1');
    await backend.refreshLiveness();
    expect(await client.sMembers(keys.circleWorkers(CIRCLE_A))).toEqual(['w1']);
    expect(await backend.reclaimDead()).toBe(0); // the first pass also SCANs
    await client.sAdd(keys.circleWorkers(CIRCLE_A), 'gone');
    await client.lPush(keys.processing(CIRCLE_A, 'gone'), ['g1', 'g2']);
    await client.lPush(keys.processing(CIRCLE_A, 'unregistered'), ['u1']);

    expect(await backend.reclaimDead()).toBe(2);

    expect(await client.lRange(keys.workQueue(CIRCLE_A), 0, -1)).toEqual(['g2', 'g1']);
    expect(await client.sMembers(keys.circleWorkers(CIRCLE_A))).toEqual(['w1']);
    // left for the next SCAN pass
    expect(await client.lLen(keys.processing(CIRCLE_A, 'unregistered'))).toBe(1);
    await backend.close();
    expect(await client.sMembers(keys.circleWorkers(CIRCLE_A))).toEqual([]);
  });

  it('requeues everything it holds, and chosen ids, in taking order', async () => {
    const ns = redis.namespace();
    const keys = keyBuilder(ns);
    const backend = await backendFor(ns, 'w1');
    await push(keys, CIRCLE_A, ['t1', 't2', 't3', 't4']);
    await backend.take(4, 100);

    const held = await backend.listHeld();
    expect(await backend.requeue(held.filter((t) => t.taskId !== 't2'))).toBe(3);
    expect(await backend.requeueAllHeld()).toBe(1);

    expect((await backend.take(4, 100)).map((t) => t.task.taskId)).toEqual(['t2', 't1', 't3', 't4']);
  });

  it('keeps a liveness key with an expiry and deletes it on close', async () => {
    const ns = redis.namespace();
    const keys = keyBuilder(ns);
    const backend = await backendFor(ns, 'w1');
    await backend.refreshLiveness();
    expect(await client.ttl(keys.workerAlive('w1'))).toBeGreaterThan(25);
    await backend.close();
    expect(await client.exists(keys.workerAlive('w1'))).toBe(0);
  });

  it('fails fast with one clear line when Redis is unreachable', async () => {
    const port = await freePort();
    await expect(
      connectRedisBackend({
        redisUrl: `redis://127.0.0.1:${port}`,
        namespace: '',
        workerId: 'w',
        circles: [CIRCLE_A],
        taskTtlS: 1,
        livenessTtlS: 1,
        logger: silentLogger(),
      }),
    ).rejects.toThrow(new RegExp(`^cannot connect to Redis at redis://127.0.0.1:${port}: .+`));
  });
});
