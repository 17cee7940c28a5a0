import { randomUUID } from 'node:crypto';
import { silentLogger } from '../../log';
import type { TaskReply } from '../../queue/task';
import { connectRedisBackend } from '../../queue/redis-worker';
import { startWorker, type WorkerHandle, type WorkerOptionsInput } from '../../worker';
import { PLAY_EXPIRED, SUBMIT_CLOCK_GRACE_MS } from '../../worker/task-loop';
import { literalStoreKeys } from '../../worker/task-plan';
import type { TestRedis } from '../support/redis-server';
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

/** Two valid circle keys (the generator point G and 2G). */
const CIRCLE_A = '0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798';
const CIRCLE_B = '02c6047f9441ed7d6d3045406e95c07cd85c778e4b8cef3ca7abac09b95c709ee5';

let redis: TestRedis;
let client: RedisClient;
let replies: RedisClient;
let stopRedis: () => Promise<void>;
const workers: WorkerHandle[] = [];

beforeAll(async () => {
  ({ redis, client, replies, stop: stopRedis } = await startRedisAndClients());
});

afterEach(async () => {
  await Promise.all(workers.splice(0).map((worker) => worker.stop()));
});

afterAll(() => stopRedis());

const scene = (): TaskScene => newTaskScene(redis);

async function worker(s: TaskScene, options: Partial<WorkerOptionsInput> = {}): Promise<WorkerHandle> {
  const handle = await startRedisWorker(redis.url, s.ns, { circles: [CIRCLE_A], concurrency: 2, ...options });
  workers.push(handle);
  return handle;
}

/** Queues a task from caller-pk, for CIRCLE_A unless `circle` says otherwise; `fields` over the usual hash. */
function enqueue(
  s: TaskScene,
  script: string,
  fields: Partial<Record<string, string>> & { circle?: string } = {},
): Promise<string> {
  const { circle = CIRCLE_A, ...overrides } = fields;
  return enqueueTask(client, s, {
    script,
    circle,
    callerId: 'caller-pk',
    fields: overrides as Record<string, string>,
  });
}

const nextReply = (s: TaskScene, timeoutS = 10): Promise<TaskReply> =>
  popReply(replies, s.replyQueue, timeoutS);

/** The next two replies, by task id (in whichever order they finish). */
async function bothReplies(s: TaskScene): Promise<Map<string, TaskReply>> {
  const replies = [await nextReply(s), await nextReply(s)];
  return new Map(replies.map((r) => [r.taskId, r]));
}

/** A script that takes a while (about a second; well within the operation budget), then returns `value`. */
const slow = (value: string): string =>
  `let s = ""; s.pad(500000, "y"); for i in 0..60 { s.replace("y", "z"); s.replace("z", "y"); } ${value}`;

describe('worker: running tasks', () => {
  it('runs a script with its constants, writes the hash with an expiry, and replies on replyToQueue', async () => {
    const s = scene();
    await worker(s, { taskTtlSeconds: 500 });
    const taskId = await enqueue(s, 'CALLER_ID + "@" + CONTEXT_ID');

    const reply = await nextReply(s);

    expect(reply).toEqual({ taskId, status: 'completed', output: `caller-pk@${CIRCLE_A}` });
    const hash = await client.hGetAll(s.keys.task(taskId));
    expect(hash).toMatchObject({ status: 'completed', output: `caller-pk@${CIRCLE_A}` });
    expect(Date.parse(hash.updatedAt)).toBeGreaterThanOrEqual(Date.parse(hash.createdAt));
    const ttl = await client.ttl(s.keys.task(taskId));
    expect(ttl).toBeGreaterThan(490);
    expect(ttl).toBeLessThanOrEqual(500);
  });

  it('serves one circle in FIFO order', async () => {
    const s = scene();
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) ids.push(await enqueue(s, `${i}`));
    await worker(s, { concurrency: 1, batchSize: 8 });

    const got: TaskReply[] = [];
    for (let i = 0; i < 30; i++) got.push(await nextReply(s));

    expect(got.map((r) => r.taskId)).toEqual(ids);
    expect(got.map((r) => r.output)).toEqual(ids.map((_, i) => `${i}`));
  });

  it('applies store writes as if one at a time, with several threads (no lost update)', async () => {
    const s = scene();
    for (let i = 0; i < 20; i++) {
      await enqueue(
        s,
        `let log = store_get("log"); if log == () { log = []; } log.push(${i}); store_set("log", log); log.len()`,
      );
    }
    await worker(s, { concurrency: 2 });

    const replies: TaskReply[] = [];
    for (let i = 0; i < 20; i++) replies.push(await nextReply(s));

    // Serializable: every append is there once, and each play saw all those committed before it.
    const log = JSON.parse((await client.hGet(s.keys.store(CIRCLE_A), 'log')) ?? 'null') as number[];
    expect([...log].sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(replies.map((r) => Number(r.output)).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 20 }, (_, i) => i + 1),
    );
  });

  it('moves a task from pending through processing to completed', async () => {
    const s = scene();
    const taskId = await enqueue(s, slow('"done"'));
    expect(await client.hGet(s.keys.task(taskId), 'status')).toBe('pending');
    await worker(s);

    await until(
      async () => (await client.hGet(s.keys.task(taskId), 'status')) === 'processing',
      'status processing',
      10_000,
      5,
    );
    expect(await nextReply(s)).toMatchObject({ taskId, status: 'completed', output: 'done' });
    expect(await client.hGet(s.keys.task(taskId), 'status')).toBe('completed');
  });

  it('reports engine errors with their position', async () => {
    const s = scene();
    await worker(s);
    const taskId = await enqueue(s, 'let x = 1;\nx + true');

    expect(await nextReply(s)).toEqual({
      taskId,
      status: 'error',
      error: 'Function not found: + (i64, bool) (line 2, position 3)',
      errorKind: 'ErrorFunctionNotFound',
      errorLine: 2,
      errorPosition: 3,
    });
    expect(await client.hGet(s.keys.task(taskId), 'status')).toBe('error');
  });

  it('stops `loop {}` at the operation limit and serves the next task', async () => {
    const s = scene();
    await worker(s, { concurrency: 1 });
    const looping = await enqueue(s, 'loop {}');
    const next = await enqueue(s, '40 + 2');

    // (a short script does not wait behind a long one: it may answer first)
    const replies = await bothReplies(s);
    expect(replies.get(looping)).toMatchObject({
      status: 'error',
      error: expect.stringMatching(/^Too many operations/),
    });
    expect(replies.get(next)).toEqual({ taskId: next, status: 'completed', output: '42' });
  });

  it('fails a script that outruns the play timeout and keeps serving', async () => {
    const s = scene();
    await worker(s, { concurrency: 1, playTimeoutMs: 50 });
    const long = await enqueue(s, 'let s = 0; for i in 0..100000000 { s += 1; } s');
    const next = await enqueue(s, '"next"');

    const replies = await bothReplies(s);
    expect(replies.get(long)).toMatchObject({ status: 'error' });
    expect(replies.get(next)).toEqual({ taskId: next, status: 'completed', output: 'next' });
  });

  it('does not run a play whose caller was already told -32003; a webhook event still runs', async () => {
    const s = scene();
    await worker(s, { concurrency: 1, playTimeoutMs: 2_000 });
    const longAgo = new Date(Date.now() - 60_000).toISOString();
    const expired = await enqueue(s, 'store_set("ran", true); "ran"', { createdAt: longAgo });
    const event = await enqueue(s, 'event.type', {
      createdAt: longAgo,
      input: '{"type":"late"}',
      callerId: 'stripe',
    });
    const replies = await bothReplies(s);
    expect(replies.get(expired)).toEqual({
      taskId: expired,
      status: 'error',
      error: PLAY_EXPIRED,
      errorKind: 'ErrorPlayExpired',
    });
    expect(replies.get(event)).toEqual({ taskId: event, status: 'completed', output: 'late' });
    expect(await client.hGet(s.keys.store(CIRCLE_A), 'ran')).toBeNull();
  });

  it('gives a play only what is left of its time since submission', async () => {
    const s = scene();
    await worker(s, { concurrency: 1, playTimeoutMs: 8_000 });
    // submitted 7.5 s ago: its caller gives up at 8 s (plus the clock grace), so the script
    // (about 20 s of work, well within the operation budget) must stop then, not after a fresh 8 s
    const spin = await enqueue(s, `for j in 0..20 { ${slow('0')} }`, {
      createdAt: new Date(Date.now() - 7_500).toISOString(),
    });
    const t0 = Date.now();
    const reply = await nextReply(s, 15);
    expect(reply).toMatchObject({ taskId: spin, status: 'error' });
    expect(reply.error).toMatch(/terminated|deadline/i);
    expect(Date.now() - t0).toBeLessThan(500 + SUBMIT_CLOCK_GRACE_MS + 3_000);
  });

  it('binds a task input as the constant `event`', async () => {
    const s = scene();
    await worker(s);
    const taskId = await enqueue(s, 'event.type + ":" + event.data.amount', {
      input: JSON.stringify({ type: 'charge', data: { amount: 5 } }),
      callerId: 'stripe',
    });
    expect(await nextReply(s)).toEqual({ taskId, status: 'completed', output: 'charge:5' });
  });

  it("keeps each circle's store to itself", async () => {
    const s = scene();
    await worker(s, { circles: [CIRCLE_A, CIRCLE_B] });

    const write = await enqueue(s, 'store_set("secret", "of A"); store_get("secret")', { circle: CIRCLE_A });
    expect(await nextReply(s)).toEqual({ taskId: write, status: 'completed', output: 'of A' });
    const read = await enqueue(s, 'store_get("secret")', { circle: CIRCLE_B });
    expect(await nextReply(s)).toEqual({ taskId: read, status: 'completed', output: '' });

    expect({ ...(await client.hGetAll(s.keys.store(CIRCLE_A))) }).toEqual({ secret: '"of A"' });
    expect(await client.exists(s.keys.store(CIRCLE_B))).toBe(0);
  });

  it('reads, lists and deletes keys on demand; store_keys(prefix) is sorted and sees own writes', async () => {
    const s = scene();
    await worker(s);
    const fill = await enqueue(s, 'for k in ["b:2", "a:1", "b:1", "c"] { store_set(k, k.len()); } "ok"');
    expect(await nextReply(s)).toEqual({ taskId: fill, status: 'completed', output: 'ok' });
    const list = await enqueue(
      s,
      'store_set("b:0", 0); let had = store_delete("b:2"); let gone = store_delete("nope"); `${store_keys("b:")} ${store_keys().len()} ${had} ${gone}`',
    );
    expect(await nextReply(s)).toEqual({
      taskId: list,
      status: 'completed',
      output: '["b:0", "b:1"] 4 true false',
    });
    expect(Object.keys(await client.hGetAll(s.keys.store(CIRCLE_A))).sort()).toEqual([
      'a:1',
      'b:0',
      'b:1',
      'c',
    ]);
  });

  it('fails a script over the store limits with a runtime error and its position, writing nothing', async () => {
    const s = scene();
    await worker(s);
    const cases: [string, RegExp][] = [
      [
        'let k = "k"; k.pad(1025, "x");\nstore_set("ok", 1); store_set(k, 1)',
        /store_set: key 'kx+…' is 1025 bytes, over the limit of 1024.*line 2/,
      ],
      [
        'let a = []; for i in 0..90000 { a.push("abcdefghij"); } store_set("ok", 1); store_set("big", a)',
        /store_set: value for key .big. is 1170001 bytes of JSON, over the limit of 1048576 \(line 1/,
      ],
      [
        'store_set("ok", 1); let v = []; for i in 0..130 { v = [v]; } store_set("deep", v)',
        /nests deeper than 128 levels/,
      ],
      [
        'store_set("ok", 1); fn f() { 1 } store_set("fn", Fn("f"))',
        /not JSON-serialisable.*line 1, position \d+/,
      ],
      ['let k = "k"; k.pad(2000, "x"); store_get(k)', /store_get: key .* over the limit of 1024/],
    ];
    for (const [script, error] of cases) {
      const taskId = await enqueue(s, script);
      const reply = await nextReply(s);
      expect(reply).toMatchObject({ taskId, status: 'error' });
      expect(reply.error).toMatch(error);
    }
    expect(await client.exists(s.keys.store(CIRCLE_A))).toBe(0);
  });

  it('store_keys() over the array limit fails clearly; a prefix narrows it', async () => {
    const s = scene();
    await worker(s);
    const many = Array.from({ length: 100_001 }, (_, i) => [`k${i}`, '1']).flat();
    await client.hSet(s.keys.store(CIRCLE_A), many);
    const all = await enqueue(s, 'store_keys().len()');
    const reply = await nextReply(s);
    expect(reply).toMatchObject({ taskId: all, status: 'error' });
    expect(reply.error).toMatch(/store_keys: more than 100000 keys start with ''; list a narrower prefix/);
    const some = await enqueue(s, 'store_keys("k9999").len()');
    expect(await nextReply(s)).toEqual({ taskId: some, status: 'completed', output: '11' });
  });

  it('answers malformed tasks with an error and keeps going', async () => {
    const s = scene();
    await worker(s, { maxScriptBytes: 64 });
    const orphanId = randomUUID();
    await client.lPush(s.keys.workQueue(CIRCLE_A), orphanId); // an id without a hash
    // an id whose task key holds another type: must not stall the batches after it
    const wrongTypeId = randomUUID();
    await client.set(s.keys.task(wrongTypeId), 'not a hash');
    await client.lPush(s.keys.workQueue(CIRCLE_A), wrongTypeId);
    const cases = [
      { id: await enqueue(s, ''), error: 'Task has no script' },
      { id: await enqueue(s, `"${'x'.repeat(100)}"`), error: 'Script exceeds the maximum size of 64 bytes' },
      { id: await enqueue(s, 'event', { input: '{not json' }), error: 'Task input is not valid JSON' },
      {
        id: await enqueue(s, '1', { contextId: CIRCLE_B }),
        error: expect.stringMatching(/^Task contextId does not match/),
      },
    ];
    const good = await enqueue(s, '"fine"');

    for (const { id, error } of cases)
      expect(await nextReply(s)).toEqual({
        taskId: id,
        status: 'error',
        error,
        errorKind: 'ErrorMalformedTask',
      });
    expect(await nextReply(s)).toEqual({ taskId: good, status: 'completed', output: 'fine' });
    expect(await client.hGetAll(s.keys.task(orphanId))).toMatchObject({
      status: 'error',
      error: 'Task record not found',
      errorKind: 'ErrorMalformedTask',
    });
  });

  it('runs tasks left by a dead worker, once', async () => {
    const s = scene();
    const taskId = await enqueue(s, '"recovered"');
    // As if a worker took it and died: its processing list holds the id, its liveness key is gone.
    await client.lMove(
      s.keys.workQueue(CIRCLE_A),
      s.keys.processing(CIRCLE_A, 'dead-worker'),
      'RIGHT',
      'LEFT',
    );
    await worker(s);

    expect(await nextReply(s)).toEqual({ taskId, status: 'completed', output: 'recovered' });
    expect(await client.exists(s.keys.processing(CIRCLE_A, 'dead-worker'))).toBe(0);
  });

  it('gives the store to a script that reaches it by a computed name', async () => {
    const s = scene();
    await worker(s);
    const write = await enqueue(s, 'let f = Fn("sto" + "re_set"); f.call("k", 7); "set"');
    expect(await nextReply(s)).toEqual({ taskId: write, status: 'completed', output: 'set' });
    const read = await enqueue(s, 'call(Fn("sto" + "re_get"), "k")');
    expect(await nextReply(s)).toEqual({ taskId: read, status: 'completed', output: '7' });
  });

  it('re-runs a play whose reads keep going stale for as long as its caller waits, then fails (time bounds it, not a run count)', async () => {
    const s = scene();
    const workerId = `w-${randomUUID()}`;
    const backend = await connectRedisBackend({
      redisUrl: redis.url,
      namespace: s.ns,
      workerId,
      circles: [CIRCLE_A],
      taskTtlS: 60,
      livenessTtlS: 30,
      logger: silentLogger(),
    });
    // every commit of a store-reading run loses to "another worker", as under heavy contention
    const complete = backend.complete.bind(backend);
    let lostRounds = 0;
    backend.complete = async (outcomes, updatedAt) => {
      const written = await complete(
        outcomes.filter((o) => !o.store),
        updatedAt,
      );
      let next = 0;
      return outcomes.map((o) => {
        if (!o.store) return written[next++]!;
        lostRounds++;
        return 'conflict';
      });
    };
    const handle = await startWorker(
      { circles: [CIRCLE_A], redisUrl: redis.url, namespace: s.ns, workerId, playTimeoutMs: 1_500 },
      { logger: silentLogger(), backend },
    );
    workers.push(handle);
    const t0 = Date.now();
    const taskId = await enqueue(s, 'let n = store_get("n") ?? 0; store_set("n", n + 1); n');
    const reply = await nextReply(s, 10);
    const took = Date.now() - t0;
    expect(reply).toMatchObject({ taskId, status: 'error' });
    expect(reply.error).toMatch(/^Circle store conflict: .* \d+ runs in a row; nothing was written$/);
    // it kept trying while its caller waited (50 lost rounds in a row used to end it within
    // tens of ms), pausing between rounds, and stopped once the caller had been told -32003
    // (play timeout + the clock grace)
    expect(lostRounds).toBeGreaterThanOrEqual(10);
    expect(took).toBeGreaterThanOrEqual(1_500);
    expect(took).toBeLessThan(1_500 + SUBMIT_CLOCK_GRACE_MS + 1_500);
    expect(await client.hGet(s.keys.store(CIRCLE_A), 'n')).toBeNull();
  });

  it('re-queues at once what a take moved when its answer was lost (Redis gone mid-call)', async () => {
    const s = scene();
    const taskId = await enqueue(s, '"recovered"');
    const workerId = `w-${randomUUID()}`;
    const backend = await connectRedisBackend({
      redisUrl: redis.url,
      namespace: s.ns,
      workerId,
      circles: [CIRCLE_A],
      taskTtlS: 60,
      livenessTtlS: 30,
      logger: silentLogger(),
    });
    // the first take happens in Redis, but its answer never arrives
    const take = backend.take.bind(backend);
    let lost = false;
    backend.take = async (max, blockMs) => {
      const claimed = await take(max, blockMs);
      if (lost || claimed.length === 0) return claimed;
      lost = true;
      throw new Error('connection lost');
    };
    const started = Date.now();
    // the periodic reclaim is far off: only the recovery after the failed take can bring it back
    const handle = await startWorker(
      { circles: [CIRCLE_A], redisUrl: redis.url, namespace: s.ns, workerId, reclaimIntervalMs: 60_000 },
      { logger: silentLogger(), backend },
    );
    workers.push(handle);
    expect(await nextReply(s, 5)).toEqual({ taskId, status: 'completed', output: 'recovered' });
    expect(lost).toBe(true);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('drops an id that is not a task id (here: the circle key itself) without writing anything', async () => {
    const s = scene();
    await worker(s);
    await client.lPush(s.keys.workQueue(CIRCLE_A), CIRCLE_A);
    const next = await enqueue(s, '"still serving"');
    expect(await nextReply(s)).toEqual({ taskId: next, status: 'completed', output: 'still serving' });
    // no hash, no expiry at the queue key, nothing held
    expect(await client.type(s.keys.workQueue(CIRCLE_A))).not.toBe('hash');
    expect(await client.ttl(s.keys.workQueue(CIRCLE_A))).toBeLessThan(0);
    expect(await client.lLen(s.replyQueue)).toBe(0);
  });

  it('answers a task whose input is nested 100,000 levels deep with an error, and keeps serving', async () => {
    const s = scene();
    await worker(s);
    const deep = '{"a":'.repeat(100_000) + '1' + '}'.repeat(100_000);
    const poison = await enqueue(s, 'event.a', { input: deep });
    const next = await enqueue(s, '"next"');
    const got = await bothReplies(s);
    expect(got.get(poison)).toMatchObject({ status: 'error' });
    expect(got.get(next)).toEqual({ taskId: next, status: 'completed', output: 'next' });
  });

  it('periodically reclaims dead workers and its own orphaned ids', async () => {
    const s = scene();
    const handle = await worker(s, { reclaimIntervalMs: 100 });
    const fromDead = await enqueue(s, '"from a dead worker"');
    await client.lMove(
      s.keys.workQueue(CIRCLE_A),
      s.keys.processing(CIRCLE_A, 'dead-worker'),
      'RIGHT',
      'LEFT',
    );
    // An id in its own list that no batch tracks: a take whose reply was lost with a connection.
    const orphan = randomUUID();
    await client.hSet(s.keys.task(orphan), {
      taskId: orphan,
      script: '"orphan"',
      contextId: CIRCLE_A,
      status: 'pending',
      replyToQueue: s.replyQueue,
    });
    await client.lPush(s.keys.processing(CIRCLE_A, handle.workerId), orphan);

    const got = [await nextReply(s), await nextReply(s)].sort((a, b) =>
      (a.output ?? '').localeCompare(b.output ?? ''),
    );
    expect(got).toEqual([
      { taskId: fromDead, status: 'completed', output: 'from a dead worker' },
      { taskId: orphan, status: 'completed', output: 'orphan' },
    ]);
  });

  it('graceful stop finishes the running task and re-queues the unstarted ones', async () => {
    const s = scene();
    const first = await enqueue(s, slow('"first"'));
    const handle = await worker(s, { concurrency: 1 });
    await until(
      async () => (await client.hGet(s.keys.task(first), 'status')) === 'processing',
      'first task processing',
      10_000,
      5,
    );
    // claimed is not yet running: wait until its thread has it (a task taken while the stop
    // begins is re-queued instead, which is a different case)
    await until(() => handle.busyThreads() === 1, 'first task running', 10_000, 5);
    // These wait for the only thread, behind the running one.
    const rest: string[] = [];
    for (let i = 0; i < 3; i++) rest.push(await enqueue(s, `store_set("ran", ${i}); ${i}`));
    await until(
      async () => (await client.lLen(s.keys.workQueue(CIRCLE_A))) === 0,
      'the rest taken',
      10_000,
      5,
    );

    await handle.stop();
    await handle.stop(); // idempotent

    expect(await nextReply(s, 1)).toMatchObject({ taskId: first, status: 'completed', output: 'first' });
    expect(await client.lLen(s.replyQueue)).toBe(0);
    expect(await client.lRange(s.keys.workQueue(CIRCLE_A), 0, -1)).toEqual([...rest].reverse());
    expect(await client.exists(s.keys.store(CIRCLE_A))).toBe(0);
    expect(await client.exists(s.keys.processing(CIRCLE_A, handle.workerId))).toBe(0);
    expect(await client.exists(s.keys.workerAlive(handle.workerId))).toBe(0);
  });
});

describe('literalStoreKeys', () => {
  it('finds the keys a script reads by a plain literal, once each, and nothing else', () => {
    expect(
      literalStoreKeys(
        'let a = store_get("a"); store_delete( "b" ); store_get("a"); store_set("c", 1); store_get(k); store_get("e\\"x")',
      ),
    ).toEqual(['a', 'b']);
    expect(literalStoreKeys('40 + 2')).toEqual([]);
  });
});
